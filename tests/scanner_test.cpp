#include "scan/scanner.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>

#include "support/temp_dir.h"

namespace kb {
namespace {

class ScannerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = DocumentStore::Open(db_dir_ / "kb.db");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    notes_ = dir_ / "notes";
    std::filesystem::create_directories(notes_);
  }
  Result<ScanReport> Scan(std::function<void(ScanOptions&)> tweak = nullptr) {
    ScanOptions opt;
    opt.root = notes_;
    if (tweak) tweak(opt);
    return ScanFolder(*store_, opt);
  }
  std::string Note(const std::string& rel) const { return notes_ + "/" + rel; }
  const SkippedFile* FindSkipped(const ScanReport& r, const std::string& rel) {
    for (const auto& s : r.skipped) {
      if (s.path == rel) return &s;
    }
    return nullptr;
  }

  test::TempDir dir_;
  test::TempDir db_dir_;
  std::string notes_;
  std::unique_ptr<DocumentStore> store_;
};

TEST_F(ScannerTest, IndexesMarkdownWithFrontmatterAndStableIds) {
  test::WriteFile(Note("a.md"), "---\ntitle: Alpha Note\ntags: [x, y]\nrev: 3\n---\n# Heading\nbody text\n");
  test::WriteFile(Note("sub/b.md"), "# Beta heading\nmore text\n");
  test::WriteFile(Note("c.txt"), "plain text\n");
  test::WriteFile(Note("d.pdf"), "ignored");
  test::WriteFile(Note(".hidden/e.md"), "# hidden\n");
  test::WriteFile(Note(".git/config.md"), "# git\n");
  auto r = Scan();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source, "notes");
  EXPECT_EQ(r->files_seen, 3);
  EXPECT_EQ(r->added, 3);
  auto a = *store_->Get("notes:a.md");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->title, "Alpha Note");
  EXPECT_EQ(a->body, "# Heading\nbody text\n");
  EXPECT_NE(a->metadata_json.find("\"tags\":[\"x\",\"y\"]"), std::string::npos) << a->metadata_json;
  EXPECT_NE(a->metadata_json.find("\"rev\":3"), std::string::npos) << a->metadata_json;
  EXPECT_EQ(a->sync_status, SyncStatus::kPending);
  EXPECT_EQ((*store_->Get("notes:sub/b.md"))->title, "Beta heading");
  EXPECT_EQ((*store_->Get("notes:c.txt"))->title, "c");
  EXPECT_FALSE(store_->Get("notes:.hidden/e.md")->has_value());
}

TEST_F(ScannerTest, BulkScanLeavesTheKeywordIndexInOneSegment) {
  for (int i = 0; i < 60; ++i) {
    test::WriteFile(Note("n" + std::to_string(i) + ".md"), "shared words and note " + std::to_string(i));
  }
  auto small_batches = [](ScanOptions& o) {
    o.first_batch_docs = 4;
    o.batch_docs = 4;
  };
  // Below the threshold: each write transaction left its own segment (FTS5 merges only some).
  auto r = Scan([&](ScanOptions& o) {
    small_batches(o);
    o.merge_index_after = 1000;
  });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_GT(*store_->KeywordIndexSegments(), 1);

  for (int i = 0; i < 60; ++i) test::WriteFile(Note("n" + std::to_string(i) + ".md"), "changed words " + std::to_string(i));
  r = Scan([&](ScanOptions& o) {
    small_batches(o);
    o.merge_index_after = 50;
  });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->changed, 60);
  EXPECT_EQ(*store_->KeywordIndexSegments(), 1);
  auto hits = store_->KeywordSearch("\"changed\" \"words\"", 100);
  ASSERT_TRUE(hits.ok()) << hits.status().ToString();
  EXPECT_EQ(hits->size(), 60u);
  EXPECT_TRUE(store_->KeywordSearch("\"shared\"", 10)->empty());
}

TEST_F(ScannerTest, UnchangedRescanWritesAndReadsNothing) {
  for (int i = 0; i < 20; ++i) test::WriteFile(Note("n" + std::to_string(i) + ".md"), "note " + std::to_string(i));
  ASSERT_TRUE(Scan().ok());
  auto r = Scan();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->unchanged, 20);
  EXPECT_EQ(r->written(), 0);
  EXPECT_EQ(r->files_read, 0);  // mtime+size matched: not one file opened
}

