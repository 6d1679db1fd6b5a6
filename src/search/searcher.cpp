#include "search/searcher.h"

#include <algorithm>
#include <future>
#include <system_error>
#include <unordered_map>

#include "search/fts_query.h"
#include "search/semantic_index.h"

namespace kb {

double SemanticFusionWeight(double cosine_distance) {
  const double sim = std::clamp(1.0 - cosine_distance, 0.0, 1.0);
  return sim * sim;
}

Result<std::vector<SearchHit>> Searcher::Keyword(const SearchRequest& req, int limit) {
  std::vector<KeywordHit> raw_hits;
  if (req.raw) {
    KB_ASSIGN_OR_RETURN(raw_hits, store_.KeywordSearch(req.query, limit, req.source, req.mark_open,
                                                       req.mark_close, req.budget_ms));
  } else {
    KB_ASSIGN_OR_RETURN(std::string all, BuildFtsQuery(req.query, FtsJoin::kAll));
    if (all.empty()) return std::vector<SearchHit>{};
    KB_ASSIGN_OR_RETURN(raw_hits, store_.KeywordSearch(all, limit, req.source, req.mark_open,
                                                       req.mark_close, req.budget_ms));
    if (raw_hits.empty()) {
      // Nothing has every word: fall back to any word, still ranked by bm25.
      KB_ASSIGN_OR_RETURN(std::string any, BuildFtsQuery(req.query, FtsJoin::kAny));
      if (any != all) {
        KB_ASSIGN_OR_RETURN(raw_hits, store_.KeywordSearch(any, limit, req.source, req.mark_open,
                                                           req.mark_close, req.budget_ms));
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
  const bool want_keyword = req.mode != SearchMode::kSemantic;
  const bool want_semantic = req.mode != SearchMode::kKeyword;
  // Each side looks deeper than k so that fusion has something to work with.
  const int depth = req.mode == SearchMode::kHybrid ? std::max(req.k * 2, 20) : req.k;

  // Hybrid asks both sides at once: the semantic side waits mostly on the vector store, the
  // keyword side on SQLite, so a hybrid search takes about as long as the slower side.
  auto semantic_side = [&]() -> Result<std::vector<SemanticHit>> {
    return semantic_->Search(req.query, depth, req.source, /*excerpts=*/!want_keyword);
  };
  std::future<Result<std::vector<SemanticHit>>> pending;
  if (want_semantic && want_keyword && semantic_ != nullptr) {
    try {
      pending = std::async(std::launch::async, semantic_side);
    } catch (const std::system_error&) {
      // No thread to be had: the semantic side runs in line, after the keyword side.
    }
  }
  std::vector<SearchHit> keyword;
  Status keyword_status = Status::Ok();
  if (want_keyword) {
    if (auto k = Keyword(req, depth); k.ok()) {
      keyword = std::move(k).value();
    } else {
      keyword_status = k.status();
    }
  }

  std::vector<SemanticHit> semantic;
  bool semantic_ok = false;
  if (want_semantic) {
    Result<std::vector<SemanticHit>> s =
        semantic_ == nullptr ? Result<std::vector<SemanticHit>>(Status::Unavailable("no vector store configured"))
        : pending.valid()    ? pending.get()
                             : semantic_side();
    if (s.ok()) {
      semantic = std::move(s).value();
      semantic_ok = true;
    } else if (s.status().code() == Status::Code::kInvalidArgument) {
      return s.status();
    } else {
      resp.degraded = true;
      resp.degraded_reason = s.status().message();
    }
  }
  KB_RETURN_IF_ERROR(keyword_status);
  if (!want_keyword && !semantic_ok) {
    // Semantic mode with the semantic side down: keyword results instead.
    KB_ASSIGN_OR_RETURN(keyword, Keyword(req, depth));
  }
  if (!semantic_ok) {
    // Keyword only (asked for, or the semantic side is down).
    if (keyword.size() > static_cast<size_t>(req.k)) keyword.resize(static_cast<size_t>(req.k));
    resp.hits = std::move(keyword);
    return resp;
  }

  // Semantic-only hits must clear the embedder's similarity floor: a nearest neighbour is not
  // necessarily related. (Semantic mode shows the neighbours as they are: that is what it asks.)
  double floor = -1;
  if (want_keyword) {
    if (auto f = semantic_->Floor(); f.ok()) floor = *f;
  }
  // Reciprocal-rank fusion over document ids.
  std::vector<SearchHit> fused;
  std::unordered_map<std::string, size_t> index;
  for (auto& h : keyword) {
    h.score = 1.0 / (kRrfK + h.keyword_rank);
    index.emplace(h.id, fused.size());
    fused.push_back(std::move(h));
  }
  int rank = 0;
  for (auto& s : semantic) {
    ++rank;
    auto it = index.find(s.doc.id);
    const double weight = SemanticFusionWeight(s.distance);
    if (it != index.end()) {
      SearchHit& h = fused[it->second];
      h.semantic_rank = rank;
      h.similarity = 1.0 - s.distance;
      h.score += weight / (kRrfK + rank);
      continue;
    }
    if (1.0 - s.distance < floor) continue;
    SearchHit h;
    h.id = s.doc.id;
    h.title = s.doc.title;
    h.path = s.doc.path;
    h.source = s.doc.source;
    h.snippet = std::move(s.snippet);
    h.sync_status = s.doc.sync_status;
    h.semantic_rank = rank;
    h.similarity = 1.0 - s.distance;
    h.heading = std::move(s.heading);
    h.score = want_keyword ? weight / (kRrfK + rank) : 1.0 - s.distance;
    index.emplace(h.id, fused.size());
    fused.push_back(std::move(h));
  }
  std::stable_sort(fused.begin(), fused.end(),
                   [](const SearchHit& a, const SearchHit& b) { return a.score > b.score; });
  if (fused.size() > static_cast<size_t>(req.k)) fused.resize(static_cast<size_t>(req.k));
  if (want_keyword) {
    // Excerpts (the best chunk's heading, and the snippet of a hit keyword search did not find)
    // for the hits shown only: hybrid looks twice as deep as it shows.
    std::vector<SemanticHit> shown;
    std::vector<SearchHit*> to;
    for (SearchHit& h : fused) {
      if (h.semantic_rank == 0) continue;
      shown.push_back(std::move(semantic[static_cast<size_t>(h.semantic_rank - 1)]));
      to.push_back(&h);
    }
    KB_RETURN_IF_ERROR(semantic_->AddExcerpts(shown));
    for (size_t i = 0; i < shown.size(); ++i) {
      to[i]->heading = std::move(shown[i].heading);
      if (to[i]->keyword_rank == 0) to[i]->snippet = std::move(shown[i].snippet);
    }
  }
  resp.hits = std::move(fused);
  return resp;
}

}  // namespace kb
