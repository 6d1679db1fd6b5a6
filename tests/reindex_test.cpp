#include "sync/reindex.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "embed/hash_embedder.h"
#include "support/fake_vector_store.h"
#include "sync/verifier.h"

namespace kb {
namespace {

class ReindexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(DocumentStore::Open(":memory:")).value();
    options_.chunker.max_bytes = 100;
    for (int i = 0; i < 20; ++i) Put(i, "text " + std::to_string(i) + std::string(150, 'x'));
    SyncEngine engine(*store_, fake_, e384_, options_);
    engine.Run({});
  }
  void Put(int i, const std::string& body) {
    DocumentInput d;
    d.id = "notes:n" + std::to_string(i) + ".md";
    d.source = "notes";
    d.title = "t";
    d.body = body;
    d.content_hash = std::to_string(std::hash<std::string>{}(body));
    std::vector<DocumentInput> v{d};
    ASSERT_TRUE(store_->PutDocuments(v).ok());
  }
  std::unique_ptr<DocumentStore> store_;
  test::FakeVectorStore fake_;
  HashEmbedder e384_{384};
  HashEmbedder e64_{64};
  SyncOptions options_;
};

TEST_F(ReindexTest, InPlaceKeepsTheCollectionAndSweepsOrphans) {
  auto coll = *fake_.GetCollection("kbindex");  // optional<CollectionRef>
  const std::string id_before = coll->id;
  // An orphan someone else left in our collection.
  VectorRecord orphan;
  orphan.id = "notes:ghost.md#0";
  orphan.embedding.assign(384, 0.05f);
  std::vector<VectorRecord> v{orphan};
  ASSERT_TRUE(fake_.Upsert(*coll, v).ok());
  SyncEngine engine(*store_, fake_, e384_, options_);
  auto r = ReindexInPlace(*store_, fake_, engine);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->documents, 20);
  EXPECT_EQ(r->orphans_deleted, 1);
  EXPECT_EQ((*fake_.GetCollection("kbindex"))->id, id_before);  // never deleted
  auto verify = Verify(*store_, fake_, **fake_.GetCollection("kbindex"));
  EXPECT_TRUE(verify->converged());
}

TEST_F(ReindexTest, EmbedderSwitchBuildsBesideThenSwitchesAndDropsTheOld) {
  bool checked_during = false;
  ReindexOptions ro;
  ro.before_switch = [&] {
    // Until the switch the old collection is what search uses, and it is intact.
    EXPECT_EQ(store_->GetMeta("collection")->value_or(""), "kbindex");
    EXPECT_EQ(store_->GetMeta("embedder")->value_or(""), "hash-v1:384");
    EXPECT_TRUE((*fake_.GetCollection("kbindex")).has_value());
    EXPECT_EQ(fake_.Records("kbindex__v2").size(), fake_.Records("kbindex").size());
    checked_during = true;
  };
  auto r = SwitchEmbedder(*store_, fake_, e64_, options_, ro);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(checked_during);
  EXPECT_TRUE(r->switched);
  EXPECT_TRUE(r->dropped_previous);
  EXPECT_EQ(r->collection, "kbindex__v2");
  EXPECT_EQ(store_->GetMeta("embedder")->value_or(""), "hash-v1:64");
  EXPECT_FALSE((*fake_.GetCollection("kbindex")).has_value());
  auto recs = fake_.Records("kbindex__v2");
  ASSERT_FALSE(recs.empty());
  EXPECT_EQ(recs.begin()->second.embedding.size(), 64u);
  auto verify = Verify(*store_, fake_, **fake_.GetCollection("kbindex__v2"));
  EXPECT_TRUE(verify->converged()) << verify->missing.size() << " missing, " << verify->orphans.size() << " orphans";
  // The old embedder is now refused for writes...
  SyncEngine old_engine(*store_, fake_, e384_, options_);
  EXPECT_EQ(old_engine.Prepare().code(), Status::Code::kConflict);
  // ...and a second switch goes to __v3.
  auto again = SwitchEmbedder(*store_, fake_, e384_, options_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->collection, "kbindex__v3");
  EXPECT_FALSE((*fake_.GetCollection("kbindex__v2")).has_value());
}

TEST_F(ReindexTest, EditsAndDeletesDuringTheBuildAreCaughtUp) {
  int sends = 0;
  options_.before_send = [&](const std::vector<int64_t>&) {
    if (++sends == 1) {
      Put(3, "edited during the build");
      std::vector<std::string> gone{"notes:n5.md"};
      ASSERT_TRUE(store_->Tombstone(gone).ok());
    }
  };
  options_.max_batch_records = 10;
  auto r = SwitchEmbedder(*store_, fake_, e64_, options_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  options_.before_send = nullptr;
  auto verify = Verify(*store_, fake_, **fake_.GetCollection("kbindex__v2"));
  ASSERT_TRUE(verify.ok());
  EXPECT_TRUE(verify->consistent());
  EXPECT_EQ(verify->unsynced_rows, 0);
  EXPECT_FALSE(store_->Get("notes:n5.md")->has_value());
  auto recs = fake_.Records("kbindex__v2");
  EXPECT_EQ(recs.count("notes:n5.md#0"), 0u);
  const auto hash = (**store_->Get("notes:n3.md")).content_hash;
  EXPECT_EQ(nlohmann::json::parse(recs["notes:n3.md#0"].metadata_json)["content_hash"], hash);
}

TEST_F(ReindexTest, PassStartedBeforeASwitchCannotMarkRowsAfterIt) {
  // A worker (another engine) sends to the old collection; the switch happens before it marks.
  Put(1, "changed so the worker has work");
  SyncOptions worker_opts = options_;
  bool switched = false;
  worker_opts.before_mark = [&](const std::vector<int64_t>&) {
    if (switched) return;
    switched = true;
    ASSERT_TRUE(SwitchEmbedder(*store_, fake_, e64_, options_).ok());
  };
  SyncEngine worker(*store_, fake_, e384_, worker_opts);
  SyncReport r = worker.Run({});
  EXPECT_TRUE(switched);
  EXPECT_EQ(r.synced, 0);  // its outcome belonged to a collection no longer active
  auto verify = Verify(*store_, fake_, **fake_.GetCollection("kbindex__v2"));
  EXPECT_TRUE(verify->consistent());
}

}  // namespace
}  // namespace kb
