#include "search/fts_query.h"

#include <vector>

#include "util/utf8.h"

namespace kb {
namespace {

// unicode61 treats ASCII punctuation as separators and every non-ASCII code point as part of a
// token (unless it is Unicode punctuation/whitespace, which FTS5 drops harmlessly).
bool IsWordByte(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

// Whitespace and control characters (NUL included: FTS5 stops reading a string at NUL, which
// would leave a quote unterminated) separate words.
bool IsSeparator(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u <= 0x20 || u == 0x7f;
}

}  // namespace

Result<std::string> BuildFtsQuery(std::string_view q, FtsJoin join) {
  if (auto bad = utf8::FindInvalid(q)) {
    return Status::InvalidArgument("search query is not valid UTF-8 (byte " +
                                   std::to_string(*bad) + ")");
  }
  std::vector<std::string> terms;
  size_t i = 0;
  while (i < q.size()) {
    while (i < q.size() && IsSeparator(q[i])) ++i;
    size_t j = i;
    while (j < q.size() && !IsSeparator(q[j])) ++j;
    std::string_view word = q.substr(i, j - i);
    i = j;
    if (word.empty()) continue;
    bool prefix = false;
    if (word.size() > 1 && word.back() == '*') {
      prefix = true;
      while (!word.empty() && word.back() == '*') word.remove_suffix(1);
    }
    bool has_word_byte = false;
    for (unsigned char c : word) has_word_byte |= IsWordByte(c);
    if (!has_word_byte) continue;
    // Prefix only when the text right before '*' is a word character, else FTS5 would see a
    // prefix of nothing.
    if (prefix && !IsWordByte(static_cast<unsigned char>(word.back()))) prefix = false;
    std::string term = "\"";
    for (char c : word) {
      if (c == '"') term += '"';  // FTS5 escapes a quote by doubling it
      term += c;
    }
    term += '"';
    if (prefix) term += '*';
    terms.push_back(std::move(term));
  }
  std::string out;
  for (const auto& t : terms) {
    if (!out.empty()) out += join == FtsJoin::kAll ? " " : " OR ";
    out += t;
  }
  return out;
}

}  // namespace kb
