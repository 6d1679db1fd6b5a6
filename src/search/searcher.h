// Searcher: keyword (FTS5 bm25), semantic (vector store) and hybrid (reciprocal-rank fusion)
// search over the live documents in SQLite.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kbindex/types.h"
#include "store/document_store.h"
#include "util/status.h"

namespace kb {

class SemanticIndex;

using kbindex::ParseSearchMode;
using kbindex::SearchMode;
using kbindex::SearchModeName;

struct SearchRequest {
  std::string query;
  SearchMode mode = SearchMode::kKeyword;
  int k = 10;
  std::string source;  // restrict to one source; empty = all
  bool raw = false;    // pass the query to FTS5 unescaped (keyword side)
  std::string mark_open = "**";
  std::string mark_close = "**";
  int budget_ms = 0;   // keyword side: stop (Timeout) after this long; 0: no limit
};

struct SearchHit {
  std::string id;
  std::string title;
  std::optional<std::string> path;
  std::string source;
  std::string snippet;
  double score = 0;
  SyncStatus sync_status = SyncStatus::kPending;
  int keyword_rank = 0;   // 1-based rank on the keyword side, 0 if not found there
  int semantic_rank = 0;  // 1-based rank on the semantic side, 0 if not found there
  std::optional<double> similarity;  // 1 - cosine distance of the best chunk (semantic side)
  std::string heading;    // heading path of the best semantic chunk, if any
};

struct SearchResponse {
  SearchMode mode = SearchMode::kKeyword;
  std::vector<SearchHit> hits;
  bool degraded = false;  // semantic side unavailable: keyword results only
  std::string degraded_reason;
};

// Hybrid ranking: reciprocal-rank fusion, similarity-weighted on the semantic side:
//   score = 1 / (kRrfK + keyword_rank) + sim^2 / (kRrfK + semantic_rank),  sim = 1 - cosine distance.
// Plain RRF lets weak semantic neighbours (nearest, but unrelated) outvote a strong keyword
// match; weighting by similarity keeps close semantic matches almost at full weight and makes
// far ones count little. Measured on examples/queries.json (README, "Search quality").
inline constexpr double kRrfK = 60.0;
double SemanticFusionWeight(double cosine_distance);

class Searcher {
 public:
  // `semantic` may be null: then semantic/hybrid requests degrade to keyword.
  Searcher(DocumentStore& store, SemanticIndex* semantic) : store_(store), semantic_(semantic) {}

  // Invalid FTS5 syntax (raw mode) or invalid UTF-8 come back as InvalidArgument.
  Result<SearchResponse> Search(const SearchRequest& request);

 private:
  Result<std::vector<SearchHit>> Keyword(const SearchRequest& request, int limit);

  DocumentStore& store_;
  SemanticIndex* semantic_;
};

}  // namespace kb
