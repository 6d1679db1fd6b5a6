#include "sync/sync_engine.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "embed/hash_embedder.h"
#include "support/fake_vector_store.h"
#include "sync/chunk_records.h"
#include "sync/verifier.h"

namespace kb {
namespace {

using test::FailingVectorStore;
using test::FakeVectorStore;

class SyncEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions opt;
    opt.clock = &clock_;
    store_ = std::move(DocumentStore::Open(":memory:", opt)).value();
    options_.chunker.max_bytes = 200;
    options_.unreachable_retry_ms = 0;
  }
  SyncEngine& Engine() {
    if (!engine_) engine_ = std::make_unique<SyncEngine>(*store_, failing_, embedder_, options_);
    return *engine_;
  }
  void Put(const std::string& name, const std::string& body) {
    DocumentInput d;
    d.id = "notes:" + name;
    d.source = "notes";
    d.path = name;
    d.title = name;
    d.body = body;
    d.metadata_json = R"({"tags":["a","b"],"rating":4,"nested":{"x":1}})";
    d.content_hash = "h" + std::to_string(std::hash<std::string>{}(body));
    std::vector<DocumentInput> v{d};
    ASSERT_TRUE(store_->PutDocuments(v).ok());
  }
  Document Get(const std::string& name) { return **store_->Get("notes:" + name); }
  SyncReport Run(PassOptions pass = {}) {
    clock_.Advance(1000);
    return Engine().Run(pass);
  }
  std::map<std::string, FakeVectorStore::Stored> Chroma() { return fake_.Records("kbindex"); }

  ManualClock clock_;
  std::unique_ptr<DocumentStore> store_;
  FakeVectorStore fake_;
  FailingVectorStore failing_{fake_};
  HashEmbedder embedder_{64};
  SyncOptions options_;
  std::unique_ptr<SyncEngine> engine_;
};

std::string Paragraphs(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "## Part " + std::to_string(i) + "\n" + std::string(150, 'a' + i % 26) + "\n\n";
  return s;
}

TEST_F(SyncEngineTest, SyncsEveryDocumentWithChunkMetadata) {
  Put("a.md", "# A\nshort");
  Put("b.md", Paragraphs(3));
  SyncReport r = Run();
  EXPECT_EQ(r.synced, 2);
  EXPECT_EQ(r.failed, 0);
  auto recs = Chroma();
  const int b_chunks = Get("b.md").synced_chunks;
  EXPECT_EQ(b_chunks, 3);
  EXPECT_EQ(recs.size(), static_cast<size_t>(1 + b_chunks));
  ASSERT_TRUE(recs.count("notes:b.md#2"));
  auto meta = nlohmann::json::parse(recs["notes:b.md#2"].metadata_json);
  EXPECT_EQ(meta["doc_id"], "notes:b.md");
  EXPECT_EQ(meta["chunk"], 2);
  EXPECT_EQ(meta["content_hash"], Get("b.md").content_hash);
  EXPECT_EQ(meta["path"], "b.md");
  EXPECT_EQ(meta["source"], "notes");
  EXPECT_EQ(meta["heading"], "Part 2");
  EXPECT_EQ(meta["tags"], "a, b");  // lists joined
  EXPECT_EQ(meta["rating"], 4);
  EXPECT_FALSE(meta.contains("nested"));  // objects are not allowed by Chroma
  EXPECT_FALSE(recs["notes:b.md#0"].document.has_value());  // text not stored by default
  EXPECT_EQ(Get("a.md").sync_status, SyncStatus::kSynced);
  EXPECT_EQ(Get("a.md").synced_hash.value_or(""), Get("a.md").content_hash);
  auto last = store_->LastSyncRun();
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_EQ((*last)->synced, 2);
}

TEST_F(SyncEngineTest, StoreTextSendsChunkText) {
  options_.store_text = true;
  Put("a.md", "hello text");
  Run();
  EXPECT_EQ(Chroma()["notes:a.md#0"].document.value_or(""), "hello text");
}

TEST_F(SyncEngineTest, UnchangedDocumentsCauseNoVectorStoreCalls) {
  Put("a.md", "one");
  Run();
  const int calls = fake_.write_calls;
  Put("a.md", "one");  // same content
  SyncReport r = Run();
  EXPECT_EQ(r.attempted, 0);
  EXPECT_EQ(fake_.write_calls, calls);
}

