#include "store/fts_functions.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cmath>

namespace kb {
namespace {

// The FTS5 extension API (fts5.h, SQLite >= 3.20; Debian does not ship the header). Only the
// layout matters; kbindex calls no member that later versions appended.
struct Fts5Context;
struct Fts5PhraseIter {
  const unsigned char* a;
  const unsigned char* b;
};
struct Fts5ExtensionApi {
  int iVersion;
  void* (*xUserData)(Fts5Context*);
  int (*xColumnCount)(Fts5Context*);
  int (*xRowCount)(Fts5Context*, sqlite3_int64* pnRow);
  int (*xColumnTotalSize)(Fts5Context*, int iCol, sqlite3_int64* pnToken);
  int (*xTokenize)(Fts5Context*, const char* pText, int nText, void* pCtx,
                   int (*xToken)(void*, int, const char*, int, int, int));
  int (*xPhraseCount)(Fts5Context*);
  int (*xPhraseSize)(Fts5Context*, int iPhrase);
  int (*xInstCount)(Fts5Context*, int* pnInst);
  int (*xInst)(Fts5Context*, int iIdx, int* piPhrase, int* piCol, int* piOff);
  sqlite3_int64 (*xRowid)(Fts5Context*);
  int (*xColumnText)(Fts5Context*, int iCol, const char** pz, int* pn);
  int (*xColumnSize)(Fts5Context*, int iCol, int* pnToken);
  int (*xQueryPhrase)(Fts5Context*, int iPhrase, void* pUserData,
                      int (*)(const Fts5ExtensionApi*, Fts5Context*, void*));
  int (*xSetAuxdata)(Fts5Context*, void* pAux, void (*xDelete)(void*));
  void* (*xGetAuxdata)(Fts5Context*, int bClear);
  int (*xPhraseFirst)(Fts5Context*, int iPhrase, Fts5PhraseIter*, int*, int*);
  void (*xPhraseNext)(Fts5Context*, Fts5PhraseIter*, int* piCol, int* piOff);
};
using fts5_extension_function = void (*)(const Fts5ExtensionApi*, Fts5Context*, sqlite3_context*, int,
                                          sqlite3_value**);
struct Fts5Tokenizer;
struct fts5_tokenizer {
  int (*xCreate)(void*, const char** azArg, int nArg, Fts5Tokenizer** ppOut);
  void (*xDelete)(Fts5Tokenizer*);
  int (*xTokenize)(Fts5Tokenizer*, void* pCtx, int flags, const char* pText, int nText,
                   int (*xToken)(void*, int, const char*, int, int, int));
};
struct fts5_api {
  int iVersion;
  void* xCreateTokenizer;
  int (*xFindTokenizer)(fts5_api*, const char* zName, void** ppContext, fts5_tokenizer* pTokenizer);
  int (*xCreateFunction)(fts5_api*, const char* zName, void* pContext, fts5_extension_function xFunction,
                         void (*xDestroy)(void*));
};
constexpr int kTokenColocated = 0x0001;  // FTS5_TOKEN_COLOCATED
constexpr int kTokenizeDocument = 0x0004;  // FTS5_TOKENIZE_DOCUMENT

fts5_api* GetFts5Api(sqlite3* db) {
  fts5_api* api = nullptr;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, nullptr) != SQLITE_OK) return nullptr;
  sqlite3_bind_pointer(st, 1, static_cast<void*>(&api), "fts5_api_ptr", nullptr);
  sqlite3_step(st);
  if (sqlite3_finalize(st) != SQLITE_OK) return nullptr;
  return api != nullptr && api->iVersion >= 2 ? api : nullptr;
}

thread_local TopRows* t_top_rows = nullptr;

// ---------------------------------------------------------------- kb_rank

struct RankStats {
  std::vector<double> idf;
  std::vector<double> weights;  // per column (1 past the arguments given)
  std::vector<int> column_tokens;  // the current row's (reused from row to row)
  double avg_tokens = 1;
};

// Counts the notes holding one phrase, in rowid order, up to kIdfSampleRows of them.
struct PhraseCount {
  sqlite3_int64 rows = 0;
  sqlite3_int64 last_rowid = 0;
};

