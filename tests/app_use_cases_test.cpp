// The use cases over the in-memory vector store: indexing, sync and the worker pass, reindex
// (in place and switching), verify and repair, search, stats, health, failures and retry, and
// the factory's promises (one engine that follows the database; one worker per database).
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "sync/chunk_records.h"
#include "app/indexing.h"
#include "app/maintenance.h"
#include "app/notes.h"
#include "app/search.h"
#include "app/state.h"
#include "support/fake_vector_store.h"
#include "support/temp_dir.h"
#include "support/test_services.h"

namespace kb {
namespace {

class UseCaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.db_path = dir_ / "kb.db";
    config_.backoff_base_ms = 1;
    services_ = test::OpenTestServices(failing_, config_);
    ASSERT_TRUE(services_);
  }
  app::Services& S() { return *services_; }
  void WriteNotes(int n, const std::string& folder = "notes") {
    for (int i = 0; i < n; ++i) {
      test::WriteFile(dir_ / (folder + "/n" + std::to_string(i) + ".md"),
                      "# Note " + std::to_string(i) + "\nharbour lantern " + std::to_string(i) + " orchard\n");
    }
  }
  kbindex::IndexReport Index(const std::string& folder = "notes", bool allow_mass_delete = false) {
    kbindex::IndexRequest req;
    req.folders = {dir_ / folder};
    req.allow_mass_delete = allow_mass_delete;
    auto r = app::IndexFolders(S(), req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : kbindex::IndexReport{};
  }
  // The notes' chunks (the index canary's probe record is not one).
  size_t Records(const std::string& collection = "kbindex") {
    auto records = fake_.Records(collection);
    return records.size() - records.count(kProbeId);
  }

  test::TempDir dir_;
  Config config_;
  test::FakeVectorStore fake_;
  test::FailingVectorStore failing_{fake_};
  std::unique_ptr<app::Services> services_;
};

TEST_F(UseCaseTest, IndexScansAndSyncsInOnePass) {
  WriteNotes(12);
  kbindex::IndexReport r = Index();
  ASSERT_EQ(r.folders.size(), 1u);
  EXPECT_TRUE(r.folders[0].status.ok());
  EXPECT_EQ(r.folders[0].source, "notes");
  EXPECT_EQ(r.folders[0].added, 12);
  ASSERT_TRUE(r.sync.has_value());
  EXPECT_EQ(r.sync->synced, 12);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(Records(), 12u);
  // Again: nothing changed, nothing sent.
  const int writes = fake_.write_calls;
  kbindex::IndexReport again = Index();
  EXPECT_EQ(again.folders[0].unchanged, 12);
  EXPECT_EQ(again.sync->attempted, 0);
  EXPECT_EQ(fake_.write_calls, writes);
}

TEST_F(UseCaseTest, IndexReportsTheSafetyValvePerFolderAndRemovesNothing) {
  WriteNotes(10);
  Index();
  std::filesystem::remove_all(dir_ / "notes");
  std::filesystem::create_directories(dir_ / "notes");
  kbindex::IndexReport r = Index();
  ASSERT_EQ(r.folders.size(), 1u);
  EXPECT_EQ(r.folders[0].status.code(), Status::Code::kAborted);
  EXPECT_NE(r.folders[0].status.message().find("--allow-mass-delete"), std::string::npos);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(app::GetStats(S())->documents, 10);
  EXPECT_EQ(Records(), 10u);
  kbindex::IndexReport forced = Index("notes", true);
  EXPECT_EQ(forced.folders[0].removed, 10);
  EXPECT_EQ(Records(), 0u);
}

TEST_F(UseCaseTest, IndexWithoutFoldersIsAClearError) {
  kbindex::IndexRequest req;
  auto r = app::IndexFolders(S(), req);
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("folders"), std::string::npos);
}

TEST_F(UseCaseTest, ChromaDownLeavesNotesFailedWithTheReasonAndTheWorkerPassTouchesNothing) {
  WriteNotes(5);
  failing_.SetDown(Status::Unavailable("connection refused"));
  kbindex::IndexReport r = Index();
  EXPECT_EQ(r.folders[0].added, 5);
  ASSERT_TRUE(r.sync.has_value());
  EXPECT_EQ(r.sync->failed, 5);
  EXPECT_FALSE(r.ok());
  auto failures = app::ListFailures(S(), 100);
  ASSERT_TRUE(failures.ok());
  ASSERT_EQ(failures->size(), 5u);
  EXPECT_NE((*failures)[0].error.find("connection refused"), std::string::npos);
  EXPECT_EQ((*failures)[0].attempts, 1);
  // The worker sees Chroma down: a pass is recorded, nobody's attempts are used up.
  WorkerOptions wo;
  auto pass = app::RunWorkerPass(S(), wo);
  ASSERT_TRUE(pass.ok()) << pass.status().ToString();
  EXPECT_TRUE(pass->unreachable);
  EXPECT_EQ((*app::ListFailures(S(), 100))[0].attempts, 1);
  // Back up: retry makes them due at once, and one pass syncs them.
  failing_.SetDown(std::nullopt);
  EXPECT_EQ(*app::Retry(S(), ""), 5);
  EXPECT_EQ(app::Retry(S(), "notes:nope.md").status().code(), Status::Code::kNotFound);
  auto after = app::RunWorkerPass(S(), wo);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->synced, 5);
  EXPECT_EQ(Records(), 5u);
}

