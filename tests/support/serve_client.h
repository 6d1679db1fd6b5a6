// Talking to a `kbindex serve` started by a test.
#pragma once

#include <httplib.h>

#include <string>

namespace kb::test {

// Waits (up to 10 s) until the server behind `client` answers /v1/health, then makes every
// request carry the bearer token from `token_file`. Returns the token; "" after reporting a
// test failure (with `log_file`) when the server never came up or the token is malformed.
std::string ConnectToServe(httplib::Client& client, const std::string& token_file, const std::string& log_file);

}  // namespace kb::test