TEST_F(ScannerTest, EditingOneFileMakesExactlyThatDocumentPending) {
  for (int i = 0; i < 5; ++i) test::WriteFile(Note("n" + std::to_string(i) + ".md"), "note " + std::to_string(i));
  ASSERT_TRUE(Scan().ok());
  // Pretend everything synced.
  for (int i = 0; i < 5; ++i) {
    auto d = *store_->Get("notes:n" + std::to_string(i) + ".md");
    std::vector<SyncOutcome> o{{SyncOutcome::Kind::kSynced, d->key, d->content_hash, 1}};
    ASSERT_TRUE(store_->ApplySyncOutcomes(o).ok());
  }
  test::WriteFile(Note("n3.md"), "note 3 edited");
  test::BumpMtime(Note("n3.md"));
  auto r = Scan();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->changed, 1);
  EXPECT_EQ(r->written(), 1);
  for (int i = 0; i < 5; ++i) {
    auto d = *store_->Get("notes:n" + std::to_string(i) + ".md");
    EXPECT_EQ(d->sync_status, i == 3 ? SyncStatus::kPending : SyncStatus::kSynced) << i;
  }
}

TEST_F(ScannerTest, TouchedButUnchangedFileIsNotRewritten) {
  test::WriteFile(Note("a.md"), "same");
  ASSERT_TRUE(Scan().ok());
  test::BumpMtime(Note("a.md"));
  auto r = Scan();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->files_read, 1);
  EXPECT_EQ(r->written(), 0);
  auto again = Scan();  // the new mtime was recorded
  EXPECT_EQ(again->files_read, 0);
}

TEST_F(ScannerTest, DeletedFileIsTombstonedAndRestoredWhenItReturns) {
  for (int i = 0; i < 4; ++i) test::WriteFile(Note("n" + std::to_string(i) + ".md"), "note " + std::to_string(i));
  ASSERT_TRUE(Scan().ok());
  auto d = *store_->Get("notes:n1.md");
  std::vector<SendClaim> c{{d->key, d->content_hash, 1}};  // it reached Chroma once
  ASSERT_TRUE(store_->ClaimForSend(c).ok());
  std::filesystem::remove(Note("n1.md"));
  auto r = Scan();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->removed, 1);
  auto t = *store_->Get("notes:n1.md");
  ASSERT_TRUE(t.has_value());
  EXPECT_TRUE(t->deleted_at.has_value());
  EXPECT_TRUE(store_->KeywordSearch("\"note\"", 10)->size() == 3);
  test::WriteFile(Note("n1.md"), "note 1 is back");
  auto back = Scan();
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->restored, 1);
  EXPECT_FALSE((*store_->Get("notes:n1.md"))->deleted_at.has_value());
}

TEST_F(ScannerTest, BadFilesAreSkippedWithReasonsAndTheScanGoesOn) {
  test::WriteFile(Note("good.md"), "# fine\n");
  test::WriteFile(Note("latin1.md"), std::string("caf\xe9 au lait"));
  test::WriteFile(Note("binary.md"), std::string("PK\x03\x04\0\0binary", 12));
  test::WriteFile(Note("big.md"), std::string(5000, 'a'));
  test::WriteFile(Note("overlong.txt"), std::string("\xc0\xaf"));
  std::filesystem::create_symlink(Note("nowhere.md"), Note("dangling.md"));
  std::filesystem::create_directories(Note("loop"));
  std::filesystem::create_directory_symlink(notes_, Note("loop/back"));
  ::mkfifo(Note("pipe.md").c_str(), 0644);
  auto r = Scan([](ScanOptions& o) { o.max_file_bytes = 4096; });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(store_->Get("notes:good.md")->has_value());
  struct Expect { const char* path; const char* reason; };
  for (auto e : {Expect{"latin1.md", "invalid_utf8"}, Expect{"binary.md", "binary"},
                 Expect{"big.md", "too_large"}, Expect{"overlong.txt", "invalid_utf8"},
                 Expect{"dangling.md", "dangling_symlink"}, Expect{"loop/back", "symlink_loop"},
                 Expect{"pipe.md", "not_regular"}}) {
    const SkippedFile* s = FindSkipped(*r, e.path);
    ASSERT_NE(s, nullptr) << e.path;
    EXPECT_EQ(s->reason, e.reason) << e.path;
    EXPECT_FALSE(s->detail.empty());
    EXPECT_FALSE(store_->Get(std::string("notes:") + e.path)->has_value()) << e.path;
  }
  EXPECT_NE(FindSkipped(*r, "latin1.md")->detail.find("byte 3"), std::string::npos);
  // Visible later through the store (stats and `kbindex skipped`).
  EXPECT_EQ(store_->ListSkipped()->size(), r->skipped.size());
  EXPECT_EQ(store_->Stats(3)->skipped, static_cast<int64_t>(r->skipped.size()));
}

