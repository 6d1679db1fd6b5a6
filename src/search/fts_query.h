// Turning what a user types into a safe FTS5 MATCH expression.
//
// Every word becomes a quoted FTS5 string, so quotes, '-', '*', ':', '^', parentheses and the
// keywords AND/OR/NOT/NEAR are searched for as text and never raise an FTS5 syntax error.
// A word ending in '*' (after at least one letter or digit) keeps its prefix meaning.
#pragma once

#include <string>
#include <string_view>

#include "util/status.h"

namespace kb {

enum class FtsJoin { kAll, kAny };

// The MATCH expression for `user_query`: all words (AND) or any word (OR). Returns "" when the
// query has no searchable word; InvalidArgument when it is not valid UTF-8.
Result<std::string> BuildFtsQuery(std::string_view user_query, FtsJoin join = FtsJoin::kAll);

}  // namespace kb