TEST_F(UseCaseTest, SearchDefaultsToHybridAndDegradesToKeywordWhenChromaIsDown) {
  WriteNotes(6);
  Index();
  kbindex::SearchRequest req;
  req.query = "harbour lantern 3";
  auto r = app::Search(S(), req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->mode, kbindex::SearchMode::kHybrid);
  EXPECT_FALSE(r->degraded);
  ASSERT_FALSE(r->hits.empty());
  EXPECT_EQ(r->hits[0].id, "notes:n3.md");
  EXPECT_GT(r->hits[0].keyword_rank, 0);
  EXPECT_GT(r->hits[0].semantic_rank, 0);
  failing_.SetDown(Status::Unavailable("down"));
  auto degraded = app::Search(S(), req);
  ASSERT_TRUE(degraded.ok());
  EXPECT_TRUE(degraded->degraded);
  EXPECT_NE(degraded->degraded_reason.find("down"), std::string::npos);
  ASSERT_FALSE(degraded->hits.empty());
  EXPECT_EQ(degraded->hits[0].id, "notes:n3.md");
  req.query = "\"unbalanced";
  req.raw = true;
  req.mode = kbindex::SearchMode::kKeyword;
  EXPECT_EQ(app::Search(S(), req).status().code(), Status::Code::kInvalidArgument);
  req.query = std::string(app::kMaxQueryBytes + 1, 'a');
  EXPECT_EQ(app::Search(S(), req).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(UseCaseTest, StatsAndHealthReportSQLiteAndChroma) {
  WriteNotes(4);
  Index();
  auto st = app::GetStats(S());
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->documents, 4);
  EXPECT_EQ(st->synced, 4);
  EXPECT_EQ(st->embedder, "hash-v1:384");
  EXPECT_EQ(st->collection, "kbindex");
  ASSERT_TRUE(st->chroma.has_value());
  EXPECT_TRUE(st->chroma->reachable);
  EXPECT_EQ(st->chroma->count, 4);
  ASSERT_TRUE(st->last_sync_run.has_value());
  EXPECT_EQ(st->last_sync_run->kind, "index");
  EXPECT_TRUE(app::CheckHealth(S()).ok);
  failing_.SetDown(Status::Unavailable("refused"));
  kbindex::Health h = app::CheckHealth(S());
  EXPECT_FALSE(h.ok);
  ASSERT_FALSE(h.reasons.empty());
  EXPECT_NE(h.reasons[0].find("chroma"), std::string::npos);
  EXPECT_FALSE(app::GetStats(S())->chroma->reachable);
}

TEST_F(UseCaseTest, ReindexInPlaceKeepsTheCollectionAndASwitchBuildsANewOne) {
  WriteNotes(8);
  Index();
  auto in_place = app::Reindex(S(), {});
  ASSERT_TRUE(in_place.ok()) << in_place.status().ToString();
  EXPECT_FALSE(in_place->switched);
  EXPECT_EQ(in_place->documents, 8);
  EXPECT_EQ(in_place->collection, "kbindex");
  kbindex::ReindexRequest sw;
  sw.embedder = "hash";
  sw.embed_dims = 64;
  auto switched = app::Reindex(S(), sw);
  ASSERT_TRUE(switched.ok()) << switched.status().ToString();
  EXPECT_TRUE(switched->switched);
  EXPECT_EQ(switched->collection, "kbindex__v2");
  EXPECT_EQ(switched->embedder, "hash-v1:64");
  EXPECT_EQ(Records("kbindex__v2"), 8u);
  EXPECT_FALSE(fake_.GetCollection("kbindex")->has_value());
  // The Services' own engine and search follow the switch.
  WriteNotes(9);
  kbindex::IndexReport r = Index();
  EXPECT_EQ(r.sync->synced, 1);
  EXPECT_EQ(Records("kbindex__v2"), 9u);
  EXPECT_EQ(fake_.Records("kbindex__v2").begin()->second.embedding.size(), 64u);
  kbindex::SearchRequest q;
  q.query = "harbour lantern 8";
  q.mode = kbindex::SearchMode::kSemantic;
  auto hits = app::Search(S(), q);
  ASSERT_TRUE(hits.ok()) << hits.status().ToString();
  ASSERT_FALSE(hits->hits.empty());
  EXPECT_EQ(hits->hits[0].id, "notes:n8.md");
}

TEST_F(UseCaseTest, AnExplicitEmbedderThatContradictsTheDatabaseIsRefusedUntilReindex) {
  WriteNotes(3);
  Index();
  services_.reset();
  Config other = config_;
  other.embedder = "hash";
  other.embed_dims = 32;
  services_ = test::OpenTestServices(failing_, other);
  ASSERT_TRUE(services_);
  auto sync = app::SyncNow(S(), nullptr, "sync");
  EXPECT_EQ(sync.status().code(), Status::Code::kConflict);
  EXPECT_NE(sync.status().message().find("reindex --embedder"), std::string::npos);
  kbindex::IndexRequest req;
  req.folders = {dir_ / "notes"};
  EXPECT_EQ(app::IndexFolders(S(), req).status().code(), Status::Code::kConflict);
  auto r = app::Reindex(S(), {});  // the configured embedder: a switch
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->switched);
  EXPECT_EQ(r->embedder, "hash-v1:32");
  EXPECT_TRUE(app::SyncNow(S(), nullptr, "sync").ok());
}

