#include "worker/retry_worker.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "embed/hash_embedder.h"
#include "support/fake_vector_store.h"
#include "support/temp_dir.h"
#include "worker/worker_lock.h"

namespace kb {
namespace {

class RetryWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions opt;
    opt.clock = &clock_;
    store_ = std::move(DocumentStore::Open(":memory:", opt)).value();
    SyncOptions so;
    so.backoff_base_ms = 1000;
    so.unreachable_retry_ms = 0;
    engine_ = std::make_unique<SyncEngine>(*store_, failing_, embedder_, so);
    WorkerOptions wo;
    wo.batch = 50;
    wo.interval_ms = 60'000;
    worker_ = std::make_unique<RetryWorker>(*store_, *engine_, failing_, wo);
  }
  void Put(int n, const std::string& prefix = "n") {
    std::vector<DocumentInput> docs;
    for (int i = 0; i < n; ++i) {
      DocumentInput d;
      d.id = "notes:" + prefix + std::to_string(i) + ".md";
      d.source = "notes";
      d.title = d.id;
      d.body = "body " + d.id;
      d.content_hash = "h-" + d.id;
      docs.push_back(d);
    }
    ASSERT_TRUE(store_->PutDocuments(docs).ok());
  }
  int64_t Runs() { return store_->RecentSyncRuns(1000)->size(); }

  ManualClock clock_;
  std::unique_ptr<DocumentStore> store_;
  test::FakeVectorStore fake_;
  test::FailingVectorStore failing_{fake_};
  HashEmbedder embedder_{32};
  std::unique_ptr<SyncEngine> engine_;
  std::unique_ptr<RetryWorker> worker_;
};

TEST_F(RetryWorkerTest, OnePassSyncsEverythingDueInBatchesOfFifty) {
  Put(120);
  clock_.Advance(10);
  SyncReport r = worker_->RunOnce();
  EXPECT_EQ(r.synced, 120);
  EXPECT_EQ(r.batches, 3);
  EXPECT_LE(r.max_batch_docs, 50);
  EXPECT_EQ(Runs(), 1);  // one sync_runs row per pass
  auto last = *store_->LastSyncRun();
  EXPECT_EQ(last->kind, "worker");
  EXPECT_EQ(last->synced, 120);
  EXPECT_EQ(last->batches, 3);
}

TEST_F(RetryWorkerTest, ChromaDownTouchesNoDocumentAndIsRecorded) {
  Put(10);
  failing_.SetDown(Status::Unavailable("Chroma at http://127.0.0.1:9 is not reachable"));
  SyncReport r = worker_->RunOnce();
  EXPECT_TRUE(r.unreachable);
  EXPECT_EQ(r.attempted, 0);
  auto d = **store_->Get("notes:n3.md");
  EXPECT_EQ(d.sync_status, SyncStatus::kPending);
  EXPECT_EQ(d.sync_attempts, 0);  // an outage does not use up attempts
  auto last = *store_->LastSyncRun();
  ASSERT_TRUE(last.has_value());
  EXPECT_NE(last->error.value_or("").find("unreachable"), std::string::npos);
  EXPECT_EQ(worker_->status().consecutive_errors, 1);
  failing_.SetDown(std::nullopt);
  clock_.Advance(10);
  EXPECT_EQ(worker_->RunOnce().synced, 10);
  EXPECT_EQ(worker_->status().consecutive_errors, 0);
}

TEST_F(RetryWorkerTest, PermanentFailureStopsAfterMaxAttemptsUntilRetried) {
  Put(5);
  fake_.reject_ids_containing = "n2.md";
  for (int pass = 1; pass <= 5; ++pass) {
    clock_.Advance(60'000);  // past any backoff
    worker_->RunOnce();
  }
  auto d = **store_->Get("notes:n2.md");
  EXPECT_EQ(d.sync_status, SyncStatus::kFailed);
  EXPECT_EQ(d.sync_attempts, 3);  // not 5: it stopped being retried
  auto stats = store_->Stats(3);
  EXPECT_EQ(stats->synced, 4);
  EXPECT_EQ(stats->exhausted, 1);
  // `kbindex retry` makes it due again.
  fake_.reject_ids_containing.clear();
  ASSERT_EQ(*store_->ResetFailed("notes:n2.md", false, 3), 1);
  clock_.Advance(10);
  EXPECT_EQ(worker_->RunOnce().synced, 1);
}

TEST_F(RetryWorkerTest, BackoffDelaysRetriesOfFailedDocuments) {
  Put(1);
  failing_.FailNextWrites(1, Status::RemoteTransient("HTTP 503", 503));
  clock_.Advance(10);
  EXPECT_EQ(worker_->RunOnce().failed, 1);
  clock_.Advance(500);  // backoff is 1000 ms after the first failure
  EXPECT_EQ(worker_->RunOnce().attempted, 0);
  clock_.Advance(600);
  EXPECT_EQ(worker_->RunOnce().synced, 1);
}

TEST_F(RetryWorkerTest, LoopRunsOnTriggerAndStopsCleanly) {
  Put(3);
  worker_->Start();
  auto wait_for = [&](auto pred) {
    for (int i = 0; i < 2000 && !pred(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return pred();
  };
  ASSERT_TRUE(wait_for([&] { return worker_->status().passes >= 1; }));
  EXPECT_EQ(store_->Stats(3)->synced, 3);
  Put(2, "late");
  worker_->Trigger();
  ASSERT_TRUE(wait_for([&] { return store_->Stats(3)->synced == 5; }));
  worker_->Stop();
  EXPECT_FALSE(worker_->status().running);
  worker_->Stop();  // idempotent
}

TEST_F(RetryWorkerTest, NotesWrittenInABurstGoToTheVectorStoreInOnePass) {
  worker_->Start();
  auto wait_for = [&](auto pred) {
    for (int i = 0; i < 2000 && !pred(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return pred();
  };
  ASSERT_TRUE(wait_for([&] { return worker_->status().passes >= 1; }));  // the first, empty pass
  const int upserts_before = fake_.upsert_calls.load();
  const int64_t passes_before = worker_->status().passes;
  // Ten notes, each written and announced on its own, 10 ms apart (an app saving a burst).
  for (int i = 0; i < 10; ++i) {
    Put(1, "burst" + std::to_string(i) + "-");
    worker_->Trigger();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // A pass is counted after its writes (and the after-pass hook): wait for both.
  ASSERT_TRUE(wait_for([&] {
    return store_->Stats(3)->synced == 10 && worker_->status().passes > passes_before;
  }));
  EXPECT_EQ(worker_->status().passes - passes_before, 1);
  EXPECT_EQ(fake_.upsert_calls.load() - upserts_before, 1);
  worker_->Stop();
}

TEST(WorkerLockTest, SecondWorkerOnTheSameDatabaseIsRefused) {
  test::TempDir dir;
  auto first = WorkerLock::Acquire(dir / "kb.db");
  ASSERT_TRUE(first.ok());
  auto second = WorkerLock::Acquire(dir / "kb.db");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kConflict);
  EXPECT_NE(second.status().message().find("already running"), std::string::npos);
  first->reset();
  EXPECT_TRUE(WorkerLock::Acquire(dir / "kb.db").ok());  // released with its owner
}

}  // namespace
}  // namespace kb
