// Renamed notes in the vector store: the chunks move to the new ids with the vectors they had
// (no embedding) when the note's text is unchanged, the old ids go, and every crash point,
// race and corner (a new note at the old path, a rename in flight, a deletion before the move)
// still ends with SQLite and the vector store in agreement.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>
#include <chrono>
#include <nlohmann/json.hpp>

#include "embed/hash_embedder.h"
#include "scan/scanner.h"
#include "support/fake_vector_store.h"
#include "support/temp_dir.h"
#include "sync/sync_engine.h"
#include "sync/verifier.h"

namespace kb {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Counts the texts it embeds.
class CountingEmbedder : public Embedder {
 public:
  std::string Id() const override { return inner_.Id(); }
  int Dimensions() const override { return inner_.Dimensions(); }
  Result<Embeddings> Embed(std::span<const std::string_view> texts) override {
    embedded += static_cast<int>(texts.size());
    return inner_.Embed(texts);
  }
  int embedded = 0;

 private:
  HashEmbedder inner_{64};
};

class RenameSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(DocumentStore::Open(db_ / "kb.db")).value();
    notes_ = dir_ / "notes";
    fs::create_directories(notes_);
    options_.chunker.max_bytes = 200;
    options_.unreachable_retry_ms = 0;
  }
  SyncEngine& Engine() {
    if (!engine_) engine_ = std::make_unique<SyncEngine>(*store_, failing_, embedder_, options_);
    return *engine_;
  }
  static std::string Text(const std::string& title, int parts) {
    std::string s = "# " + title + "\n";
    for (int i = 0; i < parts; ++i) s += "## Part " + std::to_string(i) + "\n" + std::string(150, 'a' + i % 26) + " " + title + "\n\n";
    return s;
  }
  void Write(const std::string& rel, const std::string& text) {
    test::WriteFile(notes_ + "/" + rel, text);
    test::BumpMtime(notes_ + "/" + rel, 0);
  }
  void Paths(std::vector<std::string> paths) {
    ScanOptions o;
    o.root = notes_;
    auto r = ScanPaths(*store_, o, paths);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  void Full() {
    ScanOptions o;
    o.root = notes_;
    ASSERT_TRUE(ScanFolder(*store_, o).ok());
  }
  SyncReport Run(PassOptions pass = {}) { return Engine().Run(pass); }
  std::map<std::string, test::FakeVectorStore::Stored> Chroma() { return fake_.Records("kbindex"); }
  std::vector<std::string> IdsOf(const std::string& doc_id) {
    std::vector<std::string> out;
    for (const auto& [id, rec] : Chroma()) {
      if (id.rfind(doc_id + "#", 0) == 0) out.push_back(id);
    }
    return out;
  }
  ::testing::AssertionResult Converged() {
    auto c = fake_.GetCollection("kbindex");
    if (!c.ok() || !c->has_value()) return ::testing::AssertionFailure() << "no collection";
    auto v = Verify(*store_, fake_, **c);
    if (!v.ok()) return ::testing::AssertionFailure() << v.status().ToString();
    if (!v->converged()) {
      return ::testing::AssertionFailure() << "missing " << v->missing.size() << ", stale " << v->stale.size()
                                           << ", orphans " << v->orphans.size() << " (e.g. "
                                           << (v->orphans.empty() ? "" : v->orphans[0]) << "), unsynced "
                                           << v->unsynced_rows << ", expected " << v->expected_chunks << " vs "
                                           << v->vector_chunks;
    }
    if (!store_->ListMoves()->empty()) return ::testing::AssertionFailure() << "moves left";
    return ::testing::AssertionSuccess();
  }

  test::TempDir dir_, db_;
  std::string notes_;
  std::unique_ptr<DocumentStore> store_;
  test::FakeVectorStore fake_;
  test::FailingVectorStore failing_{fake_};
  CountingEmbedder embedder_;
  SyncOptions options_;
  std::unique_ptr<SyncEngine> engine_;
};