TEST_F(UseCaseTest, AnEngineFollowsAnEmbedderSwitchMadeByAnotherProcess) {
  WriteNotes(4);
  Index();
  app::Services& first = S();
  ASSERT_TRUE(first.Engine().ok());  // bound to kbindex / hash-v1:384
  // "Another process": a second Services on the same database file.
  auto second = test::OpenTestServices(failing_, config_);
  ASSERT_TRUE(second);
  kbindex::ReindexRequest sw;
  sw.embedder = "hash";
  sw.embed_dims = 48;
  ASSERT_TRUE(app::Reindex(*second, sw).ok());
  ASSERT_TRUE(app::PutNote(first, {"late", "", "# Late\nwritten after the switch", "{}"}).ok());
  auto pass = app::SyncNow(first, nullptr, "sync");
  ASSERT_TRUE(pass.ok()) << pass.status().ToString();
  EXPECT_EQ(pass->synced, 1);
  auto records = fake_.Records("kbindex__v2");
  ASSERT_EQ(records.count("late#0"), 1u);
  EXPECT_EQ(records["late#0"].embedding.size(), 48u);
}

TEST_F(UseCaseTest, VerifyFindsDriftAndRepairFixesIt) {
  WriteNotes(5);
  Index();
  auto clean = app::Verify(S(), {});
  ASSERT_TRUE(clean.ok()) << clean.status().ToString();
  EXPECT_TRUE(clean->ok());
  // Behind kbindex's back: one chunk deleted, one orphan added.
  auto coll = *fake_.GetCollection("kbindex");
  ASSERT_TRUE(coll.has_value());
  std::vector<std::string> gone{"notes:n2.md#0"};
  ASSERT_TRUE(fake_.Delete(*coll, gone).ok());
  std::vector<VectorRecord> orphan{{"stray#0", std::vector<float>(384, 0.1f), std::nullopt, "{}"}};
  ASSERT_TRUE(fake_.Upsert(*coll, orphan).ok());
  auto drift = app::Verify(S(), {});
  ASSERT_TRUE(drift.ok());
  EXPECT_FALSE(drift->ok());
  EXPECT_EQ(drift->before.missing, 1);
  EXPECT_EQ(drift->before.orphans, 1);
  EXPECT_FALSE(drift->after.has_value());
  auto repaired = app::Verify(S(), kbindex::VerifyRequest{true});
  ASSERT_TRUE(repaired.ok());
  ASSERT_TRUE(repaired->after.has_value());
  EXPECT_TRUE(repaired->ok());
  EXPECT_EQ(repaired->repair->synced, 1);
  EXPECT_EQ(Records(), 5u);
  // Verify ran the index canary, which keeps its probe record in the collection.
  ASSERT_TRUE(repaired->index_check.has_value());
  EXPECT_TRUE(repaired->index_check->ok) << repaired->index_check->reason;
  EXPECT_TRUE(repaired->index_check->probe_found);
  EXPECT_EQ(fake_.Records("kbindex").count(kProbeId), 1u);
}

TEST_F(UseCaseTest, OneWorkerPerDatabaseAcrossServices) {
  WorkerOptions wo;
  wo.interval_ms = 60'000;
  ASSERT_TRUE(S().StartWorker(wo).ok());
  EXPECT_TRUE(S().WorkerState().has_value());
  auto other = test::OpenTestServices(failing_, config_);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->StartWorker(wo).code(), Status::Code::kConflict);
  EXPECT_EQ(app::RunWorkerPass(*other, wo).status().code(), Status::Code::kConflict);
  S().StopWorker();
  EXPECT_FALSE(S().WorkerState().has_value());
  EXPECT_TRUE(other->StartWorker(wo).ok());
  other->StopWorker();
}

TEST_F(UseCaseTest, APutNudgesARunningWorker) {
  WorkerOptions wo;
  wo.interval_ms = 3'600'000;  // only a nudge can make it pass again
  ASSERT_TRUE(S().StartWorker(wo).ok());
  ASSERT_TRUE(app::PutNote(S(), {"nudged", "", "# Nudged\nbody", "{}"}).ok());
  bool synced = false;
  for (int i = 0; i < 400 && !synced; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    synced = (*app::GetNote(S(), "nudged", false))->sync.state == kbindex::SyncState::kSynced;
  }
  EXPECT_TRUE(synced);
  S().StopWorker();
}

}  // namespace
}  // namespace kb
