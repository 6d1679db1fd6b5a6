// Search quality on the bundled sample: for queries with a known answer (examples/queries.json),
// how often each mode ranks the right note first. Prints the table; hybrid must rank the right
// note first at least as often as either side alone.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "integration/harness.h"
#include "search/searcher.h"
#include "search/semantic_index.h"

namespace kb {
namespace {

using json = nlohmann::json;

TEST(RelevanceTest, HybridRanksTheRightNoteFirstAtLeastAsOftenAsEitherSide) {
  test::Harness h;
  ASSERT_TRUE(h.ready());
  std::filesystem::copy(std::string(KBINDEX_SOURCE_DIR) + "/examples/notes", h.notes,
                        std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  h.options.chunker.max_bytes = 1500;  // the shipped default
  h.Scan();
  ASSERT_GT(h.Sync().synced, 20);
  std::ifstream in(std::string(KBINDEX_SOURCE_DIR) + "/examples/queries.json");
  json queries = json::parse(in);
  ASSERT_GE(queries.size(), 10u);

  ChunkerOptions chunker;
  chunker.max_bytes = 1500;
  SemanticIndex semantic(*h.store, *h.client, h.embedder, nullptr, chunker, "kbindex");
  Searcher searcher(*h.store, &semantic);
  const SearchMode modes[] = {SearchMode::kKeyword, SearchMode::kSemantic, SearchMode::kHybrid};
  int top1[3] = {0, 0, 0};
  double mrr[3] = {0, 0, 0};
  std::printf("\n%-62s %8s %8s %8s\n", "query (rank of the expected note; - = not in top 10)", "keyword",
              "semantic", "hybrid");
  for (const auto& q : queries) {
    const std::string query = q["query"], expected = q["expected"];
    ASSERT_TRUE(h.store->Get(expected)->has_value()) << expected;
    std::string row;
    for (int m = 0; m < 3; ++m) {
      SearchRequest req;
      req.query = query;
      req.mode = modes[m];
      auto r = searcher.Search(req);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_FALSE(r->degraded);
      int rank = 0;
      for (size_t i = 0; i < r->hits.size(); ++i) {
        if (r->hits[i].id == expected) {
          rank = static_cast<int>(i) + 1;
          break;
        }
      }
      top1[m] += rank == 1;
      mrr[m] += rank ? 1.0 / rank : 0;
      char cell[16];
      std::snprintf(cell, sizeof cell, " %8s", rank ? std::to_string(rank).c_str() : "-");
      row += cell;
    }
    std::printf("%-62.62s%s\n", query.c_str(), row.c_str());
  }
  const double n = static_cast<double>(queries.size());
  std::printf("%-62s %5d/%zu %5d/%zu %5d/%zu\n", "ranked first", top1[0], queries.size(), top1[1],
              queries.size(), top1[2], queries.size());
  std::printf("%-62s %8.3f %8.3f %8.3f\n", "mean reciprocal rank", mrr[0] / n, mrr[1] / n, mrr[2] / n);
  EXPECT_GE(top1[2], top1[0]) << "hybrid ranked the right note first less often than keyword alone";
  EXPECT_GE(top1[2], top1[1]) << "hybrid ranked the right note first less often than semantic alone";
}

}  // namespace
}  // namespace kb
