// Use cases for notes pushed by the application, over the in-memory vector store.
#include "app/notes.h"

#include <gtest/gtest.h>

#include "app/indexing.h"
#include "app/maintenance.h"
#include "support/fake_vector_store.h"
#include "support/temp_dir.h"
#include "support/test_services.h"

namespace kb {
namespace {

class NotesUseCaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    services_ = test::OpenTestServices(fake_);
    ASSERT_TRUE(services_);
  }
  app::Services& S() { return *services_; }
  Result<kbindex::PutResult> Put(const std::string& id, const std::string& body, const std::string& meta = "{}") {
    return app::PutNote(S(), kbindex::NoteInput{id, "", body, meta});
  }

  test::FakeVectorStore fake_;
  std::unique_ptr<app::Services> services_;
};

TEST(NoteIdTest, ValidatesIds) {
  for (const char* good : {"note-1", "a/b/c.md", "2024:meeting@team+x", "x.y_z~1"}) {
    EXPECT_TRUE(app::ValidateNoteId(good).ok()) << good;
  }
  for (const char* bad : {"", "/abs", "trailing/", "a//b", "..", "../up", "a/../b", "sp ace", "q?x", "ü", "a#b"}) {
    EXPECT_EQ(app::ValidateNoteId(bad).code(), Status::Code::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(app::ValidateNoteId(std::string(513, 'a')).ok());
}

TEST(NoteToDocumentTest, BuildsTheSameHashForTheSameContentAndRefusesBadInput) {
  auto d = app::NoteToDocument({"n1", "", "# Heading\ntext", R"({"tags":["a","b"],"n":3})"}, 1000);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->title, "Heading");
  EXPECT_EQ(d->source, "api");
  EXPECT_FALSE(d->path.has_value());
  auto same = app::NoteToDocument({"n1", "", "# Heading\ntext", R"({"n":3,"tags":["a","b"]})"}, 1000);
  EXPECT_EQ(d->content_hash, same->content_hash);  // key order does not matter
  auto other = app::NoteToDocument({"n1", "T", "# Heading\ntext", "{}"}, 1000);
  EXPECT_NE(d->content_hash, other->content_hash);
  EXPECT_EQ(app::NoteToDocument({"n1", "", "x", "{}"}, 1000)->title, "n1");
  for (const kbindex::NoteInput& bad :
       {kbindex::NoteInput{"n1", "", "x", R"({"k":{"nested":1}})"}, kbindex::NoteInput{"n1", "", "x", "[1]"},
        kbindex::NoteInput{"n1", "", "x", "{broken"}, kbindex::NoteInput{"n1", "", std::string(2000, 'x'), "{}"},
        kbindex::NoteInput{"n1", "", "bad \xff utf8", "{}"}, kbindex::NoteInput{"../x", "", "x", "{}"}}) {
    auto r = app::NoteToDocument(bad, 1000);
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << bad.metadata_json;
    EXPECT_FALSE(r.status().message().empty());
  }
}

TEST_F(NotesUseCaseTest, PutIsIdempotentAndPendingUntilSynced) {
  auto first = Put("n1", "# One\nalpha");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->outcome, kbindex::WriteOutcome::kCreated);
  EXPECT_EQ(first->sync_state, kbindex::SyncState::kPending);
  auto again = Put("n1", "# One\nalpha");
  EXPECT_EQ(again->outcome, kbindex::WriteOutcome::kUnchanged);
  EXPECT_EQ(again->content_hash, first->content_hash);
  auto changed = Put("n1", "# One\nbeta");
  EXPECT_EQ(changed->outcome, kbindex::WriteOutcome::kUpdated);
  ASSERT_TRUE(app::SyncNow(S(), nullptr, "sync").ok());
  auto note = app::GetNote(S(), "n1", true);
  ASSERT_TRUE(note.ok() && note->has_value());
  EXPECT_EQ((*note)->sync.state, kbindex::SyncState::kSynced);
  EXPECT_EQ((*note)->body, "# One\nbeta");
  EXPECT_EQ(fake_.Records("kbindex").size(), 1u);
}

TEST_F(NotesUseCaseTest, DeleteRemovesAtOnceAndFromChromaOnTheNextSync) {
  ASSERT_TRUE(Put("gone", "# Gone\nsoon").ok());
  // Never sent: the row goes at once.
  auto d1 = app::DeleteNote(S(), "gone");
  ASSERT_TRUE(d1.ok());
  EXPECT_TRUE(d1->purged);
  EXPECT_EQ(app::DeleteNote(S(), "gone").status().code(), Status::Code::kNotFound);

  ASSERT_TRUE(Put("kept", "# Kept\nfor a while").ok());
  ASSERT_TRUE(app::SyncNow(S(), nullptr, "sync").ok());
  ASSERT_EQ(fake_.Records("kbindex").size(), 1u);
  auto d2 = app::DeleteNote(S(), "kept");
  ASSERT_TRUE(d2.ok());
  EXPECT_FALSE(d2->purged);  // a tombstone waits for Chroma
  auto row = app::GetNote(S(), "kept", false);
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_TRUE((*row)->deleted_ms.has_value());
  ASSERT_TRUE(app::SyncNow(S(), nullptr, "sync").ok());
  EXPECT_TRUE(fake_.Records("kbindex").empty());
  EXPECT_FALSE(app::GetNote(S(), "kept", false)->has_value());
}

TEST_F(NotesUseCaseTest, SourceOwnershipHoldsInBothDirections) {
  test::TempDir dir;
  test::WriteFile(dir / "notes/a.md", "# A\nfrom the folder");
  test::WriteFile(dir / "notes/b.md", "# B\nfrom the folder");
  // An API note that takes the id a file of folder 'notes' would have.
  ASSERT_TRUE(Put("notes:b.md", "# Pushed\nfrom the API").ok());
  kbindex::IndexRequest req;
  req.folders = {dir / "notes"};
  req.sync = false;
  auto report = app::IndexFolders(S(), req);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->folders.size(), 1u);
  EXPECT_EQ(report->folders[0].added, 1);
  ASSERT_EQ(report->folders[0].skipped.size(), 1u);
  EXPECT_EQ(report->folders[0].skipped[0].reason, "id_conflict");
  // The folder did not overwrite the API note...
  auto pushed = app::GetNote(S(), "notes:b.md", true);
  ASSERT_TRUE(pushed.ok() && pushed->has_value());
  EXPECT_EQ((*pushed)->source, "api");
  EXPECT_EQ((*pushed)->body, "# Pushed\nfrom the API");
  // ... and the API cannot change or delete the folder's note.
  auto put = Put("notes:a.md", "hijacked");
  EXPECT_EQ(put.status().code(), Status::Code::kConflict);
  EXPECT_NE(put.status().message().find("edit the file"), std::string::npos);
  EXPECT_EQ(app::DeleteNote(S(), "notes:a.md").status().code(), Status::Code::kConflict);
  EXPECT_EQ((*app::GetNote(S(), "notes:a.md", true))->body, "# A\nfrom the folder");
}

}  // namespace
}  // namespace kb