TEST_F(SyncEngineTest, ShrinkDeletesStaleChunksAndEditUpdatesHash) {
  Put("b.md", Paragraphs(4));
  Run();
  EXPECT_EQ(Chroma().size(), 4u);
  Put("b.md", Paragraphs(2));
  Run();
  auto recs = Chroma();
  EXPECT_EQ(recs.size(), 2u);
  EXPECT_FALSE(recs.count("notes:b.md#2"));
  EXPECT_FALSE(recs.count("notes:b.md#3"));
  const std::string hash = Get("b.md").content_hash;
  for (const auto& [id, s] : recs) {
    EXPECT_EQ(nlohmann::json::parse(s.metadata_json)["content_hash"], hash) << id;
  }
}

TEST_F(SyncEngineTest, TombstonesAreDeletedRemotelyThenPurged) {
  Put("a.md", Paragraphs(2));
  Put("b.md", "keep");
  Run();
  std::vector<std::string> gone{"notes:a.md"};
  ASSERT_TRUE(store_->Tombstone(gone).ok());
  SyncReport r = Run();
  EXPECT_EQ(r.deleted, 1);
  EXPECT_EQ(Chroma().size(), 1u);
  EXPECT_FALSE(store_->Get("notes:a.md")->has_value());
}

TEST_F(SyncEngineTest, DownStoreFailsDocumentsWithReadableErrorAndLosesNothing) {
  failing_.SetDown(Status::Unavailable("Chroma at http://127.0.0.1:1 is not reachable"));
  for (int i = 0; i < 5; ++i) Put("n" + std::to_string(i) + ".md", "text " + std::to_string(i));
  SyncReport r = Run();
  EXPECT_EQ(r.failed, 5);
  for (int i = 0; i < 5; ++i) {
    Document d = Get("n" + std::to_string(i) + ".md");
    EXPECT_EQ(d.sync_status, SyncStatus::kFailed);
    EXPECT_EQ(d.sync_attempts, 1);
    EXPECT_NE(d.sync_error.value_or("").find("not reachable"), std::string::npos);
    EXPECT_EQ(d.body, "text " + std::to_string(i));  // still in SQLite
  }
  failing_.SetDown(std::nullopt);
  r = Run();
  EXPECT_EQ(r.synced, 5);
  EXPECT_EQ(Chroma().size(), 5u);
}

TEST_F(SyncEngineTest, OneFailingBatchDoesNotStopTheOthers) {
  options_.max_batch_records = 2;
  for (int i = 0; i < 6; ++i) Put("n" + std::to_string(i) + ".md", "text " + std::to_string(i));
  failing_.FailNextWrites(1, Status::RemoteTransient("HTTP 500", 500));
  SyncReport r = Run();
  EXPECT_EQ(r.batches, 3);
  EXPECT_EQ(r.failed, 2);
  EXPECT_EQ(r.synced, 4);
  int failed = 0;
  for (int i = 0; i < 6; ++i) failed += Get("n" + std::to_string(i) + ".md").sync_status == SyncStatus::kFailed;
  EXPECT_EQ(failed, 2);
}

TEST_F(SyncEngineTest, RejectedBatchIsBisectedToTheBadDocument) {
  for (int i = 0; i < 50; ++i) Put("n" + std::to_string(i) + ".md", "text " + std::to_string(i));
  fake_.reject_ids_containing = "n17.md";
  SyncReport r = Run();
  EXPECT_EQ(r.synced, 49);
  EXPECT_EQ(r.failed, 1);
  Document bad = Get("n17.md");
  EXPECT_EQ(bad.sync_status, SyncStatus::kFailed);
  EXPECT_NE(bad.sync_error.value_or("").find("rejected"), std::string::npos);
}

TEST_F(SyncEngineTest, DocumentEditedBetweenSendAndMarkIsNotMarkedWithTheOldHash) {
  Put("a.md", "version one");
  const std::string old_hash = Get("a.md").content_hash;
  bool edited = false;
  options_.before_mark = [&](const std::vector<int64_t>&) {
    if (!edited) Put("a.md", "version two");
    edited = true;
  };
  SyncReport r = Run();
  EXPECT_EQ(r.superseded, 1);  // the first outcome did not apply
  Document d = Get("a.md");
  EXPECT_EQ(d.body, "version two");
  EXPECT_NE(d.content_hash, old_hash);
  // Either still pending, or the same pass already re-sent the new version: never "synced"
  // with the hash that was overtaken.
  if (d.sync_status == SyncStatus::kSynced) {
    EXPECT_EQ(d.synced_hash.value_or(""), d.content_hash);
  }
  engine_.reset();
  options_.before_mark = nullptr;
  Run();
  d = Get("a.md");
  EXPECT_EQ(d.sync_status, SyncStatus::kSynced);
  EXPECT_EQ(nlohmann::json::parse(Chroma()["notes:a.md#0"].metadata_json)["content_hash"], d.content_hash);
}

