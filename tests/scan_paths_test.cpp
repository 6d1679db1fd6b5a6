// ScanPaths (the watcher's entry point into the scanner) and renames: the same rules as a
// full scan for exactly the paths given, so that following a folder event by event ends where
// a fresh scan would; a moved file keeps its document.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "scan/scanner.h"
#include "support/temp_dir.h"

namespace kb {
namespace {

namespace fs = std::filesystem;

class ScanPathsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(DocumentStore::Open(db_dir_ / "kb.db")).value();
    notes_ = dir_ / "notes";
    fs::create_directories(notes_);
  }
  // The skipped files of source "notes" (a copy: the Result must not be a temporary in a loop).
  std::vector<SkippedFile> Skipped() {
    auto r = store_->ListSkipped("notes");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<SkippedFile>{};
  }
  ScanOptions Opts() const {
    ScanOptions o;
    o.root = notes_;
    o.exclude = {"drafts", "*.tmp.md"};
    return o;
  }
  Result<ScanReport> Full(DocumentStore& store) { return ScanFolder(store, Opts()); }
  Result<ScanReport> Paths(std::vector<std::string> paths, bool allow = false) {
    ScanOptions o = Opts();
    o.allow_mass_delete = allow;
    return ScanPaths(*store_, o, paths);
  }
  void Write(const std::string& rel, const std::string& text) {
    test::WriteFile(notes_ + "/" + rel, text);
    test::BumpMtime(notes_ + "/" + rel, 0);
  }
  std::optional<Document> Get(const std::string& rel) { return *store_->Get("notes:" + rel); }
  // Pretends every live document reached the vector store with one chunk.
  void MarkAllSynced() {
    auto states = store_->LoadFileStates("notes");
    for (const auto& s : *states) {
      if (!s.live) continue;
      auto d = *store_->Get("notes:" + s.path);
      std::vector<SendClaim> c{{d->key, d->content_hash, 1}};
      ASSERT_TRUE(store_->ClaimForSend(c).ok());
      std::vector<SyncOutcome> o{{SyncOutcome::Kind::kSynced, d->key, d->content_hash, 1}};
      ASSERT_TRUE(store_->ApplySyncOutcomes(o).ok());
    }
  }
  // path -> content hash of every live document.
  static std::map<std::string, std::string> Live(DocumentStore& store) {
    std::map<std::string, std::string> m;
    auto states = store.LoadFileStates("notes");  // kept: ranging over *temporary dangles
    EXPECT_TRUE(states.ok());
    for (const auto& s : *states) {
      if (s.live) m[s.path] = s.content_hash;
    }
    return m;
  }
  std::map<std::string, std::string> Fresh() {
    test::TempDir d;
    auto fresh = std::move(DocumentStore::Open(d / "fresh.db")).value();
    EXPECT_TRUE(Full(*fresh).ok());
    return Live(*fresh);
  }

  test::TempDir dir_;
  test::TempDir db_dir_;
  std::string notes_;
  std::unique_ptr<DocumentStore> store_;
};

TEST_F(ScanPathsTest, OnlyTheGivenPathsAreLookedAt) {
  for (int i = 0; i < 5; ++i) Write("n" + std::to_string(i) + ".md", "# N" + std::to_string(i) + "\nbody\n");
  ASSERT_TRUE(Full(*store_).ok());
  Write("n1.md", "# N1\nedited\n");
  Write("n2.md", "# N2\nedited too\n");
  Write("new.md", "# New\n");
  auto r = Paths({"n1.md", "new.md"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->changed, 1);
  EXPECT_EQ(r->added, 1);
  EXPECT_EQ(r->files_read, 2);
  EXPECT_EQ(Get("n1.md")->body, "# N1\nedited\n");
  EXPECT_EQ(Get("n2.md")->body, "# N2\nbody\n");  // not given: not looked at
  r = Paths({"n2.md", "n3.md"});                  // n3 unchanged: not even read
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->changed, 1);
  EXPECT_EQ(r->unchanged, 1);
  EXPECT_EQ(r->files_read, 1);
}

