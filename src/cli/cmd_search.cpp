#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/json_shapes.h"
#include "cli/cli.h"

namespace kb::cli {

int RunSearch(Globals& g, const SearchArgs& args) {
  std::string query;
  for (const auto& w : args.words) {
    if (!query.empty()) query += ' ';
    query += w;
  }
  auto db = OpenDatabase(g);
  if (!db) return kExitFailure;
  kbindex::SearchRequest req;
  req.query = query;
  req.k = args.k;
  req.raw = args.raw;
  req.source = args.source;
  if (args.semantic) req.mode = kbindex::SearchMode::kSemantic;
  if (!args.mode.empty()) {
    auto mode = kbindex::ParseSearchMode(args.mode);
    if (!mode.ok()) return Fail(mode.status());
    req.mode = *mode;
  }
  const bool color = !g.json && isatty(STDOUT_FILENO);
  // Marks are placeholders first: the snippet is made printable, then they become colours.
  req.mark_open = color ? "\x01" : "**";
  req.mark_close = color ? "\x02" : "**";
  auto resp = db->Search(req);
  if (!resp.ok()) return Fail(resp.status());
  if (g.json) {
    PrintJson(app::SearchResultsToJson(*resp, query).dump());
    return kExitOk;
  }
  if (resp->degraded && !g.quiet) {
    std::fprintf(stderr, "kbindex: semantic search unavailable (%s); showing keyword results\n",
                 Printable(resp->degraded_reason).c_str());
  }
  if (resp->hits.empty()) {
    if (!g.quiet) std::fprintf(stderr, "no results for: %s\n", Printable(query).c_str());
    return kExitOk;
  }
  int n = 0;
  for (const kbindex::SearchHit& h : resp->hits) {
    const char* found = h.keyword_rank && h.semantic_rank ? "keyword+semantic"
                        : h.semantic_rank                 ? "semantic"
                                                          : "keyword";
    std::printf("%2d. %s%s%s  %s  [%s, %s]\n", ++n, color ? "\033[1m" : "", Printable(h.title).c_str(),
                color ? "\033[0m" : "", Printable(h.id).c_str(), kbindex::SyncStateName(h.sync_state), found);
    std::string snippet;
    for (char c : h.snippet) snippet += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    snippet = Printable(snippet);
    if (color) {
      for (auto [from, to] : {std::pair<const char*, const char*>{"\\x01", "\033[1m"}, {"\\x02", "\033[0m"}}) {
        for (size_t at; (at = snippet.find(from)) != std::string::npos;) snippet.replace(at, 4, to);
      }
    }
    if (!snippet.empty()) std::printf("    %s\n", snippet.c_str());
  }
  return kExitOk;
}

}  // namespace kb::cli
