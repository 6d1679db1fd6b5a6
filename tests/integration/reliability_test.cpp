// Reliability: things break on purpose, and every scenario ends with INV (tests/support/
// invariant.h): one live row per file, every row synced, Chroma holding exactly the expected
// chunk ids with the rows' hashes, SQLite and FTS5 integrity checks passing.
// Scenarios 1 and 6 live in worker_test.cpp / sync_test.cpp (see the README's table).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "integration/harness.h"
#include "support/process.h"
#include "support/serve_client.h"
#include "worker/retry_worker.h"

namespace kb {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using test::FaultProxy;
using test::Harness;

bool LongTests() { return std::getenv("KBINDEX_LONG_TESTS") != nullptr; }

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// A worker pass as the retry worker runs it (backoff already elapsed in these tests).
SyncReport WorkerPass(Harness& h) {
  WorkerOptions wo;
  RetryWorker worker(*h.store, h.Engine(), *h.client, wo);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return worker.RunOnce();
}

// ---- 2. Chroma killed (kill -9) in the middle of a sync, restarted -> INV after a worker pass.
TEST(ReliabilityTest, Scenario02_ChromaKilledMidSync) {
  Harness h;
  ASSERT_TRUE(h.ready());
  h.options.max_batch_records = 20;
  h.options.backoff_base_ms = 1;
  h.WriteNotes(120, 2);
  h.Scan();
  int batches = 0;
  h.options.before_send = [&](const std::vector<int64_t>&) {
    if (++batches == 4) h.chroma.server().Kill();
  };
  SyncReport r = h.Sync();
  EXPECT_GT(r.failed, 0);
  EXPECT_GT(r.synced, 0);
  ASSERT_TRUE(h.chroma.server().Restart().ok());
  h.options.before_send = nullptr;
  h.ResetEngine();
  WorkerPass(h);
  EXPECT_TRUE(h.Inv());
}

// ---- 3. kbindex killed with kill -9 at 30+ points during index + sync -> re-run -> INV.
TEST(ReliabilityTest, Scenario03_KbindexKilledAtRandomPoints) {
  Harness h;
  ASSERT_TRUE(h.ready());
  const unsigned seed = static_cast<unsigned>(std::random_device{}());
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  h.WriteNotes(120, 2);
  const std::map<std::string, std::string> env{{"KBINDEX_DB", h.dir / "kb.db"},
                                               {"KBINDEX_CHROMA_URL", h.chroma.url()}};
  const std::vector<std::string> index{KBINDEX_BINARY, "-q", "--chunk-size", "400", "--backoff-ms", "1",
                                       "index", h.notes};
  const char* points[] = {"scan-commit:1", "before-send:1", "before-mark:1", "before-mark:2", "after-mark:1"};
  int kills = 0, crash_points_hit = 0;
  for (int round = 0; round < 36; ++round) {
    // Change the folder between runs: edits that grow and shrink notes, deletes, additions.
    std::uniform_int_distribution<int> pick(0, 119), sections(1, 4);
    for (int k = 0; k < 6; ++k) {
      const int n = pick(rng);
      h.Write("n" + std::to_string(n) + ".md", Harness::Note("Note " + std::to_string(n), sections(rng), std::to_string(round)));
    }
    if (round % 4 == 1) std::filesystem::remove(h.notes + "/n" + std::to_string(pick(rng)) + ".md");
    if (round % 4 == 2) h.Write("new" + std::to_string(round) + ".md", Harness::Note("New", 2));
    auto crash_env = env;
    if (round % 3 == 0) crash_env["KBINDEX_CRASH_AT"] = points[(round / 3) % 5];
    const pid_t pid = test::Spawn(index, crash_env, h.dir / "runs.log");
    if (round % 3 != 0) {
      std::uniform_int_distribution<int> delay_ms(0, 350);
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
      if (::kill(pid, SIGKILL) == 0) ++kills;
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (round % 3 == 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ++crash_points_hit;
    // Never anything but a clean exit or our SIGKILL: no crash of its own.
    EXPECT_TRUE(WIFEXITED(status) || (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
        << "round " << round << " status " << status;
  }
  EXPECT_GE(kills + crash_points_hit, 30);
  EXPECT_GE(crash_points_hit, 8);  // including between Chroma's reply and the synced commit
  // Re-run without faults: index, then a worker pass for anything that failed along the way.
  auto final_run = test::Run(index, env);
  EXPECT_TRUE(final_run.exit_code == 0 || final_run.exit_code == 1) << final_run.err;
  auto worker = test::Kbindex({"--backoff-ms", "1", "worker", "--once"}, env);
  EXPECT_EQ(worker.exit_code, 0) << worker.out << worker.err;
  h.store = std::move(DocumentStore::Open(h.dir / "kb.db")).value();
  EXPECT_TRUE(h.Inv());  // exact chunk ids in Chroma: no duplicates, no orphans
}

// ---- 4. The reply is lost after Chroma applied the write -> not synced; the retry is idempotent.
TEST(ReliabilityTest, Scenario04_ReplyLostAfterTheWrite) {
  struct Case {
    FaultProxy::Fault fault;
    int delay_ms;
    const char* name;
  };
  for (Case c : {Case{FaultProxy::Fault::kSwallowResponse, 0, "swallowed"},
                 Case{FaultProxy::Fault::kReset, 0, "reset"},
                 Case{FaultProxy::Fault::kReturn500, 0, "500"},
                 Case{FaultProxy::Fault::kDelay, 2500, "delayed past the timeout"}}) {
    SCOPED_TRACE(c.name);
    Harness h(/*with_proxy=*/true);
    ASSERT_TRUE(h.ready());
    h.client = h.chroma.Client(1000, h.proxy->url());  // a 1 s request timeout
    h.options.backoff_base_ms = 1;
    h.WriteNotes(30, 2);
    h.Scan();
    ASSERT_TRUE(h.Engine().Prepare().ok());
    h.proxy->Inject(c.fault, 1, "/upsert", c.delay_ms);
    SyncReport r = h.Sync();
    EXPECT_EQ(r.synced, 0);
    EXPECT_EQ(r.failed, 30);
    EXPECT_EQ(h.store->Stats(3)->synced, 0);  // a lost reply never counts as synced
    if (c.fault == FaultProxy::Fault::kSwallowResponse) {
      EXPECT_EQ(h.ChromaCount(), 60);  // the write was applied; only the reply was lost
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(c.delay_ms + 100));  // let a late write land
    h.proxy->Clear();
    h.ResetEngine();
    EXPECT_EQ(WorkerPass(h).synced, 30);
    EXPECT_TRUE(h.Inv());
  }
}

// ---- 5. Chroma that accepts connections and never answers.
TEST(ReliabilityTest, Scenario05_ChromaNeverAnswers) {
  Harness h(/*with_proxy=*/true);
  ASSERT_TRUE(h.ready());
  h.client = h.chroma.Client(1500, h.proxy->url());
  h.options.max_batch_records = 10;
  h.options.unreachable_retry_ms = 10'000;  // as configured by default: fail fast after a timeout
  h.options.backoff_base_ms = 1;
  h.WriteNotes(40, 1);
  h.Scan();
  ASSERT_TRUE(h.Engine().Prepare().ok());
  h.proxy->Inject(FaultProxy::Fault::kBlackHole, -1);
  const auto t0 = std::chrono::steady_clock::now();
  SyncReport r = h.Sync();
  const double took = Seconds(t0);
  EXPECT_EQ(r.failed, 40);
  EXPECT_LT(took, 4.0) << "the sync must give up within its configured limit (1.5 s per request)";
  EXPECT_NE(h.Get("n3.md").sync_error.value_or("").find("no answer within 1500 ms"), std::string::npos)
      << h.Get("n3.md").sync_error.value_or("");
  // stats answers at once while Chroma hangs.
  const auto t1 = std::chrono::steady_clock::now();
  auto stats = test::Kbindex({"--db", h.dir / "kb.db", "--chroma-url", h.proxy->url(), "stats", "--json"});
  EXPECT_LT(Seconds(t1), 2.5);
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  auto sj = json::parse(stats.out);
  EXPECT_EQ(sj["chroma"]["reachable"], false);
  EXPECT_EQ(sj["sync"]["failed"], 40);
  // Later, Chroma answers again.
  h.proxy->Clear();
  h.ResetEngine();
  h.client = h.chroma.Client(10'000, h.proxy->url());
  h.ResetEngine();
  EXPECT_EQ(WorkerPass(h).synced, 40);
  EXPECT_TRUE(h.Inv());
}

// ---- 7. The collection is deleted behind kbindex's back -> detected, recreated, re-upserted.
TEST(ReliabilityTest, Scenario07_CollectionDeletedBehindOurBack) {
  Harness h;
  ASSERT_TRUE(h.ready());
  h.WriteNotes(25, 2);
  h.Scan();
  ASSERT_EQ(h.Sync().synced, 25);
  // Between runs (the next process notices at start)...
  ASSERT_TRUE(h.direct->DeleteCollection("kbindex").ok());
  h.ResetEngine();
  WorkerPass(h);
  EXPECT_TRUE(h.Inv());
  // ...and while an engine is running (noticed on the failed write).
  h.Write("n1.md", Harness::Note("Note 1", 3, "edited"));
  h.Scan();
  ASSERT_TRUE(h.direct->DeleteCollection("kbindex").ok());
  h.Sync();
  WorkerPass(h);
  EXPECT_TRUE(h.Inv());
}

// ---- 8. Disk full (the database on a tiny tmpfs) -> a clean error, no partial rows; with space -> INV.
TEST(ReliabilityTest, Scenario08_DiskFull) {
  Harness h;
  ASSERT_TRUE(h.ready());
  const std::string fsdir = h.dir / "tmpfs";
  fs::create_directories(fsdir);
  ASSERT_EQ(::mount("tmpfs", fsdir.c_str(), "tmpfs", 0, "size=1m"), 0)
      << "mounting a tmpfs needs root (CAP_SYS_ADMIN): " << std::strerror(errno);
  struct Unmount {
    std::string dir;
    ~Unmount() { ::umount2(dir.c_str(), MNT_DETACH); }
  } unmount{fsdir};
  h.WriteNotes(1500, 3);  // ~3 MB of text: text + FTS5 index cannot fit in 1 MB
  const std::string db = fsdir + "/kb.db";
  const std::map<std::string, std::string> env{{"KBINDEX_DB", db}, {"KBINDEX_CHROMA_URL", h.chroma.url()}};
  auto full = test::Kbindex({"index", h.notes}, env);
  EXPECT_EQ(full.exit_code, 1);
  EXPECT_NE(full.err.find("full"), std::string::npos) << full.err;
  {
    // Whatever was committed is whole: integrity checks pass, every live row has its text.
    auto s = DocumentStore::Open(db);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_TRUE((*s)->CheckIntegrity().ok()) << (*s)->CheckIntegrity().ToString();
    SQLite::Database raw(db, SQLite::OPEN_READONLY);
    EXPECT_EQ(raw.execAndGet("SELECT count(*) FROM documents d WHERE deleted_at IS NULL AND NOT EXISTS "
                             "(SELECT 1 FROM document_text t WHERE t.doc_key = d.doc_key)").getInt(), 0);
  }
  ASSERT_EQ(::mount("tmpfs", fsdir.c_str(), "tmpfs", MS_REMOUNT, "size=64m"), 0) << std::strerror(errno);
  auto again = test::Kbindex({"index", h.notes}, env);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  h.store = std::move(DocumentStore::Open(db)).value();
  EXPECT_TRUE(h.Inv());
}

// ---- 9. I/O errors injected into kbindex (libfiu) at rising probability -> clean errors only.
TEST(ReliabilityTest, Scenario09_InjectedIoErrors) {
  Harness h;
  ASSERT_TRUE(h.ready());
  ASSERT_EQ(test::Run({"fiu-run", "-x", "true"}).exit_code, 0) << "fiu-run (Debian fiu-utils) is required";
  h.WriteNotes(150, 2);
  const std::map<std::string, std::string> env{{"KBINDEX_DB", h.dir / "kb.db"}, {"KBINDEX_CHROMA_URL", h.chroma.url()}};
  int failures_seen = 0;
  for (const char* p : {"0.001", "0.005", "0.02", "0.05", "0.2"}) {
    for (int rep = 0; rep < 3; ++rep) {
      // Touch a few notes so every run has writes to make.
      for (int k = 0; k < 10; ++k) {
        h.Write("n" + std::to_string((rep * 10 + k) % 150) + ".md", Harness::Note("Note", 2, std::string(p) + std::to_string(rep)));
      }
      auto r = test::Run({"fiu-run", "-x", "-c", std::string("enable_random name=posix/io/rw/*,probability=") + p,
                          KBINDEX_BINARY, "-q", "--backoff-ms", "1", "index", h.notes},
                         env);
      EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1)
          << "p=" << p << ": exit " << r.exit_code << " (a crash, not a clean error)\n" << r.err;
      if (r.exit_code == 1) ++failures_seen;
      auto s = DocumentStore::Open(h.dir / "kb.db");
      ASSERT_TRUE(s.ok()) << "p=" << p << ": " << s.status().ToString();
      EXPECT_TRUE((*s)->CheckIntegrity().ok()) << "p=" << p << ": " << (*s)->CheckIntegrity().ToString();
    }
  }
  EXPECT_GT(failures_seen, 0) << "no run saw an injected error: the injection is not working";
  auto clean = test::Kbindex({"--backoff-ms", "1", "index", h.notes}, env);
  auto worker = test::Kbindex({"--backoff-ms", "1", "worker", "--once"}, env);
  EXPECT_EQ(worker.exit_code, 0) << worker.err;
  h.store = std::move(DocumentStore::Open(h.dir / "kb.db")).value();
  EXPECT_TRUE(h.Inv());
}

// ---- 10. Indexer, worker and API processes on one database, plus a long reader.
TEST(ReliabilityTest, Scenario10_ThreeProcessesAndALongReader) {
  Harness h;
  ASSERT_TRUE(h.ready());
  const double duration = LongTests() ? 60.0 : 10.0;
  h.WriteNotes(80, 2);
  const std::string db = h.dir / "kb.db";
  const std::map<std::string, std::string> env{{"KBINDEX_DB", db}, {"KBINDEX_CHROMA_URL", h.chroma.url()}};
  ASSERT_EQ(test::Kbindex({"index", h.notes}, env).exit_code, 0);
  const int port = LocalChroma::FreePort();
  const pid_t api = test::Spawn({KBINDEX_BINARY, "serve", "--no-worker", "--port", std::to_string(port)}, env, h.dir / "api.log");
  const pid_t worker = test::Spawn({KBINDEX_BINARY, "--backoff-ms", "1", "worker", "--interval", "1"}, env, h.dir / "worker.log");
  httplib::Client client("127.0.0.1", port);
  ASSERT_FALSE(test::ConnectToServe(client, h.dir / "api-token", h.dir / "api.log").empty());

  std::atomic<bool> stop{false};
  std::atomic<int> index_runs{0}, api_calls{0}, api_errors{0}, reader_txs{0};
  std::string problems;
  std::mutex mu;
  auto note = [&](const std::string& what) {
    std::lock_guard lock(mu);
    problems += what + "\n";
  };
  std::thread indexer([&] {
    std::mt19937 rng(1);
    int round = 0;
    while (!stop) {
      for (int k = 0; k < 5; ++k) {
        const int n = static_cast<int>(rng() % 80);
        h.Write("n" + std::to_string(n) + ".md", Harness::Note("Note " + std::to_string(n), 1 + static_cast<int>(rng() % 3), std::to_string(round)));
      }
      auto r = test::Kbindex({"index", h.notes}, env);
      ++index_runs;
      ++round;
      if (r.exit_code != 0 || r.err.find("locked") != std::string::npos || r.err.find("busy") != std::string::npos) {
        note("index exit " + std::to_string(r.exit_code) + ": " + r.err);
      }
    }
  });
  std::thread api_client([&] {
    int i = 0;
    while (!stop) {
      const std::string id = "api-" + std::to_string(i % 20);
      auto put = client.Put("/v1/documents/" + id, json{{"body", "# API note " + std::to_string(i) + "\nharbour lantern " + std::to_string(i)}}.dump(), "application/json");
      auto search = client.Get("/v1/search?q=harbour+lantern&mode=hybrid");
      if (i % 7 == 6) client.Delete("/v1/documents/api-" + std::to_string((i + 3) % 20));
      api_calls += 2;
      for (const auto* r : {&put, &search}) {
        if (!*r || (*r)->status >= 500) {
          ++api_errors;
          note("API: " + std::string(*r ? (*r)->body : "no response"));
        }
      }
      ++i;
    }
  });
  std::thread reader([&] {
    // A long reader: one read transaction held for seconds at a time.
    SQLite::Database rdb(db, SQLite::OPEN_READONLY, 10000);
    while (!stop) {
      rdb.exec("BEGIN");
      rdb.execAndGet("SELECT count(*) FROM documents").getInt();
      std::this_thread::sleep_for(std::chrono::milliseconds(2000));
      rdb.execAndGet("SELECT count(*) FROM documents_fts WHERE documents_fts MATCH 'section'").getInt();
      rdb.exec("COMMIT");
      ++reader_txs;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(duration * 1000)));
  stop = true;
  indexer.join();
  api_client.join();
  reader.join();
  for (pid_t pid : {api, worker}) {
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  for (const char* log : {"api.log", "worker.log"}) {
    const std::string text = test::ReadFile(h.dir / log);
    EXPECT_EQ(text.find("database is locked"), std::string::npos) << log << ":\n" << text;
  }
  EXPECT_TRUE(problems.empty()) << problems;
  EXPECT_GT(index_runs.load(), 3);
  EXPECT_GT(api_calls.load(), 20);
  EXPECT_GT(reader_txs.load(), 1);
  EXPECT_EQ(api_errors.load(), 0);
  // Converge, then INV.
  EXPECT_EQ(test::Kbindex({"index", h.notes}, env).exit_code, 0);
  EXPECT_EQ(test::Kbindex({"--backoff-ms", "1", "worker", "--once"}, env).exit_code, 0);
  h.store = std::move(DocumentStore::Open(db)).value();
  EXPECT_TRUE(h.Inv());
}

// ---- 11. Files changed, renamed or deleted during a scan -> the next scan equals a fresh scan.
TEST(ReliabilityTest, Scenario11_FilesChangingDuringAScan) {
  test::TempDir dir;
  const std::string notes = dir / "notes";
  for (int i = 0; i < 60; ++i) test::WriteFile(notes + "/n" + std::to_string(i) + ".md", "# N" + std::to_string(i) + "\nbody " + std::to_string(i));
  auto store = std::move(DocumentStore::Open(dir / "a.db")).value();
  ScanOptions o;
  o.root = notes;
  ASSERT_TRUE(ScanFolder(*store, o).ok());
  for (int i = 0; i < 60; i += 3) test::BumpMtime(notes + "/n" + std::to_string(i) + ".md");  // make them re-read
  int step = 0;
  o.before_read = [&](const std::string& rel) {
    ++step;
    // While the scan is running: rewrite the file being read, rename one, delete one, add one.
    test::WriteFile(notes + "/" + rel, "# rewritten while read " + std::to_string(step));
    if (step == 2) fs::rename(notes + "/n40.md", notes + "/renamed-40.md");
    if (step == 3) fs::remove(notes + "/n50.md");
    if (step == 4) test::WriteFile(notes + "/brand-new.md", "# new during scan");
    if (step == 5) fs::rename(notes + "/n1.md", notes + "/n0-renamed.md");
  };
  ASSERT_TRUE(ScanFolder(*store, o).ok());
  o.before_read = nullptr;
  ASSERT_TRUE(ScanFolder(*store, o).ok());  // the next scan
  auto fresh = std::move(DocumentStore::Open(dir / "fresh.db")).value();
  ASSERT_TRUE(ScanFolder(*fresh, o).ok());
  auto live = [](DocumentStore& s) {
    std::map<std::string, std::string> m;
    auto states = s.LoadFileStates("notes");
    for (const auto& f : *states) {
      if (f.live) m[f.path] = f.content_hash;
    }
    return m;
  };
  EXPECT_EQ(live(*store), live(*fresh));
  EXPECT_EQ(live(*store).count("renamed-40.md"), 1u);
  EXPECT_EQ(live(*store).count("n40.md"), 0u);
  EXPECT_TRUE(store->CheckIntegrity().ok());
}

// ---- 12. Permission-denied files and folders, dangling links, symlink loops, as a non-root user.
TEST(ReliabilityTest, Scenario12_PermissionsAndLinksAsNonRoot) {
  test::TempDir dir;
  ::chmod(dir.path().c_str(), 0777);
  const std::string notes = dir / "notes";
  test::WriteFile(notes + "/ok.md", "# fine\nreadable text");
  test::WriteFile(notes + "/secret.md", "# secret");
  test::WriteFile(notes + "/locked/inner.md", "# inner");
  fs::create_symlink(notes + "/missing.md", notes + "/dangling.md");
  fs::create_directories(notes + "/loop");
  fs::create_directory_symlink(notes + "/loop", notes + "/loop/again");
  ::chmod(notes.c_str(), 0755);
  ::chmod((notes + "/secret.md").c_str(), 0000);
  ::chmod((notes + "/locked").c_str(), 0000);
  const std::vector<std::string> as_nobody{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", KBINDEX_BINARY,
                                           "--db", dir / "kb.db"};
  auto run = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = as_nobody;
    argv.insert(argv.end(), args.begin(), args.end());
    return test::Run(argv);
  };
  auto idx = run({"index", "--no-sync", notes});
  ASSERT_EQ(idx.exit_code, 0) << idx.out << idx.err;
  auto skipped = run({"skipped", "--json"});
  ASSERT_EQ(skipped.exit_code, 0) << skipped.err;
  std::map<std::string, std::string> reasons;
  const json listing = json::parse(skipped.out);
  for (const auto& s : listing["skipped"]) reasons[s["path"]] = s["reason"];
  EXPECT_EQ(reasons["secret.md"], "unreadable");
  EXPECT_EQ(reasons["locked/"], "unreadable");
  EXPECT_EQ(reasons["dangling.md"], "dangling_symlink");
  EXPECT_EQ(reasons["loop/again"], "symlink_loop");
  auto search = run({"search", "--mode", "keyword", "--json", "readable"});
  ASSERT_EQ(search.exit_code, 0) << search.err;
  EXPECT_EQ(json::parse(search.out)["results"][0]["id"], "notes:ok.md");
  ::chmod((notes + "/locked").c_str(), 0755);
}

}  // namespace
}  // namespace kb