TEST_F(ScanPathsTest, FolderPathsAreWalkedAndGonePathsRemoveWhatWasUnderThem) {
  Write("keep.md", "# keep\n");
  Write("a/one.md", "# one\n");
  Write("a/b/two.md", "# two\n");
  ASSERT_TRUE(Full(*store_).ok());
  Write("c/d/three.md", "# three\n");  // a new folder tree
  fs::remove_all(notes_ + "/a/b");
  auto r = Paths({"c", "a/b"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->added, 1);
  EXPECT_EQ(r->removed, 1);
  EXPECT_TRUE(Get("c/d/three.md").has_value());
  EXPECT_TRUE(Get("a/one.md").has_value());
  EXPECT_EQ(Live(*store_), Fresh());
}

TEST_F(ScanPathsTest, TheScannersRulesApplyToGivenPaths) {
  Write("ok.md", "# ok\n");
  ASSERT_TRUE(Full(*store_).ok());
  Write(".hidden.md", "# hidden\n");
  Write(".obsidian/workspace.md", "# app state\n");
  Write("drafts/wip.md", "# excluded folder\n");
  Write("x.tmp.md", "# excluded name\n");
  Write("picture.png", "not a note");
  Write("binary.md", std::string("a\0b", 3));
  Write("latin1.md", std::string("caf\xe9"));
  Write("big.md", std::string(2048, 'x'));
  ScanOptions o = Opts();
  o.max_file_bytes = 1024;
  std::vector<std::string> paths{".hidden.md", ".obsidian/workspace.md", "drafts/wip.md", "x.tmp.md",
                                 "picture.png", "binary.md", "latin1.md", "big.md"};
  auto r = ScanPaths(*store_, o, paths);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->written(), 0);
  std::map<std::string, std::string> reasons;
  for (const auto& s : Skipped()) reasons[s.path] = s.reason;
  EXPECT_EQ(reasons, (std::map<std::string, std::string>{
                         {"binary.md", "binary"}, {"latin1.md", "invalid_utf8"}, {"big.md", "too_large"}}));
  // The skipped list changes only for the paths given.
  fs::remove(notes_ + "/binary.md");
  ASSERT_TRUE(ScanPaths(*store_, o, std::vector<std::string>{"binary.md"}).ok());
  reasons.clear();
  for (const auto& s : Skipped()) reasons[s.path] = s.reason;
  EXPECT_EQ(reasons, (std::map<std::string, std::string>{{"latin1.md", "invalid_utf8"}, {"big.md", "too_large"}}));
  EXPECT_EQ(Live(*store_).size(), 1u);
}

TEST_F(ScanPathsTest, ANoteOfAnotherSourceIsNeverOverwritten) {
  ASSERT_TRUE(store_->EnsureApiSource("api").ok());
  DocumentInput api;
  api.id = "notes:clash.md";
  api.source = "api";
  api.title = "pushed";
  api.body = "pushed through the API";
  api.content_hash = "api-hash";
  std::vector<DocumentInput> v{api};
  ASSERT_TRUE(store_->PutDocuments(v).ok());
  Write("clash.md", "# from a file\n");
  auto r = Paths({"clash.md"});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->skipped.size(), 1u);
  EXPECT_EQ(r->skipped[0].reason, "id_conflict");
  EXPECT_EQ((*store_->Get("notes:clash.md"))->source, "api");
}

