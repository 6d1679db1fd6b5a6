// Several processes writing one database at once: WAL + busy_timeout + short BEGIN IMMEDIATE
// transactions mean none of them sees "database is locked".
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scan/scanner.h"
#include "store/document_store.h"
#include "support/temp_dir.h"

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

}  // namespace
}  // namespace kb