int CountRow(const Fts5ExtensionApi* api, Fts5Context* fts, void* user) {
  auto* c = static_cast<PhraseCount*>(user);
  c->last_rowid = api->xRowid(fts);
  return ++c->rows >= kIdfSampleRows ? SQLITE_DONE : SQLITE_OK;  // SQLITE_DONE: stop, no error
}

// One varint of FTS5's records (SQLite's format: big-endian groups of 7 bits, the high bit set
// on all but the last; a ninth byte carries 8 bits). Returns the bytes read, 0 past `end`.
int ReadVarint(const unsigned char* p, const unsigned char* end, uint64_t* value) {
  uint64_t v = 0;
  for (int i = 0; i < 9; ++i) {
    if (p + i >= end) return 0;
    if (i == 8) {
      *value = (v << 8) | p[i];
      return 9;
    }
    v = (v << 7) | (p[i] & 0x7f);
    if ((p[i] & 0x80) == 0) {
      *value = v;
      return i + 1;
    }
  }
  return 0;
}

// Calls on_match(column, offset) for a phrase's first kMaxMatchesPerPhrase matches in the
// current row. The position list behind Fts5PhraseIter (fts5.h: [a, b) is the rest of it) is
// FTS5's record format: a varint per match (offset delta + 2), and 1, column, offset + 2 where
// the column changes. Read here in line: through xPhraseNext, one call per match, it cost 18%
// of a search.
template <typename OnMatch>
void ForEachMatch(const Fts5ExtensionApi* api, Fts5Context* fts, int phrase, OnMatch&& on_match) {
  Fts5PhraseIter it;
  int col = -1, off = 0;
  if (api->xPhraseFirst(fts, phrase, &it, &col, &off) != SQLITE_OK || col < 0) return;
  uint64_t column = static_cast<uint64_t>(col);
  int64_t offset = off;
  on_match(column, offset);
  const unsigned char* a = it.a;
  for (int seen = 1; a < it.b && seen < kMaxMatchesPerPhrase; ++seen) {
    uint64_t v = 0;
    int n = ReadVarint(a, it.b, &v);
    if (n == 0) return;
    a += n;
    if (v == 1) {  // a new column, then its first offset
      if ((n = ReadVarint(a, it.b, &column)) == 0) return;
      a += n;
      if ((n = ReadVarint(a, it.b, &v)) == 0) return;
      a += n;
      offset = 0;
    }
    offset += static_cast<int64_t>(v) - 2;
    on_match(column, offset);
  }
}

// Each column's length in tokens of the current row into `tokens`: from its FTS5 docsize
// record (a varint per column) when given and well formed, else through xColumnSize (a
// statement of its own per row). Returns the row's length.
int ColumnTokens(const Fts5ExtensionApi* api, Fts5Context* fts, int columns, sqlite3_value* docsize,
                 std::vector<int>* tokens) {
  tokens->assign(static_cast<size_t>(columns), 0);
  if (docsize != nullptr) {
    const auto* p = static_cast<const unsigned char*>(sqlite3_value_blob(docsize));
    const unsigned char* end = p ? p + sqlite3_value_bytes(docsize) : nullptr;
    int64_t total = 0;
    int c = 0;
    for (; p != nullptr && c < columns; ++c) {
      uint64_t v = 0;
      const int n = ReadVarint(p, end, &v);
      if (n == 0 || v > static_cast<uint64_t>(INT32_MAX)) break;
      p += n;
      (*tokens)[static_cast<size_t>(c)] = static_cast<int>(v);
      total += static_cast<int64_t>(v);
    }
    if (c == columns && p == end && total <= INT32_MAX) return static_cast<int>(total);
  }
  int total = 0;
  for (int c = 0; c < columns; ++c) {
    int n = 0;
    const bool known = api->xColumnSize(fts, c, &n) == SQLITE_OK;
    (*tokens)[static_cast<size_t>(c)] = known ? n : -1;  // -1: unknown (MakeSnippet)
    total += known ? n : 0;
  }
  return total;
}

// The current row's first kMaxMatchesPerPhrase matches of every phrase, per column.
std::vector<std::vector<PhraseMatch>> CollectMatches(const Fts5ExtensionApi* api, Fts5Context* fts, int columns) {
  std::vector<std::vector<PhraseMatch>> by_column(static_cast<size_t>(columns));
  const int phrases = api->xPhraseCount(fts);
  for (int p = 0; p < phrases; ++p) {
    const int length = std::max(1, api->xPhraseSize(fts, p));
    ForEachMatch(api, fts, p, [&](uint64_t col, int64_t off) {
      if (col < by_column.size()) by_column[col].push_back({p, static_cast<int>(off), length});
    });
  }
  return by_column;
}

}  // namespace