TEST_F(ScanPathsTest, SymlinksAreTreatedAsTheScannerTreatsThem) {
  Write("a.md", "# a\n");
  test::WriteFile(dir_ / "elsewhere/linked.md", "# linked from outside\n");
  ASSERT_TRUE(Full(*store_).ok());
  fs::create_directory_symlink(dir_ / "elsewhere", notes_ + "/ext");
  fs::create_symlink(dir_ / "nothing.md", notes_ + "/dangling.md");
  fs::create_directory_symlink(notes_, notes_ + "/loop");
  auto r = Paths({"ext", "dangling.md", "loop"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(Get("ext/linked.md").has_value());
  std::map<std::string, std::string> reasons;
  for (const auto& s : r->skipped) reasons[s.path] = s.reason;
  EXPECT_EQ(reasons, (std::map<std::string, std::string>{{"dangling.md", "dangling_symlink"}, {"loop", "symlink_loop"}}));
  EXPECT_EQ(Live(*store_), Fresh());
}

TEST_F(ScanPathsTest, AMovedFileKeepsItsDocumentAndHistory) {
  Write("a.md", "# Alpha\nthe body\n");
  Write("other.md", "# Other\n");
  ASSERT_TRUE(Full(*store_).ok());
  MarkAllSynced();
  const Document before = *Get("a.md");
  fs::rename(notes_ + "/a.md", notes_ + "/sub-b.md");
  auto r = Paths({"a.md", "sub-b.md"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->renamed, 1);
  EXPECT_EQ(r->added + r->removed, 0);
  EXPECT_FALSE(Get("a.md").has_value());
  const Document after = *Get("sub-b.md");
  EXPECT_EQ(after.key, before.key);
  EXPECT_EQ(after.created_at, before.created_at);
  EXPECT_EQ(after.content_hash, before.content_hash);
  EXPECT_EQ(after.sync_status, SyncStatus::kPending);  // its chunks must move in Chroma
  auto moves = *store_->ListMoves();
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].key, before.key);
  EXPECT_EQ(moves[0].old_id, "notes:a.md");
  EXPECT_EQ(moves[0].chunks, 1);
  // Keyword search finds it under its new name at once.
  auto hits = *store_->KeywordSearch("\"body\"", 10);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].id, "notes:sub-b.md");
  EXPECT_EQ(Live(*store_), Fresh());
}

TEST_F(ScanPathsTest, AFullScanRecognisesMovesAndACopyIsNotAMove) {
  Write("a.md", "# A\nsame text\n");
  Write("dir/x.md", "# X\n");
  Write("dir/y.md", "# Y\n");
  Write("z.md", "# Z\n");
  ASSERT_TRUE(Full(*store_).ok());
  const int64_t a_key = Get("a.md")->key;
  const int64_t x_key = Get("dir/x.md")->key;
  fs::copy_file(notes_ + "/a.md", notes_ + "/copy-of-a.md");
  fs::rename(notes_ + "/dir", notes_ + "/renamed-dir");
  auto r = Full(*store_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->renamed, 2);
  EXPECT_EQ(r->added, 1);  // the copy
  EXPECT_EQ(r->removed, 0);
  EXPECT_EQ(Get("a.md")->key, a_key);
  EXPECT_NE(Get("copy-of-a.md")->key, a_key);
  EXPECT_EQ(Get("renamed-dir/x.md")->key, x_key);
  EXPECT_EQ(Live(*store_), Fresh());
}