TEST_F(ScannerTest, FileVanishingMidScanIsSkippedAndTombstoned) {
  test::WriteFile(Note("a.md"), "a");
  test::WriteFile(Note("b.md"), "b");
  ASSERT_TRUE(Scan().ok());
  auto d = *store_->Get("notes:b.md");
  std::vector<SendClaim> c{{d->key, d->content_hash, 1}};
  ASSERT_TRUE(store_->ClaimForSend(c).ok());
  test::WriteFile(Note("b.md"), "b changed");
  test::BumpMtime(Note("b.md"));
  auto r = Scan([&](ScanOptions& o) {
    o.before_read = [&](const std::string& rel) {
      if (rel == "b.md") std::filesystem::remove(Note("b.md"));
    };
  });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_NE(FindSkipped(*r, "b.md"), nullptr);
  EXPECT_EQ(FindSkipped(*r, "b.md")->reason, "vanished");
  EXPECT_TRUE((*store_->Get("notes:b.md"))->deleted_at.has_value());
  EXPECT_TRUE(store_->Get("notes:a.md")->has_value());
}

TEST_F(ScannerTest, FileBecomingInvalidKeepsItsLastGoodVersion) {
  test::WriteFile(Note("a.md"), "good words");
  ASSERT_TRUE(Scan().ok());
  test::WriteFile(Note("a.md"), std::string("bad \xff bytes"));
  test::BumpMtime(Note("a.md"));
  auto r = Scan();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(FindSkipped(*r, "a.md")->reason, "invalid_utf8");
  auto d = *store_->Get("notes:a.md");
  ASSERT_TRUE(d.has_value());
  EXPECT_FALSE(d->deleted_at.has_value());
  EXPECT_EQ(d->body, "good words");
}

TEST_F(ScannerTest, IncludeAndExcludeGlobs) {
  test::WriteFile(Note("a.md"), "a");
  test::WriteFile(Note("drafts/b.md"), "b");
  test::WriteFile(Note("c.org"), "c");
  auto r = Scan([](ScanOptions& o) {
    o.include = {"*.md", "*.org"};
    o.exclude = {"drafts"};
  });
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(store_->Get("notes:a.md")->has_value());
  EXPECT_TRUE(store_->Get("notes:c.org")->has_value());
  EXPECT_FALSE(store_->Get("notes:drafts/b.md")->has_value());
  EXPECT_TRUE(MatchesGlob("drafts/*", "drafts/x/y.md"));
  EXPECT_TRUE(MatchesGlob("*.md", "deep/down/x.md"));
  EXPECT_FALSE(MatchesGlob("*.md", "x.markdown"));
}