double EstimateDocumentFrequency(sqlite3_int64 counted, sqlite3_int64 last_rowid, sqlite3_int64 min_rowid,
                                 sqlite3_int64 max_rowid, sqlite3_int64 rows) {
  if (counted < kIdfSampleRows || max_rowid <= min_rowid || last_rowid < min_rowid) {
    return static_cast<double>(counted);
  }
  // The phrase is in `counted` of the notes up to last_rowid; rowids are spread evenly enough
  // over [min, max] for an inverse document frequency (a logarithm) to come out right.
  const double span = static_cast<double>(max_rowid - min_rowid + 1);
  const double seen = static_cast<double>(last_rowid - min_rowid + 1);
  return std::clamp(static_cast<double>(counted) * span / seen, static_cast<double>(counted),
                    static_cast<double>(std::max(rows, counted)));
}

namespace {

void KbRank(const Fts5ExtensionApi* api, Fts5Context* fts, sqlite3_context* ctx, int n_val, sqlite3_value** val) {
  constexpr double k1 = 1.2, b = 0.75;
  const int columns = api->xColumnCount(fts);
  auto* stats = static_cast<RankStats*>(api->xGetAuxdata(fts, 0));
  if (stats == nullptr) {
    // Once per query: inverse document frequencies and the average note length. Counting the
    // notes that hold a common word would cost as much as the whole search, so a phrase is
    // counted up to kIdfSampleRows notes and its frequency estimated from how far in rowid
    // order that reached (needs the table's rowid range, the arguments after the weights).
    stats = new RankStats;
    const int phrases = api->xPhraseCount(fts);
    sqlite3_int64 rows = 0, tokens = 0;
    int rc = api->xRowCount(fts, &rows);
    if (rc == SQLITE_OK) rc = api->xColumnTotalSize(fts, -1, &tokens);
    stats->avg_tokens = rows > 0 ? std::max(1.0, static_cast<double>(tokens) / static_cast<double>(rows)) : 1.0;
    for (int col = 0; col < columns; ++col) stats->weights.push_back(col < n_val ? sqlite3_value_double(val[col]) : 1.0);
    const bool has_range = n_val >= columns + 2;
    const sqlite3_int64 min_rowid = has_range ? sqlite3_value_int64(val[columns]) : 0;
    const sqlite3_int64 max_rowid = has_range ? sqlite3_value_int64(val[columns + 1]) : 0;
    for (int i = 0; rc == SQLITE_OK && i < phrases; ++i) {
      PhraseCount count;
      rc = api->xQueryPhrase(fts, i, &count, &CountRow);
      const double hits = has_range ? EstimateDocumentFrequency(count.rows, count.last_rowid, min_rowid, max_rowid, rows)
                                    : static_cast<double>(count.rows);
      double idf = std::log((static_cast<double>(rows) - hits + 0.5) / (hits + 0.5));
      stats->idf.push_back(idf <= 0.0 ? 1e-6 : idf);
    }
    if (rc != SQLITE_OK) {
      delete stats;
      sqlite3_result_error_code(ctx, rc);
      return;
    }
    rc = api->xSetAuxdata(fts, stats, [](void* p) { delete static_cast<RankStats*>(p); });
    if (rc != SQLITE_OK) {
      sqlite3_result_error_code(ctx, rc);
      return;
    }
  }
  sqlite3_value* docsize = n_val >= columns + 3 ? val[columns + 2] : nullptr;
  const int length = ColumnTokens(api, fts, columns, docsize, &stats->column_tokens);
  double score = 0;
  for (size_t i = 0; i < stats->idf.size(); ++i) {
    double freq = 0;
    ForEachMatch(api, fts, static_cast<int>(i), [&](uint64_t col, int64_t) {
      freq += col < stats->weights.size() ? stats->weights[col] : 1.0;
    });
    if (freq <= 0) continue;
    score += stats->idf[i] * freq * (k1 + 1) / (freq + k1 * (1 - b + b * length / stats->avg_tokens));
  }
  const sqlite3_int64 rowid = api->xRowid(fts);
  if (TopRows* top = t_top_rows; top != nullptr && top->Wants(rowid, score)) {
    RankedRow row;
    row.rowid = rowid;
    row.score = score;
    row.matches.by_column = CollectMatches(api, fts, columns);
    row.matches.column_tokens = stats->column_tokens;
    top->Add(std::move(row));
  }
  sqlite3_result_double(ctx, -score);
}

// ---------------------------------------------------------------- snippets

struct TokenSpan {
  int begin = 0;
  int end = 0;
};

struct Tokenized {
  int first = 0;  // first token wanted
  int last = 0;   // last token wanted
  int scan_limit = 0;
  int position = 0;
  bool too_far = false;
  std::vector<TokenSpan> spans;  // tokens first..last
};

int OnToken(void* user, int flags, const char*, int, int begin, int end) {
  auto* t = static_cast<Tokenized*>(user);
  if (flags & kTokenColocated) return SQLITE_OK;  // a synonym at the same position
  const int pos = t->position++;
  if (pos < t->first) {
    if (begin > t->scan_limit) {
      t->too_far = true;
      return SQLITE_DONE;
    }
    return SQLITE_OK;
  }
  t->spans.push_back({begin, end});
  return pos >= t->last ? SQLITE_DONE : SQLITE_OK;
}

}  // namespace

