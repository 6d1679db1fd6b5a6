// The retry worker, re-index, the embedder switch and verify, against a real Chroma.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "integration/harness.h"
#include "search/semantic_index.h"
#include "support/process.h"
#include "sync/reindex.h"
#include "sync/verifier.h"
#include "worker/retry_worker.h"

namespace kb {
namespace {

using json = nlohmann::json;
using test::FaultProxy;
using test::Harness;

// Many small documents, quickly (no files).
void PutSynthetic(DocumentStore& store, int n, const std::string& salt = "") {
  std::vector<DocumentInput> batch;
  for (int i = 0; i < n; ++i) {
    DocumentInput d;
    d.id = "notes:s" + std::to_string(i) + ".md";
    d.source = "notes";
    d.path = "s" + std::to_string(i) + ".md";
    d.title = "Synthetic " + std::to_string(i);
    d.body = "topic" + std::to_string(i % 37) + " lantern harbour " + std::to_string(i) + " " + salt;
    d.content_hash = "h" + std::to_string(i) + salt;
    batch.push_back(std::move(d));
    if (batch.size() == 500) {
      ASSERT_TRUE(store.PutDocuments(batch).ok());
      batch.clear();
    }
  }
  ASSERT_TRUE(store.PutDocuments(batch).ok());
}

TEST(WorkerIntegrationTest, OnePassAfterAnOutageSyncsEverythingInBatchesOfFifty) {
  Harness h(/*with_proxy=*/true);
  ASSERT_TRUE(h.ready());
  h.options.backoff_base_ms = 1;  // the test's "short interval"
  h.chroma.server().Stop();
  h.WriteNotes(200, 1);
  h.Scan();
  SyncReport index = h.Sync();
  EXPECT_EQ(index.failed, 200);
  EXPECT_EQ(h.store->Stats(3)->failed, 200);

  ASSERT_TRUE(h.chroma.server().Restart().ok());
  h.ResetEngine();
  WorkerOptions wo;
  wo.batch = 50;
  RetryWorker worker(*h.store, h.Engine(), *h.client, wo);
  const size_t runs_before = h.store->RecentSyncRuns(1000)->size();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // past the 1 ms backoff
  const int upserts_before = h.proxy->Requests("/upsert");
  SyncReport pass = worker.RunOnce();
  EXPECT_EQ(pass.synced, 200);
  EXPECT_EQ(pass.batches, 4);
  EXPECT_LE(pass.max_batch_docs, 50);
  EXPECT_EQ(h.proxy->Requests("/upsert") - upserts_before, 4);  // 4 requests of <= 50 documents
  EXPECT_EQ(h.store->RecentSyncRuns(1000)->size(), runs_before + 1);
  auto last = *h.store->LastSyncRun();
  EXPECT_EQ(last->kind, "worker");
  EXPECT_EQ(last->synced, 200);
  EXPECT_TRUE(h.Inv());
}

TEST(WorkerIntegrationTest, ADocumentChromaRejectsStopsAfterThreeAttempts) {
  Harness h(/*with_proxy=*/true);
  ASSERT_TRUE(h.ready());
  h.options.backoff_base_ms = 1;
  h.WriteNotes(20, 1);
  h.Scan();
  ASSERT_TRUE(h.Engine().Prepare().ok());
  h.proxy->Inject(FaultProxy::Fault::kReturn400, -1, "body:notes:n7.md#");
  WorkerOptions wo;
  RetryWorker worker(*h.store, h.Engine(), *h.client, wo);
  int attempted_n7 = 0;
  for (int pass = 0; pass < 6; ++pass) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    SyncReport r = worker.RunOnce();
    if (pass == 0) {
      EXPECT_EQ(r.synced, 19);  // bisected: only n7 fails
    }
    attempted_n7 += r.failed;
  }
  EXPECT_EQ(attempted_n7, 3);
  Document d = h.Get("n7.md");
  EXPECT_EQ(d.sync_status, SyncStatus::kFailed);
  EXPECT_EQ(d.sync_attempts, 3);
  EXPECT_NE(d.sync_error.value_or("").find("injected 400"), std::string::npos);
  EXPECT_EQ(h.store->Stats(3)->exhausted, 1);
}

TEST(ReindexIntegrationTest, SearchNeverSeesAnEmptyCollectionDuringReindex) {
  Harness h;
  ASSERT_TRUE(h.ready());
  PutSynthetic(*h.store, 3000);
  ASSERT_EQ(h.Sync().synced, 3000);
  auto searcher_client = h.chroma.Client();
  SemanticIndex index(*h.store, *searcher_client, h.embedder, nullptr, h.options.chunker, "kbindex");
  std::atomic<bool> done{false};
  std::atomic<int> queries{0}, empty{0}, errors{0};
  std::thread searcher([&] {
    while (!done) {
      auto hits = index.Search("lantern harbour topic5", 5, "");
      ++queries;
      if (!hits.ok()) {
        ++errors;
      } else if (hits->empty()) {
        ++empty;
      }
    }
  });
  h.ResetEngine();
  h.options.max_batch_records = 300;  // many batches, so the searcher runs throughout
  auto r = ReindexInPlace(*h.store, *h.client, h.Engine());
  done = true;
  searcher.join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->documents, 3000);
  EXPECT_GT(queries.load(), 5);
  EXPECT_EQ(empty.load(), 0);
  EXPECT_EQ(errors.load(), 0);
  auto v = Verify(*h.store, *h.direct, h.Collection());
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->converged());
  EXPECT_EQ(v->vector_chunks, 3000);
  EXPECT_TRUE(h.store->CheckIntegrity().ok());
}