TEST_F(ScannerTest, SafetyValveStopsMassDeletion) {
  for (int i = 0; i < 10; ++i) test::WriteFile(Note("n" + std::to_string(i) + ".md"), "x" + std::to_string(i));
  ASSERT_TRUE(Scan().ok());
  for (int i = 0; i < 10; ++i) {
    auto d = *store_->Get("notes:n" + std::to_string(i) + ".md");
    std::vector<SendClaim> c{{d->key, d->content_hash, 1}};
    ASSERT_TRUE(store_->ClaimForSend(c).ok());
  }
  // Empty folder (an unmounted disk looks like this).
  for (int i = 0; i < 10; ++i) std::filesystem::remove(Note("n" + std::to_string(i) + ".md"));
  auto r = Scan();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kAborted);
  EXPECT_NE(r.status().message().find("--allow-mass-delete"), std::string::npos);
  EXPECT_EQ(store_->Stats(3)->live, 10);  // nothing was removed

  // Missing folder.
  std::filesystem::remove_all(notes_);
  r = Scan();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kAborted);
  EXPECT_NE(r.status().message().find("missing"), std::string::npos);
  EXPECT_EQ(store_->Stats(3)->live, 10);

  // 95% gone (19 of 20) trips it too; 1 of 20 does not.
  std::filesystem::create_directories(notes_);
  for (int i = 0; i < 20; ++i) test::WriteFile(Note("n" + std::to_string(i) + ".md"), "x" + std::to_string(i));
  ASSERT_TRUE(Scan([](ScanOptions& o) { o.allow_mass_delete = true; }).ok());
  std::filesystem::remove(Note("n0.md"));
  ASSERT_TRUE(Scan().ok());
  for (int i = 1; i < 20; ++i) std::filesystem::remove(Note("n" + std::to_string(i) + ".md"));
  test::WriteFile(Note("new.md"), "new");
  r = Scan();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("19 of 19"), std::string::npos) << r.status().message();
  // With the flag it goes through.
  r = Scan([](ScanOptions& o) { o.allow_mass_delete = true; });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(store_->Stats(3)->live, 1);
}

TEST_F(ScannerTest, MissingFolderWithoutDocumentsIsNotFound) {
  ScanOptions opt;
  opt.root = dir_ / "does-not-exist";
  auto r = ScanFolder(*store_, opt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_TRUE(store_->ListSources()->empty());
}

// Root reads every file, so permission checks run in a child process as 'nobody'.
int RunAsNobody(const std::function<bool()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::geteuid() == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
    }
    ::_exit(body() ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}

TEST_F(ScannerTest, UnreadableFilesAndFoldersAreSkippedAndKept) {
  test::WriteFile(Note("open.md"), "open");
  test::WriteFile(Note("secret.md"), "secret");
  test::WriteFile(Note("private/inner.md"), "inner");
  ::chmod(dir_.path().c_str(), 0777);
  ::chmod(db_dir_.path().c_str(), 0777);
  const std::string db = db_dir_ / "nobody.db";  // created by the child, so it can write it
  auto scan = [&]() -> bool {
    auto s = DocumentStore::Open(db);
    if (!s.ok()) {
      std::fprintf(stderr, "open: %s\n", s.status().ToString().c_str());
      return false;
    }
    ScanOptions opt;
    opt.root = notes_;
    auto r = ScanFolder(**s, opt);
    if (!r.ok()) std::fprintf(stderr, "scan: %s\n", r.status().ToString().c_str());
    return r.ok();
  };
  // First scan as nobody with everything readable.
  std::filesystem::permissions(notes_, std::filesystem::perms::all);
  ASSERT_EQ(RunAsNobody(scan), 0);
  ::chmod(Note("secret.md").c_str(), 0000);
  ::chmod(Note("private").c_str(), 0000);
  test::BumpMtime(Note("secret.md"));
  ASSERT_EQ(RunAsNobody(scan), 0);
  ::chmod(Note("private").c_str(), 0755);
  auto s = DocumentStore::Open(db);
  ASSERT_TRUE(s.ok());
  auto skipped = (*s)->ListSkipped();
  ASSERT_TRUE(skipped.ok());
  bool file_seen = false, dir_seen = false;
  for (const auto& f : *skipped) {
    if (f.path == "secret.md" && f.reason == "unreadable") file_seen = true;
    if (f.path == "private/" && f.reason == "unreadable") dir_seen = true;
  }
  EXPECT_TRUE(file_seen);
  EXPECT_TRUE(dir_seen);
  // Both keep their last indexed version rather than being deleted.
  EXPECT_FALSE((*(*s)->Get("notes:secret.md"))->deleted_at.has_value());
  EXPECT_FALSE((*(*s)->Get("notes:private/inner.md"))->deleted_at.has_value());
}

}  // namespace
}  // namespace kb
