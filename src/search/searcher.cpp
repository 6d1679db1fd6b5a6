#include "search/searcher.h"

#include "search/fts_query.h"

namespace kb {

const char* SearchModeName(SearchMode m) {
  switch (m) {
    case SearchMode::kKeyword: return "keyword";
    case SearchMode::kSemantic: return "semantic";
    case SearchMode::kHybrid: return "hybrid";
  }
  return "keyword";
}

Result<SearchMode> ParseSearchMode(const std::string& s) {
  if (s == "keyword") return SearchMode::kKeyword;
  if (s == "semantic") return SearchMode::kSemantic;
  if (s == "hybrid") return SearchMode::kHybrid;
  return Status::InvalidArgument("search mode must be keyword, semantic or hybrid (got '" + s + "')");
}

Result<std::vector<SearchHit>> Searcher::Keyword(const SearchRequest& req, int limit) {
  std::vector<KeywordHit> raw_hits;
  if (req.raw) {
    KB_ASSIGN_OR_RETURN(raw_hits, store_.KeywordSearch(req.query, limit, req.source, req.mark_open,
                                                       req.mark_close));
  } else {
    KB_ASSIGN_OR_RETURN(std::string all, BuildFtsQuery(req.query, FtsJoin::kAll));
    if (all.empty()) return std::vector<SearchHit>{};
    KB_ASSIGN_OR_RETURN(raw_hits, store_.KeywordSearch(all, limit, req.source, req.mark_open,
                                                       req.mark_close));
    if (raw_hits.empty()) {
      // Nothing has every word: fall back to any word, still ranked by bm25.
      KB_ASSIGN_OR_RETURN(std::string any, BuildFtsQuery(req.query, FtsJoin::kAny));
      if (any != all) {
        KB_ASSIGN_OR_RETURN(raw_hits, store_.KeywordSearch(any, limit, req.source, req.mark_open,
                                                           req.mark_close));
      }
    }
  }
  std::vector<SearchHit> out;
  out.reserve(raw_hits.size());
  int rank = 0;
  for (auto& h : raw_hits) {
    SearchHit s;
    s.id = std::move(h.id);
    s.title = std::move(h.title);
    s.path = std::move(h.path);
    s.source = std::move(h.source);
    s.snippet = std::move(h.snippet);
    s.score = h.score;
    s.sync_status = h.sync_status;
    s.keyword_rank = ++rank;
    out.push_back(std::move(s));
  }
  return out;
}

Result<SearchResponse> Searcher::Search(const SearchRequest& req) {
  if (req.k < 1 || req.k > 1000) return Status::InvalidArgument("k must be between 1 and 1000");
  SearchResponse resp;
  resp.mode = req.mode;
  if (req.mode != SearchMode::kKeyword && semantic_ == nullptr) {
    resp.degraded = true;
    resp.degraded_reason = "no vector store configured";
  }
  KB_ASSIGN_OR_RETURN(resp.hits, Keyword(req, req.k));
  return resp;
}

}  // namespace kb
