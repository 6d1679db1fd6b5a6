// JSON from untrusted text (request bodies, config files): nesting is limited while parsing, so
// that a body nested a hundred thousand deep is a clear error, not a stack overflow in the code
// that copies, walks or prints the value later.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "util/status.h"

namespace kb {

inline constexpr int kMaxJsonDepth = 64;

// InvalidArgument (saying why) for text that is not JSON, nests deeper than `max_depth`, or has
// a number out of range (1e400).
Result<nlohmann::json> ParseJson(std::string_view text, int max_depth = kMaxJsonDepth);

}  // namespace kb
