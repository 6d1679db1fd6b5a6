// FTS5 auxiliary functions whose cost is bounded by the query, not by a note's size.
//
// FTS5's own bm25() materialises every match of every phrase in a row, and snippet() scores
// every match as a window start: on a 10 MiB note of one repeated word that is 2 million
// matches, hundreds of milliseconds for bm25 and hours for snippet. These replacements look at
// the first kMaxMatchesPerPhrase matches of each phrase only (iterated lazily with
// xPhraseFirst/xPhraseNext), and tokenize a note only up to the end of the snippet window:
//
//   kb_rank(documents_fts, w_title, w_body [, min_rowid, max_rowid [, docsize]])
//                                              bm25 (k1 = 1.2, b = 0.75), negated like FTS5's
//                                              (smaller is better), term frequency counted up
//                                              to the cap: a giant note cannot outweigh others.
//                                              With the table's rowid range, a phrase's document
//                                              frequency is estimated from its first
//                                              kIdfSampleRows notes instead of counted in full.
//                                              `docsize` is the row's documents_fts_docsize.sz
//                                              (joined by the query: cheaper than FTS5's lookup)
//   kb_snippet(documents_fts, open, close, ellipsis, tokens)
//                                              the window of `tokens` tokens that covers the
//                                              most phrases among the first matches, in the
//                                              column with most phrases (title or body)
#pragma once

#include <sqlite3.h>

#include <string>
#include <vector>

namespace kb {

inline constexpr int kMaxMatchesPerPhrase = 256;
// Notes counted per phrase for its inverse document frequency; beyond, the count is estimated.
inline constexpr sqlite3_int64 kIdfSampleRows = 500;
// A snippet needs the note tokenized up to its window; beyond this many bytes of text before
// the window, the note's beginning is shown instead (unmarked).
inline constexpr int kMaxSnippetScanBytes = 4 << 20;

// Registers kb_rank and kb_snippet on `db`. Returns an SQLite error code (SQLITE_OK on success).
int RegisterFtsFunctions(sqlite3* db);

// The number of notes holding a phrase, from `counted` of them found up to `last_rowid` in rowid
// order (all of them when counted < kIdfSampleRows), the table's rowid range and row count.
double EstimateDocumentFrequency(sqlite3_int64 counted, sqlite3_int64 last_rowid, sqlite3_int64 min_rowid,
                                 sqlite3_int64 max_rowid, sqlite3_int64 rows);

// One match: which phrase, where (token offset), how many tokens long.
struct PhraseMatch {
  int phrase = 0;
  int offset = 0;
  int length = 1;
};

// The window of `window_tokens` tokens starting at a match that covers the most distinct
// phrases (earliest on a tie). `matches` sorted by offset. Returns the first token of the window.
int ChooseSnippetWindow(const std::vector<PhraseMatch>& matches, int window_tokens);

}  // namespace kb
