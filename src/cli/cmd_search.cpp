#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/stats_json.h"
#include "cli/cli.h"
#include "search/searcher.h"
#include "search/semantic_index.h"

namespace kb::cli {

int RunSearch(Globals& g, const SearchArgs& args) {
  std::string query;
  for (const auto& w : args.words) {
    if (!query.empty()) query += ' ';
    query += w;
  }
  auto store = OpenStore(g);
  if (!store) return kExitFailure;
  SearchRequest req;
  req.query = query;
  req.k = args.k;
  req.raw = args.raw;
  req.source = args.source;
  // Hybrid by default whenever a Chroma is configured or installed locally.
  const bool chroma_available =
      !g.config.chroma_url.empty() || LocalChroma::FindHome(g.config.chroma_home).ok();
  req.mode = chroma_available ? SearchMode::kHybrid : SearchMode::kKeyword;
  if (args.semantic) req.mode = SearchMode::kSemantic;
  if (!args.mode.empty()) {
    auto mode = ParseSearchMode(args.mode);
    if (!mode.ok()) return Fail(mode.status());
    req.mode = *mode;
  }
  const bool color = !g.json && isatty(STDOUT_FILENO);
  if (color) {
    req.mark_open = "\033[1m";
    req.mark_close = "\033[0m";
  }
  std::optional<VectorSide> side;
  std::unique_ptr<SemanticIndex> semantic;
  std::string side_error;
  if (req.mode != SearchMode::kKeyword) {
    auto opened = OpenVectorSide(g.config, *store);
    if (opened.ok()) {
      side = std::move(opened).value();
      semantic = std::make_unique<SemanticIndex>(*store, *side->chroma, *side->embedder, g.config);
    } else {
      side_error = opened.status().message();
    }
  }
  Searcher searcher(*store, semantic.get());
  auto resp = searcher.Search(req);
  if (resp.ok() && !side_error.empty()) resp->degraded_reason = side_error;
  if (!resp.ok()) return Fail(resp.status());
  if (g.json) {
    PrintJson(SearchResponseToJson(*resp, query).dump());
    return kExitOk;
  }
  if (resp->degraded && !g.quiet) {
    std::fprintf(stderr, "kbindex: semantic search unavailable (%s); showing keyword results\n",
                 resp->degraded_reason.c_str());
  }
  if (resp->hits.empty()) {
    if (!g.quiet) std::fprintf(stderr, "no results for: %s\n", query.c_str());
    return kExitOk;
  }
  int n = 0;
  for (const SearchHit& h : resp->hits) {
    std::string found = h.keyword_rank && h.semantic_rank ? "keyword+semantic"
                        : h.semantic_rank                 ? "semantic"
                                                          : "keyword";
    std::printf("%2d. %s%s%s  %s  [%s, %s]\n", ++n, color ? "\033[1m" : "", h.title.c_str(),
                color ? "\033[0m" : "", h.id.c_str(), SyncStatusName(h.sync_status), found.c_str());
    std::string snippet = h.snippet;
    for (char& c : snippet) {
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    }
    if (!snippet.empty()) std::printf("    %s\n", snippet.c_str());
  }
  return kExitOk;
}

}  // namespace kb::cli
