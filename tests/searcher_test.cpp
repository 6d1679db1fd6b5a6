#include "search/searcher.h"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <vector>

#include "embed/hash_embedder.h"
#include "search/semantic_index.h"
#include "support/fake_vector_store.h"
#include "sync/sync_engine.h"

namespace kb {
namespace {

class SearcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(DocumentStore::Open(":memory:")).value();
    Put("a", "Sourdough starter", "feed the starter flour and water daily");
    Put("b", "Bread notes", "sourdough loaf baking schedule and oven temperature");
    Put("c", "Garden", "tomato plants need water and sun");
    SyncEngine engine(*store_, failing_, embedder_, SyncOptions{});
    ASSERT_EQ(engine.Run({}).synced, 3);
    semantic_ = std::make_unique<SemanticIndex>(*store_, failing_, embedder_, nullptr, ChunkerOptions{}, "kbindex");
  }
  void Put(const std::string& id, const std::string& title, const std::string& body) {
    DocumentInput d;
    d.id = id;
    d.source = "api";
    d.title = title;
    d.body = body;
    d.content_hash = id + body;
    std::vector<DocumentInput> v{d};
    ASSERT_TRUE(store_->PutDocuments(v).ok());
  }
  Result<SearchResponse> Search(const std::string& query, SearchMode mode) {
    Searcher s(*store_, semantic_.get());
    SearchRequest req;
    req.query = query;
    req.mode = mode;
    return s.Search(req);
  }
  std::unique_ptr<DocumentStore> store_;
  test::FakeVectorStore fake_;
  test::FailingVectorStore failing_{fake_};
  HashEmbedder embedder_{384};
  std::unique_ptr<SemanticIndex> semantic_;
};

TEST_F(SearcherTest, HybridFusesBothSidesAndSaysWhichFoundEachHit) {
  auto r = Search("sourdough starter", SearchMode::kHybrid);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->degraded);
  ASSERT_GE(r->hits.size(), 2u);
  EXPECT_EQ(r->hits[0].id, "a");
  EXPECT_GT(r->hits[0].keyword_rank, 0);
  EXPECT_GT(r->hits[0].semantic_rank, 0);
  for (size_t i = 1; i < r->hits.size(); ++i) EXPECT_GE(r->hits[i - 1].score, r->hits[i].score);
  // Each document once, even though Chroma holds chunks.
  std::set<std::string> ids;
  for (const auto& h : r->hits) EXPECT_TRUE(ids.insert(h.id).second) << h.id;
}

TEST_F(SearcherTest, HybridAsksTheVectorStoreBesideTheKeywordSideSemanticModeInLine) {
  std::mutex mu;
  std::vector<std::thread::id> query_threads;
  failing_.OnQuery([&] {
    std::lock_guard lock(mu);
    query_threads.push_back(std::this_thread::get_id());
  });
  auto hybrid = Search("sourdough starter", SearchMode::kHybrid);
  ASSERT_TRUE(hybrid.ok()) << hybrid.status().ToString();
  EXPECT_EQ(hybrid->hits.at(0).id, "a");
  EXPECT_GT(hybrid->hits.at(0).keyword_rank, 0);
  EXPECT_GT(hybrid->hits.at(0).semantic_rank, 0);
  ASSERT_TRUE(Search("sourdough starter", SearchMode::kSemantic).ok());
  failing_.OnQuery(nullptr);
  ASSERT_EQ(query_threads.size(), 2u);
  EXPECT_NE(query_threads[0], std::this_thread::get_id()) << "hybrid waited for the vector store before its keyword side";
  EXPECT_EQ(query_threads[1], std::this_thread::get_id());
}

TEST_F(SearcherTest, HybridHitsShowTheirBestChunksHeadingAndAnExcerptWhicheverSideFoundThem) {
  Put("d", "Starter", "# Feeding\nfeed the sourdough starter every morning\n\n# Storage\nkeep it cold");
  Put("e", "Loaves", "# Crumb\nsourdough sourdough crumb");
  SyncEngine engine(*store_, failing_, embedder_, SyncOptions{});
  ASSERT_EQ(engine.Run({}).synced, 2);
  Searcher s(*store_, semantic_.get());
  SearchRequest req;
  req.query = "sourdough starter";
  req.mode = SearchMode::kHybrid;
  req.k = 10;
  auto r = s.Search(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const SearchHit* both = nullptr;
  const SearchHit* meaning_only = nullptr;
  for (const auto& h : r->hits) {
    if (h.id == "d") both = &h;
    if (h.id == "e") meaning_only = &h;
  }
  ASSERT_NE(both, nullptr);
  EXPECT_GT(both->keyword_rank, 0);
  ASSERT_GT(both->semantic_rank, 0);
  EXPECT_EQ(both->heading, "Feeding");  // from the semantic side's best chunk
  EXPECT_NE(both->snippet.find("**sourdough**"), std::string::npos) << both->snippet;  // keyword's
  ASSERT_NE(meaning_only, nullptr) << "the note sharing one word is a semantic-only hit";
  EXPECT_EQ(meaning_only->keyword_rank, 0);
  EXPECT_EQ(meaning_only->heading, "Crumb");
  EXPECT_EQ(meaning_only->snippet, "Crumb sourdough sourdough crumb");
}

TEST_F(SearcherTest, AQueryThatRacedACollectionSwitchIsAskedAgainOnce) {
  // Chroma 1.0 answers a query on a collection dropped while it ran with 412.
  failing_.FailNextQueries(1, Status::RemotePermanent(
                                  "Chroma query failed with HTTP 412: ChromaError: Missing metadata segment", 412));
  auto r = semantic_->Search("sourdough starter", 3, "");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->empty());
  // Any other rejection is the answer: not asked again.
  failing_.FailNextQueries(1, Status::RemotePermanent("Chroma query failed with HTTP 400: bad", 400));
  auto bad = semantic_->Search("sourdough starter", 3, "");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().http_status(), 400);
}

