// The API bearer token: generated on first start into a file only the user can read (0600),
// reused afterwards. The desktop app reads the same file.
#pragma once

#include <string>

#include "util/status.h"

namespace kb::api {

// Reads the token from `path`, creating it (and its folder) with a fresh random token when
// absent. Refuses a token file others can read.
Status LoadOrCreateToken(const std::string& path, std::string* token);

// Constant-time comparison, so response timing does not leak the token.
bool TokensEqual(const std::string& a, const std::string& b);

}  // namespace kb::api
