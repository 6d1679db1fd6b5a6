// Several processes writing one database at once: WAL + busy_timeout + short BEGIN IMMEDIATE
// transactions mean none of them sees "database is locked".
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "sync/chunk_records.h"
#include "app/maintenance.h"
#include "app/notes.h"
#include "app/search.h"
#include "scan/scanner.h"
#include "store/document_store.h"
#include "support/fake_vector_store.h"
#include "support/temp_dir.h"
#include "support/test_services.h"

namespace kb {
namespace {

TEST(ConcurrencyTest, TwoProcessesWriteTheSameDatabaseWithoutLockErrors) {
  test::TempDir dir;
  const std::string db = dir / "kb.db";
  { ASSERT_TRUE(DocumentStore::Open(db).ok()); }
  constexpr int kProcs = 3;
  constexpr int kBatches = 60;
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      StoreOptions opt;
      opt.busy_timeout_ms = 5000;
      auto s = DocumentStore::Open(db, opt);
      if (!s.ok()) ::_exit(10);
      for (int b = 0; b < kBatches; ++b) {
        std::vector<DocumentInput> docs;
        for (int i = 0; i < 20; ++i) {
          DocumentInput d;
          d.id = "p" + std::to_string(p) + ":" + std::to_string(b) + "-" + std::to_string(i);
          d.source = "p" + std::to_string(p);
          d.title = "t";
          d.body = "body " + d.id;
          d.content_hash = d.id;
          docs.push_back(d);
        }
        auto r = (*s)->PutDocuments(docs);
        if (!r.ok()) {
          std::fprintf(stderr, "child %d: %s\n", p, r.status().ToString().c_str());
          ::_exit(11);
        }
        // Interleave reads and status writes as the sync engine would.
        auto due = (*s)->DueForSync(DueQuery{});
        if (!due.ok()) ::_exit(12);
        std::vector<SyncOutcome> out;
        for (const auto& d : *due) out.push_back({SyncOutcome::Kind::kSynced, d.key, d.content_hash, 1});
        if (!(*s)->ApplySyncOutcomes(out).ok()) ::_exit(13);
      }
      ::_exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "a writer saw an error (see stderr)";
  }
  auto s = DocumentStore::Open(db);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->Stats(3)->live, kProcs * kBatches * 20);
  EXPECT_TRUE((*s)->CheckIntegrity().ok());
}

// One SyncEngine shared by the retry worker (passing back to back), reindex jobs (which rebind
// the engine while passes run), writers and readers. Run under ThreadSanitizer by
// `tools/test --tsan`; here it checks that everything converges.
TEST(EngineSharingTest, TheWorkerAndReindexJobsRunOnOneEngineAtOnce) {
  test::TempDir dir;
  test::FakeVectorStore fake;
  Config config;
  config.db_path = dir / "kb.db";
  auto s = test::OpenTestServices(fake, config);
  ASSERT_TRUE(s);
  constexpr int kNotes = 500;
  for (int i = 0; i < kNotes; ++i) {
    ASSERT_TRUE(app::PutNote(*s, {"n" + std::to_string(i), "", "# N" + std::to_string(i) + "\nbody " +
                                                                 std::to_string(i), "{}"}).ok());
  }
  WorkerOptions wo;
  wo.interval_ms = 1;  // passes back to back
  wo.batch = 25;
  ASSERT_TRUE(s->StartWorker(wo).ok());
  std::atomic<bool> done{false};
  std::atomic<int> rounds{0};
  std::thread writer([&] {
    for (int round = 0; !done; round = ++rounds) {
      const std::string id = "w" + std::to_string(round % 50);
      EXPECT_TRUE(app::PutNote(*s, {id, "", "# W\nround " + std::to_string(round), "{}"}).ok());
      kbindex::SearchRequest q;
      q.query = "body";
      EXPECT_TRUE(app::Search(*s, q).ok());
    }
  });
  for (int i = 0; i < 3; ++i) {
    auto r = app::Reindex(*s, {});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  }
  done = true;
  writer.join();
  s->StopWorker();
  auto last = app::SyncNow(*s, nullptr, "sync");
  ASSERT_TRUE(last.ok());
  auto v = app::Verify(*s, {});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->ok());
  EXPECT_EQ(v->before.unsynced_rows, 0);
  EXPECT_GT(rounds.load(), 0);
  const int rows = kNotes + std::min(rounds.load(), 50);
  EXPECT_EQ(v->before.rows, rows);
  auto records = fake.Records("kbindex");
  EXPECT_EQ(records.size() - records.count(kProbeId), static_cast<size_t>(rows));
}

}  // namespace
}  // namespace kb
