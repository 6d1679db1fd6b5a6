// The folder watcher against real files and a real Chroma: what editors and tools really do to
// a notes folder (atomic saves, vim's backup-and-rename, renames and moves, subfolders, files
// still being written, hidden/excluded files, symlinks), a git-checkout-style burst, a forced
// event-queue overflow, a folder that disappears, and the `watch` / `serve --watch` processes
// (clean stop on SIGINT/SIGTERM, status in stats and /v1/health). Every scenario ends with the
// index equal to a fresh scan of the folder and INV.
#include <httplib.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "app/services.h"
#include "integration/harness.h"
#include "support/process.h"
#include "support/serve_client.h"
#include "support/test_services.h"
#include "vector/local_chroma.h"
#include "watch/folder_watch.h"

namespace kb {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

bool Eventually(const std::function<bool()>& pred, int timeout_ms = 20'000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

void Put(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

class WatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(h_.ready());
    config_.db_path = h_.dir / "kb.db";
    config_.collection = "kbindex";
    config_.exclude = {"drafts", "*.tmp.md"};
    services_ = test::OpenTestServices(*h_.client, config_);
    ASSERT_NE(services_, nullptr);
  }
  void TearDown() override {
    if (watch_) watch_->Stop();
  }
  void StartWatch(int quiet_ms = 100, const std::function<void(watch::FolderWatchOptions&)>& adjust = {}) {
    watch::FolderWatchOptions o;
    o.folders = {h_.notes};
    o.tree.coalesce.quiet_ms = quiet_ms;
    o.tree.coalesce.settle_ms = 20;
    o.tree.coalesce.max_delay_ms = std::max(2'000, 20 * quiet_ms);
    o.tree.root_check_ms = 200;
    if (adjust) adjust(o);
    auto w = watch::FolderWatch::Start(*services_, o);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    watch_ = std::move(w).value();
    Settle();
  }
  // Lets the kernel deliver what the test just did, then waits until it is indexed and synced.
  void Settle() {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    ASSERT_TRUE(watch_->WaitIdle(120'000)) << "the watcher never became idle";
  }
  std::string P(const std::string& rel) const { return h_.notes + "/" + rel; }
  std::optional<Document> Doc(const std::string& rel) {
    auto d = h_.store->Get("notes:" + rel);
    EXPECT_TRUE(d.ok());
    return d.ok() ? *d : std::nullopt;
  }
  bool Live(const std::string& rel) {
    auto d = Doc(rel);
    return d && d->live();
  }
  // path -> content hash of every live document of the folder.
  static std::map<std::string, std::string> LiveOf(DocumentStore& store) {
    std::map<std::string, std::string> m;
    auto states = store.LoadFileStates("notes");
    EXPECT_TRUE(states.ok());
    if (!states.ok()) return m;
    for (const auto& s : *states) {
      if (s.live) m[s.path] = s.content_hash;
    }
    return m;
  }
  // The index equals what a fresh scan of the folder (same rules) finds.
  ::testing::AssertionResult EqualsFreshScan() {
    test::TempDir d;
    auto fresh = DocumentStore::Open(d / "fresh.db");
    if (!fresh.ok()) return ::testing::AssertionFailure() << fresh.status().ToString();
    ScanOptions o;
    o.root = h_.notes;
    o.exclude = config_.exclude;
    o.source_name = "notes";
    auto r = ScanFolder(**fresh, o);
    if (!r.ok()) return ::testing::AssertionFailure() << r.status().ToString();
    auto want = LiveOf(**fresh);
    auto got = LiveOf(*h_.store);
    if (want == got) return ::testing::AssertionSuccess();
    auto f = ::testing::AssertionFailure();
    int shown = 0;
    for (const auto& [p, hsh] : want) {
      auto it = got.find(p);
      if ((it == got.end() || it->second != hsh) && shown++ < 10) f << "missing/stale " << p << "; ";
    }
    for (const auto& [p, hsh] : got) {
      if (!want.count(p) && shown++ < 10) f << "extra " << p << "; ";
    }
    return f << want.size() << " expected, " << got.size() << " indexed";
  }
  // `walk`: also compare with INV's own walk of the folder (which follows no symlinks and
  // knows no exclude patterns; EqualsFreshScan covers those).
  ::testing::AssertionResult Inv(bool walk = true) {
    test::InvOptions o;
    if (walk) o.folder = h_.notes;
    return test::Invariant(*h_.store, *h_.direct, "kbindex", o);
  }
  ::testing::AssertionResult Converged(bool walk = true) {
    auto fresh = EqualsFreshScan();
    if (!fresh) return fresh;
    return Inv(walk);
  }
  std::vector<std::string> ChromaIdsOf(const std::string& doc_id) {
    GetRequest req;
    req.where_json = json{{"doc_id", doc_id}}.dump();
    auto r = h_.direct->Get(h_.Collection(), req);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->ids : std::vector<std::string>{};
  }

  test::Harness h_;
  Config config_;
  std::unique_ptr<app::Services> services_;
  std::unique_ptr<watch::FolderWatch> watch_;
};

TEST_F(WatchTest, StartReconcilesAndANewNoteIsIndexedAndSynced) {
  h_.Write("before.md", "# Before\nwritten before the watch started\n");
  StartWatch();
  EXPECT_TRUE(Live("before.md"));  // the start is a full scan
  Put(P("new.md"), "# New\nzebracorn appears\n");
  Settle();
  ASSERT_TRUE(Live("new.md"));
  EXPECT_EQ(Doc("new.md")->sync_status, SyncStatus::kSynced);
  EXPECT_FALSE(ChromaIdsOf("notes:new.md").empty());
  EXPECT_TRUE(Converged());
}

TEST_F(WatchTest, AtomicSaveTempThenRenameOverIsAnEditOfTheSameNote) {
  h_.Write("a.md", "# A\nfirst version\n");
  StartWatch();
  const Document before = *Doc("a.md");
  // Temp files as editors name them: hidden, or not matching the include patterns.
  Put(P(".a.md.swx"), "# A\nsecond version\n");
  fs::rename(P(".a.md.swx"), P("a.md"));
  Put(P("a.md.tmp.12345"), "# A\nthird version\n");
  fs::rename(P("a.md.tmp.12345"), P("a.md"));
  Settle();
  const Document after = *Doc("a.md");
  EXPECT_EQ(after.key, before.key);
  EXPECT_EQ(after.created_at, before.created_at);
  EXPECT_NE(after.content_hash, before.content_hash);
  EXPECT_EQ(after.sync_status, SyncStatus::kSynced);
  EXPECT_FALSE(Doc(".a.md.swx").has_value());
  EXPECT_FALSE(Doc("a.md.tmp.12345").has_value());
  EXPECT_TRUE(Converged());
}

TEST_F(WatchTest, VimBackupAndRenameKeepsTheNote) {
  h_.Write("v.md", "# Vim\noriginal text\n");
  StartWatch();
  const Document before = *Doc("v.md");
  // vim (backupcopy=no, writebackup): swap file, rename the original to a backup, write anew,
  // delete the backup, delete the swap file.
  Put(P(".v.md.swp"), "swap");
  fs::rename(P("v.md"), P("v.md~"));
  Put(P("v.md"), "# Vim\nedited in vim\n");
  fs::remove(P("v.md~"));
  fs::remove(P(".v.md.swp"));
  Settle();
  const auto after = Doc("v.md");
  ASSERT_TRUE(after && after->live());
  EXPECT_NE(after->content_hash, before.content_hash);
  EXPECT_EQ(after->sync_status, SyncStatus::kSynced);
  EXPECT_FALSE(Doc("v.md~").has_value());
  EXPECT_TRUE(Converged());
}

TEST_F(WatchTest, ARenameInsideTheTreeKeepsHistoryAndMovesTheStoredVectors) {
  h_.Write("old.md", test::Harness::Note("Moved note", 2));
  StartWatch();
  const Document before = *Doc("old.md");
  const auto old_ids = ChromaIdsOf("notes:old.md");
  ASSERT_FALSE(old_ids.empty());
  // Mark the stored vectors: if the move re-embedded the note (delete + re-add), the mark is lost.
  GetRequest req;
  req.ids = old_ids;
  req.include_embeddings = true;
  req.include_metadatas = true;
  req.include_documents = true;
  auto got = h_.direct->Get(h_.Collection(), req);
  ASSERT_TRUE(got.ok());
  std::vector<VectorRecord> marked;
  for (size_t i = 0; i < got->ids.size(); ++i) {
    VectorRecord r;
    r.id = got->ids[i];
    r.embedding = got->embeddings[i];
    r.embedding[0] = 0.4242f;
    r.metadata_json = got->metadatas_json[i];
    marked.push_back(r);
  }
  ASSERT_TRUE(h_.direct->Upsert(h_.Collection(), marked).ok());

  fs::create_directories(P("sub/deeper"));
  fs::rename(P("old.md"), P("sub/deeper/new.md"));
  Settle();
  EXPECT_FALSE(Doc("old.md").has_value());
  const auto after = Doc("sub/deeper/new.md");
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->key, before.key);
  EXPECT_EQ(after->created_at, before.created_at);
  EXPECT_EQ(after->sync_status, SyncStatus::kSynced);
  EXPECT_TRUE(ChromaIdsOf("notes:old.md").empty());
  auto new_ids = ChromaIdsOf("notes:sub/deeper/new.md");
  ASSERT_EQ(new_ids.size(), old_ids.size());
  req.ids = new_ids;
  auto moved = h_.direct->Get(h_.Collection(), req);
  ASSERT_TRUE(moved.ok());
  for (const auto& e : moved->embeddings) EXPECT_FLOAT_EQ(e[0], 0.4242f) << "the note was embedded again";
  EXPECT_TRUE(Converged());
}

TEST_F(WatchTest, MovesIntoAndOutOfTheTree) {
  h_.Write("stays.md", "# Stays\n");
  h_.Write("leaves.md", "# Leaves\nmoving out\n");
  StartWatch();
  ASSERT_FALSE(ChromaIdsOf("notes:leaves.md").empty());
  const std::string outside = h_.dir / "outside";
  fs::create_directories(outside + "/folder/inner");
  Put(outside + "/comes.md", "# Comes\nmoved in\n");
  Put(outside + "/folder/x.md", "# X\n");
  Put(outside + "/folder/inner/y.md", "# Y\n");
  fs::rename(outside + "/comes.md", P("comes.md"));
  fs::rename(outside + "/folder", P("folder"));
  fs::rename(P("leaves.md"), outside + "/leaves.md");
  Settle();
  EXPECT_TRUE(Live("comes.md"));
  EXPECT_TRUE(Live("folder/x.md"));
  EXPECT_TRUE(Live("folder/inner/y.md"));
  EXPECT_FALSE(Live("leaves.md"));
  EXPECT_TRUE(ChromaIdsOf("notes:leaves.md").empty());
  // The moved-in folder is watched too.
  Put(P("folder/inner/z.md"), "# Z\n");
  Settle();
  EXPECT_TRUE(Live("folder/inner/z.md"));
  EXPECT_TRUE(Converged());
}

TEST_F(WatchTest, NewAndDeletedSubfoldersAreFollowedRecursively) {
  h_.Write("top.md", "# Top\n");
  StartWatch();
  // Created and filled at once (faster than a watch can be placed on each new folder).
  for (int i = 0; i < 5; ++i) Put(P("a/b/c" + std::to_string(i) + "/d/n" + std::to_string(i) + ".md"), "# N\n" + std::to_string(i));
  Settle();
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(Live("a/b/c" + std::to_string(i) + "/d/n" + std::to_string(i) + ".md")) << i;
  // A later file deep in a new folder: its folder is watched.
  Put(P("a/b/c0/d/later.md"), "# Later\n");
  Settle();
  EXPECT_TRUE(Live("a/b/c0/d/later.md"));
  EXPECT_TRUE(Converged());
  fs::remove_all(P("a/b"));
  Settle();
  EXPECT_FALSE(Live("a/b/c0/d/later.md"));
  EXPECT_TRUE(ChromaIdsOf("notes:a/b/c0/d/later.md").empty());
  EXPECT_TRUE(Converged());
}

TEST_F(WatchTest, AFileStillBeingWrittenIsIndexedOnlyWhenComplete) {
  StartWatch(/*quiet_ms=*/400);
  std::ofstream f(P("slow.md"), std::ios::binary);
  f << "# Slow\n";
  f.flush();
  // Written in pieces, each well within the quiet period, for longer than the quiet period.
  for (int i = 0; i < 12; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    f << "part " << i << " of a long download\n";
    f.flush();
    EXPECT_FALSE(Doc("slow.md").has_value()) << "indexed while still being written (after " << i << " pieces)";
  }
  f << "THE END\n";
  f.close();
  Settle();
  const auto d = Doc("slow.md");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->body.find("THE END") != std::string::npos, true);
  EXPECT_TRUE(Converged());
}

TEST_F(WatchTest, HiddenAndExcludedFilesAreIgnored) {
  StartWatch();
  Put(P(".hidden.md"), "# Hidden\n");
  Put(P(".obsidian/workspace.md"), "# Editor state\n");
  Put(P("drafts/draft.md"), "# Draft\n");
  Put(P("x.tmp.md"), "# Temp\n");
  Put(P("picture.png"), "not a note");
  Put(P("marker.md"), "# Marker\n");  // written last: once it is in, the rest was seen
  Settle();
  ASSERT_TRUE(Live("marker.md"));
  for (const char* p : {".hidden.md", ".obsidian/workspace.md", "drafts/draft.md", "x.tmp.md", "picture.png"}) {
    EXPECT_FALSE(Doc(p).has_value()) << p;
  }
  EXPECT_EQ(LiveOf(*h_.store).size(), 1u);
  EXPECT_TRUE(Converged(/*walk=*/false));
}

TEST_F(WatchTest, SymlinksAreTreatedAsTheScannerTreatsThem) {
  h_.Write("a.md", "# A\n");
  const std::string elsewhere = h_.dir / "elsewhere";
  Put(elsewhere + "/linked.md", "# Linked from outside\n");
  StartWatch();
  fs::create_directory_symlink(elsewhere, P("ext"));
  fs::create_symlink(h_.dir / "nothing.md", P("dangling.md"));
  fs::create_directory_symlink(h_.notes, P("loop"));
  fs::create_symlink(P("a.md"), P("alias.md"));
  Settle();
  EXPECT_TRUE(Live("ext/linked.md"));
  EXPECT_FALSE(Doc("dangling.md").has_value());
  EXPECT_TRUE(Converged(/*walk=*/false));
  // A file added in a linked folder: the link is followed, its folder watched.
  Put(elsewhere + "/second.md", "# Second\n");
  Settle();
  EXPECT_TRUE(Live("ext/second.md"));
  fs::remove(P("ext"));
  Settle();
  EXPECT_FALSE(Live("ext/linked.md"));
  EXPECT_TRUE(Converged(/*walk=*/false));
}

TEST_F(WatchTest, AGitCheckoutBurstEndsEqualToAFreshScan) {
  // Branch A: 5,000 notes in 50 folders.
  auto name = [](int i) { return "d" + std::to_string(i % 50) + "/n" + std::to_string(i) + ".md"; };
  for (int i = 0; i < 5'000; ++i) Put(P(name(i)), "# Note " + std::to_string(i) + "\nbranch a body " + std::to_string(i) + "\n");
  StartWatch();
  ASSERT_EQ(LiveOf(*h_.store).size(), 5'000u);
  // Checkout of branch B, as fast as git does it: deletions, edits, renames, new files and
  // folders (about 5,000 events and more).
  for (int i = 0; i < 5'000; ++i) {
    if (i % 4 == 0) {
      fs::remove(P(name(i)));
    } else if (i % 4 == 1) {
      Put(P(name(i)), "# Note " + std::to_string(i) + "\nbranch b body " + std::to_string(i) + "\n");
    } else if (i % 4 == 2 && i % 8 == 2) {
      fs::create_directories(P("renamed/" + std::to_string(i % 50)));
      fs::rename(P(name(i)), P("renamed/" + std::to_string(i % 50) + "/r" + std::to_string(i) + ".md"));
    }
  }
  for (int i = 0; i < 1'000; ++i) Put(P("newdir" + std::to_string(i % 20) + "/b" + std::to_string(i) + ".md"), "# B " + std::to_string(i) + "\n");
  Settle();
  EXPECT_TRUE(Converged());
}

// Random editing for a while — saves, atomic saves, renames, moves between folders, deletions,
// new and removed folders — then the index equals a fresh scan. 3 s by default; a 2-minute
// soak with KBINDEX_LONG_TESTS=1 (tools/test --long).
TEST_F(WatchTest, AnEditingSoakEndsEqualToAFreshScan) {
  const double seconds = std::getenv("KBINDEX_LONG_TESTS") ? 120.0 : 3.0;
  for (int i = 0; i < 100; ++i) Put(P("f" + std::to_string(i % 5) + "/n" + std::to_string(i) + ".md"), "# N " + std::to_string(i) + "\n");
  StartWatch();
  std::mt19937 rng(7);
  auto any_file = [&]() -> std::string {
    std::vector<std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(h_.notes)) {
      if (e.is_regular_file()) files.push_back(e.path().string());
    }
    return files.empty() ? "" : files[rng() % files.size()];
  };
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  int ops = 0;
  while (std::chrono::steady_clock::now() < end) {
    const std::string f = any_file();
    const std::string dir = P("f" + std::to_string(rng() % 8));
    const std::string fresh = dir + "/s" + std::to_string(ops) + ".md";
    std::error_code ec;
    switch (rng() % 7) {
      case 0: Put(fresh, "# New " + std::to_string(ops) + "\n"); break;
      case 1: if (!f.empty()) Put(f, "# Edited " + std::to_string(ops) + "\n"); break;
      case 2:
        if (!f.empty()) {
          Put(fs::path(f).parent_path() / ".save.tmp", "# Saved " + std::to_string(ops) + "\n");
          fs::rename(fs::path(f).parent_path() / ".save.tmp", f, ec);
        }
        break;
      case 3: if (!f.empty()) { fs::create_directories(dir); fs::rename(f, fresh, ec); } break;
      case 4: if (!f.empty()) fs::remove(f, ec); break;
      case 5: Put(dir + "/deep/er/d" + std::to_string(ops) + ".md", "# Deep\n"); break;
      case 6: if (rng() % 10 == 0) fs::remove_all(P("f" + std::to_string(5 + rng() % 3)), ec); break;
    }
    ++ops;
    if (ops % 20 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 60));
  }
  Settle();
  EXPECT_TRUE(Converged()) << ops << " operations";
}

TEST_F(WatchTest, AnOverflowedEventQueueIsHealedByAReconcile) {
  h_.Write("keep.md", "# Keep\n");
  const int files = 200;
  for (int i = 0; i < files; ++i) Put(P("burst/f" + std::to_string(i) + ".md"), "# F\nround -1\n");
  StartWatch();
  const kbindex::WatchState before = watch_->state();
  int max_events = 16'384;
  std::ifstream("/proc/sys/fs/inotify/max_queued_events") >> max_events;
  // The reader stops draining the kernel's queue, which overflows; what happens after the
  // overflow is never seen as events.
  watch_->tree().SetPaused(true);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // One event per call (IN_ATTRIB), cheaper than rewriting: the queue fills fast.
  const int rounds = max_events / files + 10;
  for (int r = 0; r < rounds; ++r) {
    for (int i = 0; i < files; ++i) {
      fs::last_write_time(P("burst/f" + std::to_string(i) + ".md"),
                          fs::file_time_type::clock::now() - std::chrono::seconds(r));
    }
  }
  // Their final content comes after the overflow: only a reconcile can see it.
  for (int i = 0; i < files; ++i) Put(P("burst/f" + std::to_string(i) + ".md"), "# F\nfinal\n");
  Put(P("after-overflow.md"), "# After the overflow\n");
  fs::remove(P("keep.md"));
  watch_->tree().SetPaused(false);
  Settle();
  const kbindex::WatchState after = watch_->state();
  EXPECT_GT(after.overflows, before.overflows);
  EXPECT_GT(after.reconciles, before.reconciles);
  EXPECT_NE(after.last_reconcile_reason.find("overflow"), std::string::npos) << after.last_reconcile_reason;
  EXPECT_TRUE(Live("after-overflow.md"));
  EXPECT_FALSE(Live("keep.md"));
  EXPECT_TRUE(Converged());
}

TEST_F(WatchTest, TheWatchLimitIsReportedAndThePartlyWatchedTreeIsReconciled) {
  for (int i = 0; i < 10; ++i) Put(P("d" + std::to_string(i) + "/n.md"), "# N " + std::to_string(i) + "\n");
  // As if fs.inotify.max_user_watches allowed 4 watches: the root and 3 of its 10 folders.
  StartWatch(100, [](watch::FolderWatchOptions& o) {
    o.tree.max_watches = 4;
    o.tree.degraded_reconcile_ms = 500;
  });
  kbindex::WatchState st = watch_->state();
  ASSERT_EQ(st.folders.size(), 1u);
  EXPECT_NE(st.folders[0].error.find("max_user_watches"), std::string::npos) << st.folders[0].error;
  EXPECT_NE(st.last_reconcile_reason.find("watch limit"), std::string::npos) << st.last_reconcile_reason;
  // A change in every folder, watched or not: the periodic reconcile of a degraded tree finds them.
  for (int i = 0; i < 10; ++i) Put(P("d" + std::to_string(i) + "/n.md"), "# Changed " + std::to_string(i) + "\n");
  EXPECT_TRUE(Eventually([&] {
    for (int i = 0; i < 10; ++i) {
      auto d = Doc("d" + std::to_string(i) + "/n.md");
      if (!d || d->title.find("Changed") == std::string::npos) return false;
    }
    return true;
  }));
  Settle();
  EXPECT_TRUE(Converged());
}

TEST_F(WatchTest, AWatchedFolderThatDisappearsTombstonesNothingAndIsFollowedWhenBack) {
  h_.WriteNotes(20);
  StartWatch();
  ASSERT_EQ(LiveOf(*h_.store).size(), 20u);
  const int64_t in_chroma = h_.ChromaCount();
  // Unmounted, or moved away: every file is gone at once.
  const std::string away = h_.dir / "away";
  fs::rename(h_.notes, away);
  Settle();
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // a few root checks
  Settle();
  EXPECT_EQ(*h_.store->CountLive("notes"), 20);
  EXPECT_EQ(h_.ChromaCount(), in_chroma);
  kbindex::WatchState st = watch_->state();
  ASSERT_EQ(st.folders.size(), 1u);
  EXPECT_FALSE(st.folders[0].watching);
  EXPECT_FALSE(st.folders[0].error.empty());
  // Deleted outright, and an empty folder in its place: the safety valve holds.
  fs::create_directories(h_.notes);
  Settle();
  ASSERT_TRUE(Eventually([&] { return watch_->state().folders[0].watching; }));
  Settle();
  EXPECT_EQ(*h_.store->CountLive("notes"), 20);
  EXPECT_EQ(h_.ChromaCount(), in_chroma);
  EXPECT_FALSE(watch_->state().folders[0].error.empty()) << "the safety valve should say why nothing was removed";
  // Back (remounted): followed again, edits flow.
  fs::remove(h_.notes);
  fs::rename(away, h_.notes);
  ASSERT_TRUE(Eventually([&] { return watch_->state().folders[0].watching && watch_->state().folders[0].error.empty(); }));
  h_.Write("n3.md", "# Edited after the remount\n");
  Settle();
  EXPECT_NE(Doc("n3.md")->title.find("remount"), std::string::npos);
  EXPECT_TRUE(Converged());
}

TEST_F(WatchTest, AWatchedFolderDeletedFileByFileTombstonesNothing) {
  h_.WriteNotes(20);
  StartWatch();
  const int64_t in_chroma = h_.ChromaCount();
  // rm -rf: a removal event per file first (the scanner's safety valve judges them as one
  // set), then the folder itself.
  fs::remove_all(h_.notes);
  Settle();
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  Settle();
  EXPECT_EQ(*h_.store->CountLive("notes"), 20);
  EXPECT_EQ(h_.ChromaCount(), in_chroma);
  const kbindex::WatchState st = watch_->state();
  EXPECT_FALSE(st.folders[0].watching);
  EXPECT_FALSE(st.folders[0].error.empty());
  EXPECT_TRUE(Inv(/*walk=*/false));
}

// ---------------------------------------------------------------- the processes

class WatchProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(chroma_.ok());
    notes_ = dir_ / "notes";
    fs::create_directories(notes_);
    env_ = {{"KBINDEX_DB", dir_ / "kb.db"}, {"KBINDEX_CHROMA_URL", chroma_.url()}};
  }
  // Starts `args`, waits for `ready` in its log, runs `body`, stops it with `sig`: exit 0, and
  // the database says watching stopped.
  void RunAndStop(const std::vector<std::string>& args, const std::string& ready, int sig,
                  const std::function<void()>& body) {
    const std::string log = dir_ / "proc.log";
    fs::remove(log);
    std::vector<std::string> argv{KBINDEX_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_t pid = test::Spawn(argv, env_, log);
    ASSERT_GT(pid, 0);
    const bool up = Eventually([&] { return test::ReadFile(log).find(ready) != std::string::npos; }, 30'000);
    if (up) body();
    ::kill(pid, sig);
    int status = 0;
    bool exited = Eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 20'000);
    if (!exited) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
    }
    ASSERT_TRUE(up) << test::ReadFile(log);
    EXPECT_TRUE(exited) << "did not stop within 20 s of signal " << sig << "\n" << test::ReadFile(log);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << test::ReadFile(log);
    json stats = json::parse(test::Kbindex({"stats", "--json"}, env_).out, nullptr, false);
    ASSERT_TRUE(stats.contains("watch")) << stats.dump();
    EXPECT_EQ(stats["watch"]["running"], false);
  }
  std::string Status(const std::string& rel) {
    auto r = test::Kbindex({"show", "notes:" + rel, "--json"}, env_);
    json j = json::parse(r.out, nullptr, false);
    return j.is_object() && j.contains("sync") ? j["sync"]["status"].get<std::string>() : "";
  }

  test::TempDir dir_;
  test::TestChroma chroma_;
  std::string notes_;
  std::map<std::string, std::string> env_;
};

TEST_F(WatchProcessTest, WatchFollowsTheFolderShowsInStatsAndStopsCleanlyOnSigtermAndSigint) {
  for (int sig : {SIGTERM, SIGINT}) {
    SCOPED_TRACE(sig);
    const std::string rel = "note" + std::to_string(sig) + ".md";
    RunAndStop({"watch", notes_}, "following the folders", sig, [&] {
      Put(notes_ + "/" + rel, "# Signal " + std::to_string(sig) + "\n");
      EXPECT_TRUE(Eventually([&] { return Status(rel) == "synced"; }, 30'000)) << Status(rel);
      json stats;
      EXPECT_TRUE(Eventually([&] {
        stats = json::parse(test::Kbindex({"stats", "--json"}, env_).out, nullptr, false);
        return stats.contains("watch") && stats["watch"]["running"] == true && stats["watch"]["events"].get<int64_t>() > 0;
      })) << stats.dump();
      if (stats.contains("watch")) {
        ASSERT_EQ(stats["watch"]["folders"].size(), 1u);
        EXPECT_EQ(stats["watch"]["folders"][0]["watching"], true);
        EXPECT_EQ(stats["watch"]["folders"][0]["root"], fs::canonical(notes_).string());
        EXPECT_FALSE(stats["watch"]["lastReconcile"].is_null());
      }
    });
  }
}

TEST_F(WatchProcessTest, ServeWatchShowsWatchingInHealth) {
  const int port = LocalChroma::FreePort();
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(std::chrono::seconds(30));
  env_["KBINDEX_FOLDERS"] = notes_;
  RunAndStop({"serve", "--watch", "--port", std::to_string(port), "--interval", "1"}, "listening", SIGTERM, [&] {
    ASSERT_FALSE(test::ConnectToServe(client, dir_ / "api-token", dir_ / "proc.log").empty());
    Put(notes_ + "/served.md", "# Served\nwatched by serve\n");
    EXPECT_TRUE(Eventually([&] { return Status("served.md") == "synced"; }, 30'000)) << Status("served.md");
    json health;
    EXPECT_TRUE(Eventually([&] {
      auto r = client.Get("/v1/health");
      if (!r) return false;
      health = json::parse(r->body, nullptr, false);
      return health.is_object() && health.contains("watch") && health["watch"]["running"] == true &&
             health["watch"]["events"].get<int64_t>() > 0;
    })) << health.dump();
    if (health.contains("watch") && health["watch"]["folders"].size() == 1) {
      EXPECT_EQ(health["watch"]["folders"][0]["watching"], true);
      EXPECT_EQ(health["watch"]["folders"][0]["root"], fs::canonical(notes_).string());
    }
  });
}

}  // namespace
}  // namespace kb