TEST_F(SearcherTest, TombstonesAndOrphansNeverSurface) {
  std::vector<std::string> gone{"a"};
  ASSERT_TRUE(store_->Tombstone(gone).ok());  // still in the vector store until the next sync
  Searcher s(*store_, semantic_.get());
  for (SearchMode mode : {SearchMode::kKeyword, SearchMode::kSemantic, SearchMode::kHybrid}) {
    SearchRequest req;
    req.query = "sourdough starter";
    req.mode = mode;
    auto r = s.Search(req);
    ASSERT_TRUE(r.ok());
    for (const auto& h : r->hits) EXPECT_NE(h.id, "a") << SearchModeName(mode);
  }
}

TEST_F(SearcherTest, ChromaDownDegradesToKeyword) {
  failing_.SetDown(Status::Unavailable("Chroma at http://127.0.0.1:9 is not reachable"));
  Searcher s(*store_, semantic_.get());
  SearchRequest req;
  req.query = "tomato";
  req.mode = SearchMode::kHybrid;
  auto r = s.Search(req);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->degraded);
  EXPECT_NE(r->degraded_reason.find("not reachable"), std::string::npos);
  ASSERT_EQ(r->hits.size(), 1u);
  EXPECT_EQ(r->hits[0].id, "c");
}

TEST(FusionTest, CloseSemanticMatchesCountNearlyFullyFarOnesLittle) {
  EXPECT_NEAR(SemanticFusionWeight(0.0), 1.0, 1e-9);
  EXPECT_NEAR(SemanticFusionWeight(0.5), 0.25, 1e-9);
  EXPECT_EQ(SemanticFusionWeight(1.2), 0.0);  // dissimilar: no vote
  // A top keyword hit beats a document that is merely a weak neighbour on both sides.
  const double strong_keyword = 1.0 / (kRrfK + 1);
  const double weak_both = 1.0 / (kRrfK + 5) + SemanticFusionWeight(0.85) / (kRrfK + 1);
  EXPECT_GT(strong_keyword, weak_both);
  // Agreement between a good semantic match and the keyword side still wins.
  const double good_both = 1.0 / (kRrfK + 2) + SemanticFusionWeight(0.2) / (kRrfK + 1);
  EXPECT_GT(good_both, strong_keyword);
}

// A vector hit names a chunk by its id ("<doc>#<n>", n counting the chunks sent); identical
// chunks are sent once, so the snippet must come from the chunk the sync sent as n.
TEST(SentChunkTest, MapsASentChunkBackPastIdenticalOnes) {
  Document doc;
  doc.id = "n";
  doc.source = "api";
  doc.title = "Repeats";
  doc.body = "# Same\n\nthe very same paragraph\n\n# Same\n\nthe very same paragraph\n\n# Other\n\na different one\n";
  ChunkerOptions options;
  options.max_bytes = 40;
  const ChunkPlan plan = PlanChunks(doc, options);
  ASSERT_EQ(plan.chunks.size(), 2u);
  ASSERT_EQ(plan.duplicates, 1);

  auto first = SentChunk(doc, 0, options);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->position, 0);
  EXPECT_EQ(first->chunk.heading, "Same");
  auto second = SentChunk(doc, 1, options);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->position, 2);  // not chunk 1, the copy that was not sent
  EXPECT_EQ(second->chunk.heading, "Other");
  EXPECT_NE(second->chunk.text.find("a different one"), std::string::npos);
  // Beyond the note's chunks (it shrank since the sync): its last chunk.
  EXPECT_EQ(SentChunk(doc, 7, options)->position, 2);
  EXPECT_FALSE(SentChunk(doc, -1, options).has_value());
}

}  // namespace
}  // namespace kb