int ChooseSnippetWindow(const std::vector<PhraseMatch>& matches, int window_tokens) {
  if (matches.empty()) return 0;
  int max_phrase = 0;
  for (const auto& m : matches) max_phrase = std::max(max_phrase, m.phrase);
  std::vector<int> count(static_cast<size_t>(max_phrase) + 1, 0);
  int distinct = 0, best = -1, best_start = matches.front().offset;
  size_t j = 0;
  for (size_t i = 0; i < matches.size(); ++i) {
    const int end = matches[i].offset + window_tokens;
    for (; j < matches.size() && matches[j].offset + matches[j].length <= end; ++j) {
      if (count[static_cast<size_t>(matches[j].phrase)]++ == 0) ++distinct;
    }
    if (distinct > best) {
      best = distinct;
      best_start = matches[i].offset;
    }
    if (j > i && --count[static_cast<size_t>(matches[i].phrase)] == 0) --distinct;
  }
  return best_start;
}

TopRows::Collecting::Collecting(TopRows& top) { t_top_rows = &top; }
TopRows::Collecting::~Collecting() { t_top_rows = nullptr; }

namespace {
// Best first; on a tie the newer row. As the heap's order it keeps the worst row on top.
bool Better(sqlite3_int64 a_rowid, double a_score, sqlite3_int64 b_rowid, double b_score) {
  return a_score != b_score ? a_score > b_score : a_rowid > b_rowid;
}
bool BetterRow(const RankedRow& a, const RankedRow& b) { return Better(a.rowid, a.score, b.rowid, b.score); }
}  // namespace

bool TopRows::Wants(sqlite3_int64 rowid, double score) const {
  if (limit_ == 0) return false;
  return heap_.size() < limit_ || Better(rowid, score, heap_.front().rowid, heap_.front().score);
}

void TopRows::Add(RankedRow row) {
  if (!Wants(row.rowid, row.score)) return;
  if (heap_.size() == limit_) {
    std::pop_heap(heap_.begin(), heap_.end(), BetterRow);
    heap_.pop_back();
  }
  heap_.push_back(std::move(row));
  std::push_heap(heap_.begin(), heap_.end(), BetterRow);
}

std::vector<RankedRow> TopRows::Take() {
  std::vector<RankedRow> out = std::move(heap_);
  heap_.clear();
  std::sort(out.begin(), out.end(), BetterRow);
  return out;
}

int ChooseSnippetColumn(const RowMatches& m) {
  const int columns = static_cast<int>(m.by_column.size());
  int best_col = columns - 1, best_distinct = -1;
  for (int c = 0; c < columns; ++c) {
    std::vector<int> seen;
    for (const auto& match : m.by_column[static_cast<size_t>(c)]) {
      if (std::find(seen.begin(), seen.end(), match.phrase) == seen.end()) seen.push_back(match.phrase);
    }
    const int distinct = static_cast<int>(seen.size());
    if (distinct >= best_distinct && (distinct > 0 || c == columns - 1)) {
      best_distinct = distinct;
      best_col = c;
    }
  }
  return best_col;
}