TEST_F(SyncEngineTest, ReplyLostAfterWriteIsRetriedIdempotently) {
  Put("a.md", Paragraphs(3));
  failing_.FailNextWrites(1, Status::Unavailable("connection reset"), /*apply_first=*/true);
  SyncReport r = Run();
  EXPECT_EQ(r.failed, 1);
  EXPECT_EQ(Chroma().size(), 3u);  // the write landed, the reply did not
  EXPECT_EQ(Get("a.md").sync_status, SyncStatus::kFailed);
  r = Run();
  EXPECT_EQ(r.synced, 1);
  EXPECT_EQ(Chroma().size(), 3u);  // no duplicates
}

TEST_F(SyncEngineTest, CrashBetweenSendAndMarkLeavesNoOrphansAfterShrink) {
  // The chunks of a 4-chunk version reach the store, then the process "dies" before marking.
  Put("a.md", Paragraphs(1));
  Run();
  Put("a.md", Paragraphs(4));
  failing_.FailNextWrites(1, Status::Unavailable("killed"), /*apply_first=*/true);
  Run();
  EXPECT_EQ(Chroma().size(), 4u);
  // Later the note shrinks to 1 chunk: the high-water mark remembers chunks 1..3.
  Put("a.md", Paragraphs(1) + "x");
  Run();
  EXPECT_EQ(Chroma().size(), 1u);
}

TEST_F(SyncEngineTest, CollectionRecreatedBehindOurBackIsFullyReupserted) {
  for (int i = 0; i < 3; ++i) Put("n" + std::to_string(i) + ".md", "text " + std::to_string(i));
  Run();
  ASSERT_TRUE(fake_.DeleteCollection("kbindex").ok());
  // A new engine (next process) notices the new collection id at Prepare.
  engine_.reset();
  SyncReport r = Run();
  EXPECT_EQ(r.synced, 3);
  EXPECT_EQ(Chroma().size(), 3u);
  // Deleted while an engine is running: detected on the failed upsert.
  Put("n0.md", "changed");
  ASSERT_TRUE(fake_.DeleteCollection("kbindex").ok());
  r = Run();
  EXPECT_GE(Chroma().size(), 1u);  // at least what this pass had in hand went to the new one
  r = Run();                       // a later pass re-sends everything else
  EXPECT_EQ(Chroma().size(), 3u);
  EXPECT_EQ(store_->Stats(3)->synced, 3);
}

TEST_F(SyncEngineTest, DifferentEmbedderIsRefused) {
  Put("a.md", "x");
  Run();
  HashEmbedder other(128);
  SyncEngine engine(*store_, fake_, other, options_);
  Status st = engine.Prepare();
  EXPECT_EQ(st.code(), Status::Code::kConflict);
  EXPECT_NE(st.message().find("reindex --embedder"), std::string::npos);
}

TEST_F(SyncEngineTest, WorkerSizedBatchesAndStopFlag) {
  for (int i = 0; i < 120; ++i) Put("n" + std::to_string(i) + ".md", "t" + std::to_string(i));
  PassOptions pass;
  pass.batch_docs = 50;
  SyncReport r = Run(pass);
  EXPECT_EQ(r.synced, 120);
  EXPECT_EQ(r.batches, 3);
  EXPECT_LE(r.max_batch_docs, 50);

  for (int i = 0; i < 120; ++i) Put("n" + std::to_string(i) + ".md", "changed " + std::to_string(i));
  std::atomic<bool> stop{false};
  pass.stop = &stop;
  options_.before_send = [&](const std::vector<int64_t>&) { stop = true; };
  engine_.reset();
  r = Run(pass);
  EXPECT_TRUE(r.stopped);
  EXPECT_LT(r.attempted, 120);  // finished the batch in hand, did not take the rest
  EXPECT_GT(store_->Stats(3)->pending, 0);
}

