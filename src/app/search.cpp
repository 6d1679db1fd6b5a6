#include "app/search.h"

#include "app/convert.h"
#include "search/searcher.h"

namespace kb::app {

Result<kbindex::SearchResults> Search(Services& s, const kbindex::SearchRequest& request) {
  if (request.query.empty()) return Status::InvalidArgument("the search text is empty");
  if (request.query.size() > kMaxQueryBytes) {
    return Status::InvalidArgument("the query is longer than " + std::to_string(kMaxQueryBytes) + " bytes");
  }
  SearchRequest req;
  req.query = request.query;
  req.mode = request.mode.value_or(s.VectorsConfigured() ? SearchMode::kHybrid : SearchMode::kKeyword);
  req.k = request.k;
  req.source = request.source;
  req.raw = request.raw;
  req.mark_open = request.mark_open;
  req.mark_close = request.mark_close;
  req.budget_ms = s.config().search_timeout_ms;
  SemanticIndex* semantic = nullptr;
  std::string unavailable;
  if (req.mode != SearchMode::kKeyword) {
    auto sem = s.Semantic();
    if (sem.ok()) {
      semantic = *sem;
    } else {
      unavailable = sem.status().message();
    }
  }
  Searcher searcher(s.store(), semantic);
  KB_ASSIGN_OR_RETURN(SearchResponse resp, searcher.Search(req));
  kbindex::SearchResults out;
  out.mode = resp.mode;
  out.degraded = resp.degraded;
  out.degraded_reason = unavailable.empty() ? resp.degraded_reason : unavailable;
  out.hits.reserve(resp.hits.size());
  for (SearchHit& h : resp.hits) {
    kbindex::SearchHit p;
    p.id = std::move(h.id);
    p.title = std::move(h.title);
    p.path = std::move(h.path);
    p.source = std::move(h.source);
    p.snippet = std::move(h.snippet);
    p.score = h.score;
    p.sync_state = ToPublic(h.sync_status);
    p.keyword_rank = h.keyword_rank;
    p.semantic_rank = h.semantic_rank;
    p.similarity = h.similarity;
    p.heading = std::move(h.heading);
    out.hits.push_back(std::move(p));
  }
  return out;
}

}  // namespace kb::app