struct FtsTokenizer::Impl {
  fts5_tokenizer methods{};
  Fts5Tokenizer* instance = nullptr;
};

FtsTokenizer::FtsTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FtsTokenizer::~FtsTokenizer() {
  if (impl_ && impl_->instance) impl_->methods.xDelete(impl_->instance);
}

std::unique_ptr<FtsTokenizer> FtsTokenizer::Open(sqlite3* db, const char* name, const std::vector<std::string>& args) {
  fts5_api* api = GetFts5Api(db);
  if (api == nullptr) return nullptr;
  auto impl = std::make_unique<Impl>();
  void* context = nullptr;
  if (api->xFindTokenizer(api, name, &context, &impl->methods) != SQLITE_OK) return nullptr;
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  if (impl->methods.xCreate(context, argv.data(), static_cast<int>(argv.size()), &impl->instance) != SQLITE_OK) {
    return nullptr;
  }
  return std::unique_ptr<FtsTokenizer>(new FtsTokenizer(std::move(impl)));
}

int FtsTokenizer::Tokenize(std::string_view text, void* ctx, TokenCallback on_token) const {
  return impl_->methods.xTokenize(impl_->instance, ctx, kTokenizeDocument, text.data(), static_cast<int>(text.size()),
                                  on_token);
}

int MakeSnippet(std::vector<PhraseMatch> matches, std::string_view text, int column_tokens,
                const FtsTokenizer& tokenizer, const SnippetMarks& marks, std::string* out) {
  out->clear();
  const int window = std::clamp(marks.window, 1, 64);
  std::sort(matches.begin(), matches.end(),
            [](const PhraseMatch& x, const PhraseMatch& y) { return x.offset < y.offset; });
  Tokenized t;
  t.scan_limit = kMaxSnippetScanBytes;
  if (!matches.empty()) {
    const int start = ChooseSnippetWindow(matches, window);
    // A little context before the first match, and no window running past the end.
    t.first = std::max(0, column_tokens >= 0 ? std::min(start - window / 4, column_tokens - window) : start - window / 4);
  }
  t.last = t.first + window - 1;
  int rc = tokenizer.Tokenize(text, &t, &OnToken);
  if (rc != SQLITE_OK && rc != SQLITE_DONE) return rc;
  if (t.too_far) {  // the match is deep in a huge note: show its beginning instead
    t = Tokenized{};
    t.last = window - 1;
    t.scan_limit = kMaxSnippetScanBytes;
    matches.clear();
    rc = tokenizer.Tokenize(text, &t, &OnToken);
    if (rc != SQLITE_OK && rc != SQLITE_DONE) return rc;
  }
  if (t.spans.empty()) return SQLITE_OK;
  if (t.first > 0) *out += marks.ellipsis;
  int cursor = t.spans.front().begin;
  for (size_t i = 0; i < t.spans.size(); ++i) {
    const int pos = t.first + static_cast<int>(i);
    const TokenSpan& s = t.spans[i];
    out->append(text.data() + cursor, static_cast<size_t>(s.begin - cursor));
    bool marked = false;
    for (const PhraseMatch& m : matches) {
      if (pos >= m.offset && pos < m.offset + m.length) {
        marked = true;
        break;
      }
    }
    if (marked) *out += marks.open;
    out->append(text.data() + s.begin, static_cast<size_t>(s.end - s.begin));
    if (marked) *out += marks.close;
    cursor = s.end;
  }
  // More words after the window (not just trailing punctuation or space): say so.
  bool more = false;
  for (size_t i = static_cast<size_t>(cursor); i < text.size() && !more; ++i) {
    const auto ch = static_cast<unsigned char>(text[i]);
    more = ch >= 0x80 || std::isalnum(ch);
  }
  if (more) *out += marks.ellipsis;
  return SQLITE_OK;
}

int RegisterFtsFunctions(sqlite3* db) {
  fts5_api* api = GetFts5Api(db);
  if (api == nullptr) return SQLITE_ERROR;
  return api->xCreateFunction(api, "kb_rank", nullptr, &KbRank, nullptr);
}

}  // namespace kb