TEST_F(ScanPathsTest, AMoveOntoAnExistingNoteIsAnEditPlusARemoval) {
  Write("a.md", "# A\n");
  Write("b.md", "# B\n");
  ASSERT_TRUE(Full(*store_).ok());
  const int64_t b_key = Get("b.md")->key;
  fs::rename(notes_ + "/a.md", notes_ + "/b.md");  // saved over b
  auto r = Paths({"a.md", "b.md"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->changed, 1);
  EXPECT_EQ(r->removed, 1);
  EXPECT_EQ(r->renamed, 0);
  EXPECT_EQ(Get("b.md")->key, b_key);
  EXPECT_EQ(Live(*store_), Fresh());
}

TEST_F(ScanPathsTest, TheSafetyValveJudgesTheChangedPathsToo) {
  for (int i = 0; i < 20; ++i) Write("n" + std::to_string(i) + ".md", "# N" + std::to_string(i) + "\n");
  ASSERT_TRUE(Full(*store_).ok());
  MarkAllSynced();
  std::vector<std::string> all;
  for (int i = 0; i < 20; ++i) all.push_back("n" + std::to_string(i) + ".md");
  // A few deletions go through.
  fs::remove(notes_ + "/n0.md");
  ASSERT_TRUE(Paths({"n0.md"}).ok());
  EXPECT_EQ(Live(*store_).size(), 19u);
  // Everything gone (an unmounted disk leaves an empty mount point): nothing removed.
  for (int i = 1; i < 20; ++i) fs::remove(notes_ + "/" + all[i]);
  auto r = Paths(all);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kAborted);
  EXPECT_NE(r.status().message().find("unmounted"), std::string::npos) << r.status().message();
  EXPECT_EQ(Live(*store_).size(), 19u);
  // More than 90% gone while other files remain: refused as well.
  for (int i = 1; i < 20; ++i) Write(all[i], "# N" + std::to_string(i) + "\n");
  Write("other.md", "# other\n");
  ASSERT_TRUE(Paths(all).ok());
  ASSERT_TRUE(Paths({"other.md"}).ok());
  MarkAllSynced();
  for (int i = 1; i < 20; ++i) fs::remove(notes_ + "/" + all[i]);
  r = Paths(all);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("19 of 20"), std::string::npos) << r.status().message();
  // The folder itself gone (deleted, or its disk unmounted): nothing removed.
  fs::remove_all(notes_);
  r = Paths({"other.md"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("missing"), std::string::npos) << r.status().message();
  EXPECT_EQ(Live(*store_).size(), 20u);
  // Unless a person says so.
  r = Paths(all, /*allow=*/true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

// Random edits, adds, deletes, renames and folder moves, each followed by ScanPaths over the
// paths that changed (what the watcher hands it): always equal to a fresh full scan.
TEST_F(ScanPathsTest, FollowingChangesPathByPathEqualsAFreshScan) {
  std::mt19937 rng(7);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  auto files = [&] {
    std::vector<std::string> out;
    for (auto it = fs::recursive_directory_iterator(notes_); it != fs::recursive_directory_iterator(); ++it) {
      if (it->is_regular_file()) out.push_back(fs::relative(it->path(), notes_).string());
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  for (int i = 0; i < 30; ++i) Write("d" + std::to_string(i % 4) + "/n" + std::to_string(i) + ".md", "# N" + std::to_string(i) + "\n");
  ASSERT_TRUE(Full(*store_).ok());
  int counter = 100;
  for (int round = 0; round < 60; ++round) {
    std::set<std::string> changed;
    const int ops = 1 + pick(4);
    for (int k = 0; k < ops; ++k) {
      auto fl = files();
      const int op = pick(7);
      if (fl.empty() || op == 0) {
        const std::string rel = "d" + std::to_string(pick(5)) + "/new" + std::to_string(counter++) + ".md";
        Write(rel, "# fresh " + std::to_string(counter) + "\n");
        changed.insert(rel);
      } else if (op == 1) {
        const std::string rel = fl[pick(static_cast<int>(fl.size()))];
        Write(rel, "# edited " + std::to_string(counter++) + "\n");
        changed.insert(rel);
      } else if (op == 2) {
        const std::string rel = fl[pick(static_cast<int>(fl.size()))];
        fs::remove(notes_ + "/" + rel);
        changed.insert(rel);
      } else if (op == 3 || op == 4) {
        const std::string from = fl[pick(static_cast<int>(fl.size()))];
        const std::string to = "d" + std::to_string(pick(5)) + "/moved" + std::to_string(counter++) + ".md";
        fs::create_directories(fs::path(notes_ + "/" + to).parent_path());
        fs::rename(notes_ + "/" + from, notes_ + "/" + to);
        changed.insert(from);
        changed.insert(to);
      } else if (op == 5) {
        const std::string from = "d" + std::to_string(pick(5));
        const std::string to = "d" + std::to_string(pick(5)) + "x" + std::to_string(counter++);
        if (fs::exists(notes_ + "/" + from)) {
          fs::rename(notes_ + "/" + from, notes_ + "/" + to);
          changed.insert(from);
          changed.insert(to);
        }
      } else {
        const std::string from = fl[pick(static_cast<int>(fl.size()))];
        const std::string to = "d0/copy" + std::to_string(counter++) + ".md";
        fs::create_directories(notes_ + "/d0");
        fs::copy_file(notes_ + "/" + from, notes_ + "/" + to);
        changed.insert(to);
      }
    }
    auto r = Paths(std::vector<std::string>(changed.begin(), changed.end()), /*allow=*/true);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(Live(*store_), Fresh()) << "round " << round;
  }
  ASSERT_TRUE(store_->CheckIntegrity().ok());
}

}  // namespace
}  // namespace kb
