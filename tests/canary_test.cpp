// The index canary over the in-memory vector store: an index that answers passes; one that comes
// back empty, or answers without the record itself, is reported broken with what to do; the
// probe record is written once and is never an orphan.
#include "sync/canary.h"

#include <gtest/gtest.h>

#include "embed/hash_embedder.h"
#include "app/index_check.h"
#include "app/maintenance.h"
#include "app/notes.h"
#include "support/fake_vector_store.h"
#include "support/test_services.h"
#include "sync/chunk_records.h"
#include "sync/verifier.h"
#include "util/clock.h"

namespace kb {
namespace {

using test::FailingVectorStore;
using test::FakeVectorStore;

// A vector store whose index misbehaves the ways Chroma 1.0's HNSW does.
class MisbehavingIndex : public FailingVectorStore {
 public:
  enum class Mode { kFine, kEmpty, kSomeoneElse };
  using FailingVectorStore::FailingVectorStore;
  Mode mode = Mode::kFine;
  Result<std::vector<QueryHit>> Query(const CollectionRef& c, std::span<const float> e, int n,
                                      const std::string& where) override {
    auto hits = FailingVectorStore::Query(c, e, n, where);
    if (!hits.ok() || mode == Mode::kFine) return hits;
    if (mode == Mode::kEmpty) return std::vector<QueryHit>{};
    // The nearest answer is never the record itself: drop exact matches.
    std::vector<QueryHit> others;
    for (auto& h : *hits) {
      if (h.distance > 1e-3) others.push_back(h);
    }
    return others;
  }
};

class CanaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions opt;
    opt.clock = &clock_;
    store_ = std::move(DocumentStore::Open(":memory:", opt)).value();
    options_.chunker.max_bytes = 200;
    engine_ = std::make_unique<SyncEngine>(*store_, index_, embedder_, options_);
    std::vector<DocumentInput> docs;
    for (int i = 0; i < 30; ++i) {
      DocumentInput d;
      d.id = "notes:n" + std::to_string(i) + ".md";
      d.source = "notes";
      d.path = "n" + std::to_string(i) + ".md";
      d.title = "note " + std::to_string(i);
      d.body = "topic" + std::to_string(i) + " words about subject " + std::to_string(i * 7) + " and more";
      d.content_hash = "h" + std::to_string(i);
      docs.push_back(d);
    }
    ASSERT_TRUE(store_->PutDocuments(docs).ok());
    ASSERT_EQ(engine_->Run({}).synced, 30);
  }

  ManualClock clock_;
  std::unique_ptr<DocumentStore> store_;
  FakeVectorStore fake_;
  MisbehavingIndex index_{fake_};
  HashEmbedder embedder_{64};
  SyncOptions options_;
  std::unique_ptr<SyncEngine> engine_;
};

TEST_F(CanaryTest, AHealthyIndexFindsEverySampleAndTheProbe) {
  auto r = CheckIndex(*engine_, index_, {.samples = 8, .neighbours = 3});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->ok) << r->reason;
  EXPECT_TRUE(r->probe_found);
  EXPECT_GE(r->checked, 2);
  EXPECT_EQ(r->self_misses + r->empty_answers, 0);
  EXPECT_EQ(r->records, 31);  // 30 notes + the probe
  EXPECT_EQ(fake_.Records("kbindex").count(kProbeId), 1u);
  // The probe is written once, not per check.
  ASSERT_TRUE(CheckIndex(*engine_, index_).ok());
  EXPECT_EQ(fake_.Records("kbindex").size(), 31u);
}

TEST_F(CanaryTest, AnIndexThatAnswersNothingIsBroken) {
  index_.mode = MisbehavingIndex::Mode::kEmpty;
  auto r = CheckIndex(*engine_, index_);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->ok);
  EXPECT_FALSE(r->probe_found);
  EXPECT_EQ(r->empty_answers, r->checked);
  EXPECT_NE(r->reason.find("came back empty"), std::string::npos) << r->reason;
  EXPECT_NE(r->reason.find("reindex --rebuild"), std::string::npos) << r->reason;
}

