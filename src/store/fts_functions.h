// FTS5 auxiliary functions whose cost is bounded by the query, not by a note's size.
//
// FTS5's own bm25() materialises every match of every phrase in a row, and snippet() scores
// every match as a window start: on a 10 MiB note of one repeated word that is 2 million
// matches, hundreds of milliseconds for bm25 and hours for snippet. These replacements look at
// the first kMaxMatchesPerPhrase matches of each phrase only (read lazily from FTS5's position
// lists), and tokenize a note only up to the end of the snippet window:
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
//
// While a TopRows collects on the ranking thread, kb_rank also keeps the best rows it scores
// with their first matches, so that their snippets (MakeSnippet: the window of tokens covering
// the most phrases, in the column with most phrases) are made from the notes' text without
// walking the matches a second time, which cost a quarter of a keyword search.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kb {

inline constexpr int kMaxMatchesPerPhrase = 256;
// Notes counted per phrase for its inverse document frequency; beyond, the count is estimated.
inline constexpr sqlite3_int64 kIdfSampleRows = 500;
// A snippet needs the note tokenized up to its window; beyond this many bytes of text before
// the window, the note's beginning is shown instead (unmarked).
inline constexpr int kMaxSnippetScanBytes = 4 << 20;

// Registers kb_rank on `db`. Returns an SQLite error code (SQLITE_OK on success).
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

// A row's first kMaxMatchesPerPhrase matches of every phrase, per column, and its column lengths.
struct RowMatches {
  std::vector<std::vector<PhraseMatch>> by_column;
  std::vector<int> column_tokens;
};

struct RankedRow {
  sqlite3_int64 rowid = 0;
  double score = 0;  // bm25: larger is better
  RowMatches matches;
};

// The best `limit` rows kb_rank scores on this thread while a Collecting is alive, with their
// matches. Best first; on a tie the newer row (higher rowid).
class TopRows {
 public:
  explicit TopRows(size_t limit) : limit_(limit) {}
  TopRows(const TopRows&) = delete;
  TopRows& operator=(const TopRows&) = delete;

  // Makes kb_rank offer its rows to `top` while in scope (one per thread at a time).
  class Collecting {
   public:
    explicit Collecting(TopRows& top);
    ~Collecting();
    Collecting(const Collecting&) = delete;
    Collecting& operator=(const Collecting&) = delete;
  };

  bool Wants(sqlite3_int64 rowid, double score) const;
  void Add(RankedRow row);
  std::vector<RankedRow> Take();

 private:
  size_t limit_;
  std::vector<RankedRow> heap_;  // the worst kept row on top
};

// The snippet column: the one whose matches cover the most phrases, the last (body) on a tie.
int ChooseSnippetColumn(const RowMatches& matches);

// An FTS5 tokenizer instance of `db`, used outside a query. Token boundaries are all a snippet
// needs, so it must split text as the table's tokenizer does (schema: unicode61).
class FtsTokenizer {
 public:
  using TokenCallback = int (*)(void* ctx, int flags, const char* token, int n, int begin, int end);
  // Null when FTS5 or the tokenizer is not available on `db`.
  static std::unique_ptr<FtsTokenizer> Open(sqlite3* db, const char* name, const std::vector<std::string>& args);
  ~FtsTokenizer();
  FtsTokenizer(const FtsTokenizer&) = delete;
  FtsTokenizer& operator=(const FtsTokenizer&) = delete;

  int Tokenize(std::string_view text, void* ctx, TokenCallback on_token) const;

 private:
  struct Impl;
  explicit FtsTokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct SnippetMarks {
  std::string open = "**";
  std::string close = "**";
  std::string ellipsis = "…";
  int window = 24;  // tokens
};

// The snippet of one column's `text`: the window of marks.window tokens covering the most
// phrases among `matches` (that column's, any order), a little context before the first match,
// matched tokens wrapped in marks.open/close, an ellipsis where text was left out. A window deep
// in a huge note (past kMaxSnippetScanBytes) gives the note's beginning instead, unmarked.
// Returns an SQLite error code from the tokenizer (SQLITE_OK on success).
int MakeSnippet(std::vector<PhraseMatch> matches, std::string_view text, int column_tokens,
                const FtsTokenizer& tokenizer, const SnippetMarks& marks, std::string* out);

}  // namespace kb