// Found by ReliabilityTest.Scenario10: a note deleted and re-created while the delete of its old
// version was in flight. A second pass upserted the new version, then the old delete landed:
// SQLite said synced, Chroma had nothing. The send lease keeps the second pass off the document
// until the first records its outcome.
TEST_F(SyncEngineTest, NoSecondVersionIsSentWhileOneIsInFlight) {
  Put("a.md", "first version");
  Run();
  std::vector<std::string> gone{"notes:a.md"};
  ASSERT_TRUE(store_->Tombstone(gone).ok());
  SyncOptions second_opts = options_;
  SyncEngine second(*store_, failing_, embedder_, second_opts);
  bool raced = false;
  SyncReport second_report;
  options_.before_send = [&](const std::vector<int64_t>&) {
    if (raced) return;
    raced = true;
    Put("a.md", "second version");  // restored while the delete is about to go out
    clock_.Advance(10);
    second_report = second.Run({});
  };
  engine_.reset();
  Run();
  ASSERT_TRUE(raced);
  EXPECT_EQ(second_report.attempted, 0) << "the second pass must not touch a document in flight";
  engine_.reset();
  options_.before_send = nullptr;
  Run();  // now the new version goes out
  auto coll = *fake_.GetCollection("kbindex");
  auto v = Verify(*store_, fake_, *coll);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->converged()) << v->missing.size() << " missing";
  EXPECT_EQ(Get("a.md").sync_status, SyncStatus::kSynced);
  EXPECT_EQ(Chroma().count("notes:a.md#0"), 1u);
}

TEST_F(SyncEngineTest, InvalidUtf8DocumentFailsAloneWithAReason) {
  Put("good.md", "fine");
  DocumentInput bad;
  bad.id = "api:bad";
  bad.source = "api";
  bad.title = "bad";
  bad.body = std::string("broken \xff text");
  bad.content_hash = "hb";
  std::vector<DocumentInput> v{bad};
  ASSERT_TRUE(store_->PutDocuments(v).ok());
  SyncReport r = Run();
  EXPECT_EQ(r.synced, 1);
  EXPECT_EQ(r.failed, 1);
  auto d = **store_->Get("api:bad");
  EXPECT_EQ(d.sync_status, SyncStatus::kFailed);
  EXPECT_NE(d.sync_error.value_or("").find("UTF-8"), std::string::npos);
}

}  // namespace
}  // namespace kb

namespace kb {
namespace {

// A note of one line repeated thousands of times: Chroma 1.0's HNSW index degrades on thousands of
// identical vectors, so identical chunks go out once, each standing for all its places.
TEST_F(SyncEngineTest, IdenticalChunksAreSentOnceAndSayHowManyPlacesTheyStandFor) {
  std::string body;
  for (int i = 0; i < 400; ++i) body += "the same line, again and again\n\n";
  Put("repeat.md", body);
  const SyncReport r = Run();
  ASSERT_EQ(r.synced, 1);
  auto records = Chroma();
  ASSERT_LE(records.size(), 3u) << "identical chunks were sent more than once";
  int copies = 0;
  for (const auto& [id, rec] : records) {
    auto meta = nlohmann::json::parse(rec.metadata_json);
    copies += meta.value("copies", 1);
  }
  const size_t all_chunks = ChunkFor(Get("repeat.md"), options_.chunker).size();
  EXPECT_GT(all_chunks, 20u);
  EXPECT_EQ(static_cast<size_t>(copies), all_chunks) << "the records must account for every chunk";
  EXPECT_EQ(Get("repeat.md").synced_chunks, static_cast<int>(records.size()));
}

TEST_F(SyncEngineTest, AChunkCapKeepsTheFirstChunksAndRecordsWhy) {
  options_.chunker.max_chunks = 5;
  Put("long.md", Paragraphs(40));
  ASSERT_EQ(Run().synced, 1);
  EXPECT_EQ(Chroma().size(), 5u);
  const Document d = Get("long.md");
  ASSERT_TRUE(d.sync_notice.has_value());
  EXPECT_NE(d.sync_notice->find("max_chunks_per_document"), std::string::npos) << *d.sync_notice;
  auto stats = store_->Stats(3);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->partial, 1);
  // Shortened below the cap: whole again, and the notice goes.
  Put("long.md", Paragraphs(3));
  ASSERT_EQ(Run().synced, 1);
  EXPECT_FALSE(Get("long.md").sync_notice.has_value());
  EXPECT_EQ(store_->Stats(3)->partial, 0);
}

}  // namespace
}  // namespace kb