TEST_F(CanaryTest, AnIndexThatLosesExactMatchesIsBroken) {
  index_.mode = MisbehavingIndex::Mode::kSomeoneElse;
  auto r = CheckIndex(*engine_, index_);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->ok);
  EXPECT_GT(r->self_misses, 0);
  EXPECT_NE(r->reason.find("did not find the record itself"), std::string::npos) << r->reason;
}

TEST_F(CanaryTest, ChromaDownIsNoVerdict) {
  index_.SetDown(Status::Unavailable("refused"));
  auto r = CheckIndex(*engine_, index_);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
}

TEST_F(CanaryTest, TheProbeIsNeitherAnOrphanNorAChunk) {
  ASSERT_TRUE(CheckIndex(*engine_, index_).ok());
  auto bound = engine_->Bound();
  ASSERT_TRUE(bound.ok());
  auto v = Verify(*store_, index_, bound->collection);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->orphans.empty());
  EXPECT_EQ(v->vector_chunks, 30);
  EXPECT_TRUE(v->converged());
}

// The worker's policy: an index that answers nothing is rebuilt beside the active one, once; a
// second failure within the day is reported, not rebuilt again.
TEST(IndexCheckPolicyTest, TheWorkerRebuildsAnIndexThatAnswersNothingOncePerDay) {
  FakeVectorStore fake;
  MisbehavingIndex index{fake};
  ManualClock clock;
  Config config;
  auto s = test::OpenTestServices(index, config, &clock);
  ASSERT_NE(s, nullptr);
  for (int i = 0; i < 20; ++i) {
    kbindex::NoteInput note;
    note.id = "n" + std::to_string(i);
    note.body = "note " + std::to_string(i) + " about subject" + std::to_string(i * 13);
    ASSERT_TRUE(app::PutNote(*s, note).ok());
  }
  WorkerOptions wo;
  ASSERT_TRUE(app::RunWorkerPass(*s, wo).ok());
  auto healthy = app::LastIndexCheck(*s);
  ASSERT_TRUE(healthy.has_value()) << "the worker's first pass checks the index";
  EXPECT_TRUE(healthy->ok) << healthy->reason;
  EXPECT_EQ(s->store().GetMeta("collection")->value_or("kbindex"), "kbindex");

  index.mode = MisbehavingIndex::Mode::kEmpty;
  clock.Advance(25 * 3600 * 1000LL);  // a day later: due again
  ASSERT_TRUE(app::RunWorkerPass(*s, wo).ok());
  EXPECT_EQ(s->store().GetMeta("collection")->value_or(""), "kbindex__v2") << "rebuilt beside the active one";
  EXPECT_EQ(fake.Records("kbindex").size(), 0u) << "the broken collection was dropped";

  clock.Advance(3600 * 1000LL);  // still broken an hour later: reported, not rebuilt again
  ASSERT_TRUE(app::RunWorkerPass(*s, wo).ok());
  EXPECT_EQ(s->store().GetMeta("collection")->value_or(""), "kbindex__v2");
  auto last = app::LastIndexCheck(*s);
  ASSERT_TRUE(last.has_value());
  EXPECT_FALSE(last->ok);
}

// Misses without empty answers (many identical notes crowd HNSW) are reported, never rebuilt.
TEST(IndexCheckPolicyTest, MostlyMissedMatchesAreReportedNotRebuilt) {
  FakeVectorStore fake;
  MisbehavingIndex index{fake};
  ManualClock clock;
  auto s = test::OpenTestServices(index, Config{}, &clock);
  ASSERT_NE(s, nullptr);
  for (int i = 0; i < 20; ++i) {
    kbindex::NoteInput note;
    note.id = "n" + std::to_string(i);
    note.body = "note " + std::to_string(i) + " about subject" + std::to_string(i * 13);
    ASSERT_TRUE(app::PutNote(*s, note).ok());
  }
  index.mode = MisbehavingIndex::Mode::kSomeoneElse;
  ASSERT_TRUE(app::RunWorkerPass(*s, WorkerOptions{}).ok());
  auto last = app::LastIndexCheck(*s);
  ASSERT_TRUE(last.has_value());
  EXPECT_FALSE(last->ok);
  EXPECT_EQ(s->store().GetMeta("collection")->value_or("kbindex"), "kbindex");
}

}  // namespace
}  // namespace kb
