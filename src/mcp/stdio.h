// The stdio transport (`kbindex mcp`): newline-delimited JSON-RPC on a pair of file
// descriptors. Only protocol goes to the output; logs go to stderr.
//
// One thread reads: quick requests and notifications are handled as they arrive, long ones
// (tools/call, resources/read) go to a worker thread in order, so that ping and
// notifications/cancelled are answered while a call runs. A line longer than the limit is
// discarded as it streams in and answered with an invalid-request error; serving goes on.
#pragma once

#include <atomic>
#include <cstddef>

#include "mcp/session.h"

namespace kb::mcp {

struct StdioOptions {
  size_t max_line_bytes = 16 * 1024 * 1024;  // one message, newline excluded
  size_t max_queued = 64;                    // long requests waiting: beyond, refused at once
};

// Serves `session` until the input ends (EOF: the calls asked for are still answered) or `stop`
// is set (checked a few times a second: waiting and running calls are cancelled).
// Returns 0, or 1 when the output broke (the client went away).
int ServeStdio(Session& session, int in_fd, int out_fd, const std::atomic<bool>& stop, StdioOptions options = {});

}  // namespace kb::mcp
