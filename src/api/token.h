// The API bearer token: generated on first start into a file only the user can read (0600),
// reused afterwards. The desktop app reads the same file.
#pragma once

#include <string>

#include "util/status.h"

namespace kb::api {

inline constexpr size_t kMinTokenBytes = 16;
inline constexpr size_t kMaxTokenBytes = 1024;

// Reads the token from `path`, creating it (and its folder, 0700) with a fresh random token when
// absent. Refuses a token file others can read, one that is not a regular file (a FIFO would
// hang start-up), and a token outside 16..1024 printable characters (never cut silently).
Status LoadOrCreateToken(const std::string& path, std::string* token);

// Constant-time comparison, so response timing does not leak the token.
bool TokensEqual(const std::string& a, const std::string& b);

}  // namespace kb::api
