// UTF-8 validation and boundary-safe truncation. Chroma rejects a whole batch when one text
// is not valid UTF-8, and SQLite FTS5 tokenizes garbage silently, so text is checked on entry.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace kb::utf8 {

// Offset of the first byte that is not part of a well-formed UTF-8 sequence (RFC 3629: no
// overlongs, no surrogates, nothing above U+10FFFF), or nullopt when `s` is valid.
std::optional<size_t> FindInvalid(std::string_view s);
inline bool IsValid(std::string_view s) { return !FindInvalid(s).has_value(); }

// Largest n <= max_bytes such that s.substr(0, n) does not end inside a multi-byte sequence.
size_t BoundaryAtOrBefore(std::string_view s, size_t max_bytes);

// Copy of `s` with each invalid byte replaced by U+FFFD; for log and error messages only.
std::string Sanitize(std::string_view s);

}  // namespace kb::utf8