TEST_F(RenameSyncTest, ARenamedNoteMovesItsVectorsWithoutBeingEmbedded) {
  Write("a.md", Text("Alpha", 3));
  Write("b.md", Text("Beta", 2));
  Full();
  Run();
  const auto before = Chroma();
  const int n = static_cast<int>(IdsOf("notes:a.md").size());
  ASSERT_GE(n, 3);
  embedder_.embedded = 0;

  fs::create_directories(notes_ + "/archive");
  fs::rename(notes_ + "/a.md", notes_ + "/archive/alpha.md");
  Paths({"a.md", "archive/alpha.md"});
  SyncReport r = Run();
  EXPECT_EQ(r.synced, 1);
  EXPECT_EQ(r.reused, n);
  EXPECT_EQ(embedder_.embedded, 0);  // nothing was embedded
  EXPECT_TRUE(IdsOf("notes:a.md").empty());
  const auto after = Chroma();
  for (int i = 0; i < n; ++i) {
    const auto& moved = after.at("notes:archive/alpha.md#" + std::to_string(i));
    EXPECT_EQ(moved.embedding, before.at("notes:a.md#" + std::to_string(i)).embedding);
    const json m = json::parse(moved.metadata_json);
    EXPECT_EQ(m["doc_id"], "notes:archive/alpha.md");
    EXPECT_EQ(m["path"], "archive/alpha.md");
    EXPECT_EQ(m["title"], "Alpha");
  }
  EXPECT_TRUE(Converged());
}

TEST_F(RenameSyncTest, ARenameThatChangesWhatIsEmbeddedIsEmbeddedAgain) {
  // No heading: the title is the file name, and the title is part of what is embedded.
  Write("plain.txt", "just a line of text without any heading\n");
  Full();
  Run();
  embedder_.embedded = 0;
  fs::rename(notes_ + "/plain.txt", notes_ + "/renamed.txt");
  Paths({"plain.txt", "renamed.txt"});
  auto d = **store_->Get("notes:renamed.txt");
  EXPECT_EQ(d.title, "renamed");
  SyncReport r = Run();
  EXPECT_EQ(r.synced, 1);
  EXPECT_EQ(r.reused, 0);
  EXPECT_EQ(embedder_.embedded, 1);
  EXPECT_EQ(json::parse(Chroma().at("notes:renamed.txt#0").metadata_json)["title"], "renamed");
  EXPECT_TRUE(Converged());
}

TEST_F(RenameSyncTest, AMoveInterruptedAtAnyPointIsFinishedByTheNextPass) {
  Write("a.md", Text("Alpha", 2));
  Full();
  Run();
  const size_t n = IdsOf("notes:a.md").size();
  fs::rename(notes_ + "/a.md", notes_ + "/b.md");
  Paths({"a.md", "b.md"});
  // The upsert to the new ids lands but its reply is lost: the old ids are not deleted yet.
  failing_.FailNextWrites(1, Status::Unavailable("connection reset"), /*apply_first=*/true);
  SyncReport r = Run();
  EXPECT_EQ(r.failed, 1);
  EXPECT_EQ(IdsOf("notes:a.md").size(), n);
  EXPECT_EQ(IdsOf("notes:b.md").size(), n);
  EXPECT_FALSE(store_->ListMoves()->empty());  // recorded until a pass completes the move
  // A pass that deleted the old ids and died before recording it leaves this state:
  auto coll = **fake_.GetCollection("kbindex");
  const auto old_ids = IdsOf("notes:a.md");
  ASSERT_TRUE(fake_.Delete(coll, old_ids).ok());
  // The vectors are not under the old ids any more: the next pass embeds, and converges.
  embedder_.embedded = 0;
  // A pass takes only rows not attempted since it started: let the clock move past the last one.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  r = Run();
  EXPECT_EQ(r.synced, 1);
  EXPECT_EQ(r.reused, 0);
  EXPECT_EQ(embedder_.embedded, static_cast<int>(n));
  EXPECT_TRUE(Converged());
}

