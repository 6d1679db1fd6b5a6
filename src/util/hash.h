// Content hashing (xxHash XXH3-128): fast, stable across machines, hex-encoded.
#pragma once

#include <string>
#include <string_view>

namespace kb {

// 32 lowercase hex characters identifying `data`.
std::string ContentHash(std::string_view data);

}  // namespace kb
