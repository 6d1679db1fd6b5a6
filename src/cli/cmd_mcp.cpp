// `kbindex mcp`: the MCP server over stdio, for assistants that start it as a child process.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/database_internal.h"
#include "mcp/session.h"
#include "mcp/stdio.h"
#include "mcp/tools.h"
#include "worker/signals.h"

namespace kb::cli {

int RunMcp(Globals& g, const McpArgs& args) {
  // Standard output carries the protocol and nothing else: the protocol gets a private copy of
  // it, and descriptor 1 becomes standard error, so that whatever else writes there (a library,
  // a child process) lands in the log.
  const int protocol_fd = ::dup(STDOUT_FILENO);
  if (protocol_fd < 0 || ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
    return Fail(Status::IOError("cannot set up standard output for the protocol"));
  }
  ::signal(SIGPIPE, SIG_IGN);  // a client that went away is an error on write, not a crash
  std::atomic<bool> stop{false};
  SignalWatcher signals([&](int) { stop = true; });

  auto db = OpenServingDatabase(g);
  if (!db) return kExitFailure;
  app::Services& services = DatabaseAccess::ServicesOf(*db);
  if (!args.no_worker) {
    kbindex::WorkerOptions wo;
    if (Status st = db->StartWorker(wo); !st.ok()) {
      // Another process (kbindex serve, kbindex worker) may run it: notes still get synced.
      spdlog::info("mcp: not running the retry worker here: {}", st.message());
    }
  }
  const mcp::Catalog catalog = mcp::MakeCatalog(services);
  mcp::Session session(catalog);
  spdlog::info("mcp: serving on stdio (protocol {})", mcp::kLatestProtocolVersion);
  const int rc = mcp::ServeStdio(session, STDIN_FILENO, protocol_fd, stop);
  db->StopWorker();
  ::close(protocol_fd);
  return rc == 0 ? kExitOk : kExitFailure;
}

}  // namespace kb::cli