TEST_F(RenameSyncTest, ANewNoteAtAMovedNotesOldPathIsNotDeletedByTheMove) {
  Write("a.md", Text("Alpha", 2));
  Full();
  Run();
  fs::rename(notes_ + "/a.md", notes_ + "/b.md");
  Paths({"a.md", "b.md"});
  Write("a.md", Text("A brand new note", 1));  // a new note takes the old name before any sync
  Paths({"a.md"});
  ASSERT_NE((**store_->Get("notes:a.md")).key, (**store_->Get("notes:b.md")).key);
  SyncReport r = Run();  // one pass: the move first, then the new note
  EXPECT_EQ(r.synced, 2);
  ASSERT_FALSE(IdsOf("notes:a.md").empty());
  EXPECT_EQ(json::parse(Chroma().at("notes:a.md#0").metadata_json)["title"], "A brand new note");
  EXPECT_FALSE(IdsOf("notes:b.md").empty());
  EXPECT_TRUE(Converged());
}

TEST_F(RenameSyncTest, ARenameWhileTheOldNameIsInFlightEndsConsistent) {
  Write("a.md", Text("Alpha", 2));
  Full();
  bool renamed = false;
  options_.before_send = [&](const std::vector<int64_t>&) {
    if (renamed) return;
    renamed = true;
    fs::rename(notes_ + "/a.md", notes_ + "/b.md");
    Paths({"a.md", "b.md"});
  };
  SyncReport r = Run();
  EXPECT_EQ(r.superseded, 1);  // sent as a.md, but it is b.md now: not recorded as synced
  const int n = static_cast<int>(IdsOf("notes:a.md").size());
  if (n == 0) {
    // The renamed row (its attempt cleared by the rename) was taken again by the same pass,
    // which moved the chunks that had landed under a.md already.
    EXPECT_TRUE(Converged());
    return;
  }
  options_.before_send = nullptr;
  engine_.reset();
  embedder_.embedded = 0;
  r = Run();
  EXPECT_EQ(r.reused, n);  // the chunks that did land under a.md are moved
  EXPECT_EQ(embedder_.embedded, 0);
  EXPECT_TRUE(Converged());
}

TEST_F(RenameSyncTest, DeletingAMovedNoteDeletesItsChunksUnderEveryName) {
  Write("a.md", Text("Alpha", 2));
  Write("keep.md", Text("Keep", 1));
  Full();
  Run();
  fs::rename(notes_ + "/a.md", notes_ + "/b.md");
  Paths({"a.md", "b.md"});
  fs::remove(notes_ + "/b.md");
  Paths({"b.md"});
  auto tomb = **store_->Get("notes:b.md");
  EXPECT_FALSE(tomb.live());  // kept as a tombstone: its chunks (as a.md) must go
  SyncReport r = Run();
  EXPECT_EQ(r.deleted, 1);
  EXPECT_TRUE(IdsOf("notes:a.md").empty());
  EXPECT_TRUE(Converged());
}

TEST_F(RenameSyncTest, ReindexEmbedsMovedNotesAfresh) {
  Write("a.md", Text("Alpha", 1));
  Full();
  Run();
  fs::rename(notes_ + "/a.md", notes_ + "/b.md");
  Paths({"a.md", "b.md"});
  embedder_.embedded = 0;
  PassOptions pass;
  pass.reuse_moved_vectors = false;
  SyncReport r = Run(pass);
  EXPECT_EQ(r.reused, 0);
  EXPECT_GT(embedder_.embedded, 0);
  EXPECT_TRUE(Converged());
}

TEST_F(RenameSyncTest, MovingANoteBackToItsOldNameKeepsItsChunks) {
  Write("a.md", Text("Alpha", 1));
  Full();
  Run();
  fs::rename(notes_ + "/a.md", notes_ + "/b.md");
  Paths({"a.md", "b.md"});
  fs::rename(notes_ + "/b.md", notes_ + "/a.md");
  Paths({"a.md", "b.md"});
  EXPECT_TRUE(store_->ListMoves()->empty());
  SyncReport r = Run();
  EXPECT_EQ(r.synced, 1);
  EXPECT_FALSE(IdsOf("notes:a.md").empty());
  EXPECT_TRUE(IdsOf("notes:b.md").empty());
  EXPECT_TRUE(Converged());
}

}  // namespace
}  // namespace kb