TEST(ReindexIntegrationTest, EmbedderSwitchKeepsSemanticSearchAnsweringAndDropsTheOld) {
  Harness h;
  ASSERT_TRUE(h.ready());
  PutSynthetic(*h.store, 1000);
  ASSERT_EQ(h.Sync().synced, 1000);
  auto searcher_client = h.chroma.Client();
  // Follows the database's embedder (used by the searcher thread only).
  std::map<std::string, std::unique_ptr<Embedder>> made;
  EmbedderResolver follow = [&made](const std::string& id) -> Result<Embedder*> {
    auto& e = made[id];
    if (!e) {
      KB_ASSIGN_OR_RETURN(e, MakeEmbedderForId(id, EmbedderSpec{}));
    }
    return e.get();
  };
  SemanticIndex index(*h.store, *searcher_client, h.embedder, follow, h.options.chunker, "kbindex");  // hash-v1:384
  auto before = index.Search("lantern harbour topic5", 5, "");
  ASSERT_TRUE(before.ok() && !before->empty());

  std::atomic<bool> done{false};
  std::atomic<int> queries{0}, bad{0};
  std::string first_problem;
  std::mutex mu;
  std::thread searcher([&] {
    while (!done) {
      auto hits = index.Search("lantern harbour topic5", 5, "");
      ++queries;
      if (!hits.ok() || hits->empty()) {
        ++bad;
        std::lock_guard lock(mu);
        if (first_problem.empty()) first_problem = hits.ok() ? "empty" : hits.status().ToString();
      }
    }
  });
  HashEmbedder next(256);
  SyncOptions base = h.options;
  base.max_batch_records = 100;
  std::atomic<int> during{0};
  ReindexOptions ro;
  ro.before_switch = [&] { during = queries.load(); };
  auto r = SwitchEmbedder(*h.store, *h.client, next, base, ro);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // some queries after the switch
  done = true;
  searcher.join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->switched);
  EXPECT_GT(during.load(), 0);
  EXPECT_GT(queries.load(), during.load());
  EXPECT_EQ(bad.load(), 0) << first_problem;
  EXPECT_FALSE(h.direct->GetCollection("kbindex")->has_value());  // the old one is gone
  auto now = h.direct->GetCollection("kbindex__v2");
  ASSERT_TRUE(now.ok() && now->has_value());
  EXPECT_EQ(h.direct->Count(**now).value_or(0), 1000);
  EXPECT_EQ(h.store->GetMeta("embedder")->value_or(""), "hash-v1:256");
  auto after = index.Search("lantern harbour topic5", 5, "");
  ASSERT_TRUE(after.ok() && !after->empty());
  EXPECT_TRUE(test::Invariant(*h.store, *h.direct, "kbindex__v2"));
}

TEST(VerifyIntegrationTest, FindsAndRepairsDriftMadeBehindKbindexsBack) {
  Harness h;
  ASSERT_TRUE(h.ready());
  h.WriteNotes(10, 2);
  h.Scan();
  ASSERT_EQ(h.Sync().synced, 10);
  CollectionRef c = h.Collection();
  std::vector<std::string> gone{"notes:n4.md#1"};
  ASSERT_TRUE(h.direct->Delete(c, gone).ok());
  VectorRecord orphan;
  orphan.id = "notes:never-existed.md#0";
  orphan.embedding.assign(384, 0.05f);
  std::vector<VectorRecord> add{orphan};
  ASSERT_TRUE(h.direct->Upsert(c, add).ok());

  // Through the CLI: verify reports, --repair fixes.
  std::map<std::string, std::string> env{{"KBINDEX_DB", h.dir / "kb.db"}, {"KBINDEX_CHROMA_URL", h.chroma.url()}};
  auto check = test::Kbindex({"verify", "--json"}, env);
  EXPECT_EQ(check.exit_code, 1) << check.err;
  auto j = json::parse(check.out);
  EXPECT_EQ(j["before"]["missing"], 1);
  EXPECT_EQ(j["before"]["orphans"], 1);
  EXPECT_EQ(j["before"]["driftedDocuments"][0], "notes:n4.md");
  EXPECT_EQ(j["before"]["orphanSample"][0], "notes:never-existed.md#0");
  auto repair = test::Kbindex({"verify", "--repair", "--json"}, env);
  EXPECT_EQ(repair.exit_code, 0) << repair.out << repair.err;
  auto rj = json::parse(repair.out);
  EXPECT_EQ(rj["after"]["consistent"], true);
  EXPECT_EQ(rj["after"]["converged"], true);
  EXPECT_TRUE(h.Inv());
}

TEST(WorkerCliTest, SecondWorkerIsRefusedAndSigtermStopsCleanly) {
  Harness h;
  ASSERT_TRUE(h.ready());
  h.WriteNotes(30, 1);
  h.Scan();
  std::map<std::string, std::string> env{{"KBINDEX_DB", h.dir / "kb.db"}, {"KBINDEX_CHROMA_URL", h.chroma.url()}};
  const std::string log = h.dir / "worker.log";
  pid_t pid = test::Spawn({KBINDEX_BINARY, "worker", "--interval", "1"}, env, log);
  // Wait until the first pass synced everything.
  bool synced = false;
  for (int i = 0; i < 400 && !synced; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    synced = h.store->Stats(3)->synced == 30;
  }
  EXPECT_TRUE(synced) << test::ReadFile(log);
  auto second = test::Kbindex({"worker", "--once"}, env);
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("already running"), std::string::npos) << second.err;
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status)) << "killed by a signal instead of exiting";
  EXPECT_EQ(WEXITSTATUS(status), 0) << test::ReadFile(log);
  EXPECT_NE(test::ReadFile(log).find("worker stopped"), std::string::npos);
  // The lock went with it.
  EXPECT_EQ(test::Kbindex({"worker", "--once"}, env).exit_code, 0);
}

}  // namespace
}  // namespace kb
