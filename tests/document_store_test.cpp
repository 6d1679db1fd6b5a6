#include "store/document_store.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/migrations.h"
#include "support/temp_dir.h"

namespace kb {
namespace {

DocumentInput Doc(const std::string& id, const std::string& body, const std::string& title = "T") {
  DocumentInput d;
  d.id = id;
  d.source = "notes";
  d.path = id.substr(id.find(':') + 1);
  d.title = title;
  d.body = body;
  d.content_hash = "h-" + title + "-" + body;
  return d;
}

class DocumentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions opt;
    opt.clock = &clock_;
    auto s = DocumentStore::Open(":memory:", opt);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  int Count(const std::string& fts) {
    auto hits = store_->KeywordSearch(fts, 100);
    EXPECT_TRUE(hits.ok()) << hits.status().ToString();
    return hits.ok() ? static_cast<int>(hits->size()) : -1;
  }
  ManualClock clock_;
  std::unique_ptr<DocumentStore> store_;
};

TEST(MigrationsTest, FreshDatabaseReachesLatestVersionWithFts5) {
  test::TempDir dir;
  const std::string path = dir / "kb.db";
  { ASSERT_TRUE(DocumentStore::Open(path).ok()); }
  SQLite::Database db(path);
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), LatestSchemaVersion());
  EXPECT_GE(LatestSchemaVersion(), 2);
  EXPECT_EQ(db.execAndGet("PRAGMA journal_mode").getString(), "wal");
  // The FTS5 virtual table exists: SQLite has FTS5.
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM sqlite_master WHERE name='documents_fts'").getInt(), 1);
  // Reopening applies nothing and keeps data.
  {
    auto s = DocumentStore::Open(path);
    ASSERT_TRUE(s.ok());
    std::vector<DocumentInput> docs{Doc("notes:a.md", "alpha")};
    ASSERT_TRUE((*s)->PutDocuments(docs).ok());
  }
  auto again = DocumentStore::Open(path);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->Get("notes:a.md")->has_value());
}

TEST(MappedReadersTest, SearchesSeeEveryWriteAsTheFileGrows) {
  test::TempDir dir;
  StoreOptions opt;
  opt.reader_mmap_bytes = int64_t{1} << 30;
  auto s = DocumentStore::Open(dir / "kb.db", opt);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const std::string filler(4000, 'x');
  for (int round = 1; round <= 3; ++round) {
    std::vector<DocumentInput> docs;
    for (int i = 0; i < 100; ++i) {  // 300 in all: every match is ranked
      const std::string id = "notes:r" + std::to_string(round) + "-" + std::to_string(i) + ".md";
      docs.push_back(Doc(id, "mapped words round" + std::to_string(round) + " " + filler));
    }
    ASSERT_TRUE((*s)->PutDocuments(docs).ok());
    // The database grew past what the readers had mapped: they map it again and see it all.
    auto all = (*s)->KeywordSearch("\"mapped\"", 1000);
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    EXPECT_EQ(all->size(), static_cast<size_t>(100 * round));
    auto latest = (*s)->KeywordSearch("\"round" + std::to_string(round) + "\"", 1000);
    ASSERT_TRUE(latest.ok());
    EXPECT_EQ(latest->size(), 100u);
  }
}

TEST(MigrationsTest, NewerDatabaseIsRefusedWithClearMessage) {
  test::TempDir dir;
  const std::string path = dir / "kb.db";
  { ASSERT_TRUE(DocumentStore::Open(path).ok()); }
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("PRAGMA user_version = " + std::to_string(LatestSchemaVersion() + 5));
  }
  auto s = DocumentStore::Open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("newer"), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().message().find("upgrade kbindex"), std::string::npos);
}

TEST(MigrationsTest, DataWrittenBeforeTheTextSplitSurvivesIt) {
  // A database at schema 3 (text inline in documents), with a live note and a tombstone.
  test::TempDir dir;
  const std::string path = dir / "old.db";
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    for (const Migration& m : Migrations()) {
      if (m.version > 3) break;
      db.exec(m.sql);
      db.exec("PRAGMA user_version = " + std::to_string(m.version));
    }
    db.exec("INSERT INTO documents(id, source, path, title, body, content_hash, created_at, updated_at, "
            "sync_status, synced_hash, synced_chunks, chunks_hwm) VALUES ('notes:a.md', 'notes', 'a.md', "
            "'Alpha', 'apple orchard notes', 'h1', 1, 1, 'synced', 'h1', 1, 1)");
    db.exec("INSERT INTO documents(id, source, path, title, body, content_hash, created_at, updated_at, "
            "deleted_at, chunks_hwm) VALUES ('notes:gone.md', 'notes', 'gone.md', '', '', 'h2', 1, 1, 5, 2)");
  }
  auto s = DocumentStore::Open(path);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto a = *(*s)->Get("notes:a.md");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->body, "apple orchard notes");
  EXPECT_EQ(a->sync_status, SyncStatus::kSynced);
  auto hits = (*s)->KeywordSearch("\"orchard\"", 10);
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].id, "notes:a.md");
  EXPECT_TRUE((*(*s)->Get("notes:gone.md"))->deleted_at.has_value());
  EXPECT_TRUE((*s)->CheckIntegrity().ok()) << (*s)->CheckIntegrity().ToString();
}

TEST(MigrationsTest, NotADatabaseFailsCleanly) {
  test::TempDir dir;
  test::WriteFile(dir / "junk.db", std::string(8192, 'x'));
  auto s = DocumentStore::Open(dir / "junk.db");
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(s.status().message().empty());
}

TEST_F(DocumentStoreTest, PutIsIdempotentAndChangesResetToPending) {
  std::vector<DocumentInput> docs{Doc("notes:a.md", "alpha beta"), Doc("notes:b.md", "gamma")};
  auto first = store_->PutDocuments(docs);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ((*first)[0], PutOutcome::kInserted);
  auto again = store_->PutDocuments(docs);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0], PutOutcome::kUnchanged);
  EXPECT_EQ((*again)[1], PutOutcome::kUnchanged);

  // Pretend a sync happened, then change one document.
  auto a = store_->Get("notes:a.md");
  std::vector<SyncOutcome> out{{SyncOutcome::Kind::kSynced, (*a)->key, (*a)->content_hash, 1}};
  ASSERT_TRUE(store_->ApplySyncOutcomes(out).ok());
  EXPECT_EQ((*store_->Get("notes:a.md"))->sync_status, SyncStatus::kSynced);
  ASSERT_TRUE(store_->PutDocuments(docs).ok());  // same content: stays synced
  EXPECT_EQ((*store_->Get("notes:a.md"))->sync_status, SyncStatus::kSynced);

  std::vector<DocumentInput> edited{Doc("notes:a.md", "alpha delta")};
  auto changed = store_->PutDocuments(edited);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ((*changed)[0], PutOutcome::kChanged);
  auto after = *store_->Get("notes:a.md");
  EXPECT_EQ(after->sync_status, SyncStatus::kPending);
  EXPECT_EQ(after->sync_attempts, 0);
  EXPECT_EQ(after->body, "alpha delta");
}

TEST_F(DocumentStoreTest, FtsFollowsUpdatesWithoutDuplicateRows) {
  std::vector<DocumentInput> v1{Doc("notes:a.md", "apple")};
  ASSERT_TRUE(store_->PutDocuments(v1).ok());
  for (int i = 0; i < 5; ++i) {
    std::vector<DocumentInput> v{Doc("notes:a.md", "banana version " + std::to_string(i))};
    ASSERT_TRUE(store_->PutDocuments(v).ok());
  }
  EXPECT_EQ(Count("\"apple\""), 0);
  EXPECT_EQ(Count("\"banana\""), 1);  // one row, not six
  EXPECT_TRUE(store_->CheckIntegrity().ok()) << store_->CheckIntegrity().ToString();
}

TEST_F(DocumentStoreTest, SyncStatusUpdatesDoNotTouchTheFtsIndex) {
  std::vector<DocumentInput> v{Doc("notes:a.md", "apple")};
  ASSERT_TRUE(store_->PutDocuments(v).ok());
  auto d = *store_->Get("notes:a.md");
  std::vector<SyncOutcome> fail{{SyncOutcome::Kind::kFailed, d->key, d->content_hash, 0, {}, "boom"}};
  ASSERT_TRUE(store_->ApplySyncOutcomes(fail).ok());
  EXPECT_EQ(Count("\"apple\""), 1);
  EXPECT_TRUE(store_->CheckIntegrity().ok());
}

TEST_F(DocumentStoreTest, TombstoneLeavesSearchAtOnceAndPurgesNeverSyncedRows) {
  std::vector<DocumentInput> v{Doc("notes:a.md", "apple"), Doc("notes:b.md", "apple pie")};
  ASSERT_TRUE(store_->PutDocuments(v).ok());
  // b reached the vector store once.
  auto b = *store_->Get("notes:b.md");
  std::vector<SendClaim> claim{{b->key, b->content_hash, 2}};
  ASSERT_TRUE(store_->ClaimForSend(claim).ok());
  std::vector<std::string> ids{"notes:a.md", "notes:b.md"};
  auto removed = store_->Tombstone(ids);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 2);
  EXPECT_EQ(Count("\"apple\""), 0);
  EXPECT_FALSE(store_->Get("notes:a.md")->has_value());  // never synced: purged
  auto tomb = *store_->Get("notes:b.md");
  ASSERT_TRUE(tomb.has_value());
  EXPECT_TRUE(tomb->deleted_at.has_value());
  EXPECT_EQ(tomb->sync_status, SyncStatus::kPending);
  EXPECT_TRUE(store_->CheckIntegrity().ok());
  // Purging after the remote delete removes the row.
  std::vector<SyncOutcome> purge{{SyncOutcome::Kind::kPurged, tomb->key, tomb->content_hash, 0, tomb->deleted_at, ""}};
  auto r = store_->ApplySyncOutcomes(purge);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->purged, 1);
  EXPECT_FALSE(store_->Get("notes:b.md")->has_value());
}

TEST_F(DocumentStoreTest, SyncedIsCompareAndSetOnTheSentHash) {
  std::vector<DocumentInput> v{Doc("notes:a.md", "one")};
  ASSERT_TRUE(store_->PutDocuments(v).ok());
  auto sent = *store_->Get("notes:a.md");
  // Edited while in flight.
  std::vector<DocumentInput> v2{Doc("notes:a.md", "two")};
  ASSERT_TRUE(store_->PutDocuments(v2).ok());
  std::vector<SyncOutcome> out{{SyncOutcome::Kind::kSynced, sent->key, sent->content_hash, 1}};
  auto r = store_->ApplySyncOutcomes(out);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->synced, 0);
  EXPECT_EQ(r->superseded, 1);
  EXPECT_EQ((*store_->Get("notes:a.md"))->sync_status, SyncStatus::kPending);
}

TEST_F(DocumentStoreTest, ClaimRefusesDocumentsChangedSinceTheyWereRead) {
  std::vector<DocumentInput> v{Doc("notes:a.md", "one"), Doc("notes:b.md", "b")};
  ASSERT_TRUE(store_->PutDocuments(v).ok());
  auto a = *store_->Get("notes:a.md");
  auto b = *store_->Get("notes:b.md");
  std::vector<std::string> gone{"notes:b.md"};
  ASSERT_TRUE(store_->Tombstone(gone).ok());  // never sent: purged
  std::vector<SendClaim> claims{{a->key, a->content_hash, 3}, {b->key, b->content_hash, 1}};
  auto ok = store_->ClaimForSend(claims);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE((*ok)[0]);
  EXPECT_FALSE((*ok)[1]);
  EXPECT_EQ((*store_->Get("notes:a.md"))->chunks_hwm, 3);
}

TEST(SendLeaseTest, AnotherLiveProcessBlocksADeadOneIsReleased) {
  test::TempDir dir;
  const std::string path = dir / "kb.db";
  {
    auto s = DocumentStore::Open(path);
    std::vector<DocumentInput> v{Doc("notes:a.md", "one")};
    ASSERT_TRUE((*s)->PutDocuments(v).ok());
  }
  int ready[2], release[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(release), 0);
  const pid_t child = ::fork();
  if (child == 0) {  // another kbindex process with the document in flight
    auto s = DocumentStore::Open(path);
    auto d = *(*s)->Get("notes:a.md");
    std::vector<SendClaim> c{{d->key, d->content_hash, 1}};
    const bool ok = (*s)->ClaimForSend(c, Clock::Real()->NowMs() + 600'000).ok();
    char b = ok ? 'y' : 'n';
    (void)!::write(ready[1], &b, 1);
    (void)!::read(release[0], &b, 1);
    ::_exit(0);  // dies holding the lease
  }
  char b = 0;
  ASSERT_EQ(::read(ready[0], &b, 1), 1);
  ASSERT_EQ(b, 'y');
  auto s = DocumentStore::Open(path);
  auto d = *(*s)->Get("notes:a.md");
  std::vector<SendClaim> c{{d->key, d->content_hash, 1}};
  EXPECT_TRUE((*s)->DueForSync(DueQuery{})->empty());           // leased elsewhere: not due
  EXPECT_FALSE((*(*s)->ClaimForSend(c, Clock::Real()->NowMs() + 1000))[0]);  // nor claimable
  EXPECT_EQ(*(*s)->ReleaseDeadLeases(), 0);                    // its holder is alive
  (void)!::write(release[1], &b, 1);
  ::waitpid(child, nullptr, 0);
  EXPECT_EQ(*(*s)->ReleaseDeadLeases(), 1);                    // the holder died
  EXPECT_EQ((*s)->DueForSync(DueQuery{})->size(), 1u);
  EXPECT_TRUE((*(*s)->ClaimForSend(c, Clock::Real()->NowMs() + 1000))[0]);
}

TEST_F(DocumentStoreTest, FailuresCountAttemptsAndBackOff) {
  std::vector<DocumentInput> v{Doc("notes:a.md", "one")};
  ASSERT_TRUE(store_->PutDocuments(v).ok());
  auto d = *store_->Get("notes:a.md");
  DueQuery q;
  q.backoff_base_ms = 1000;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto due = store_->DueForSync(q);
    ASSERT_TRUE(due.ok());
    ASSERT_EQ(due->size(), 1u) << "attempt " << attempt;
    std::vector<SyncOutcome> fail{{SyncOutcome::Kind::kFailed, d->key, d->content_hash, 0, {}, "503"}};
    ASSERT_TRUE(store_->ApplySyncOutcomes(fail).ok());
    EXPECT_TRUE(store_->DueForSync(q)->empty()) << "backoff not respected";
    clock_.Advance(1000LL << (attempt - 1));
  }
  // Three attempts used: not due any more, counted as exhausted.
  EXPECT_TRUE(store_->DueForSync(q)->empty());
  auto stats = store_->Stats(3);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->failed, 1);
  EXPECT_EQ(stats->exhausted, 1);
  EXPECT_EQ((*store_->Get("notes:a.md"))->sync_error.value_or(""), "503");
  auto reset = store_->ResetFailed("", false, 3);
  ASSERT_TRUE(reset.ok());
  EXPECT_EQ(*reset, 1);
  EXPECT_EQ(store_->DueForSync(q)->size(), 1u);
}

TEST_F(DocumentStoreTest, StatsCountsByStatusAndLastRun) {
  std::vector<DocumentInput> v{Doc("notes:a.md", "1"), Doc("notes:b.md", "2"), Doc("notes:c.md", "3")};
  ASSERT_TRUE(store_->PutDocuments(v).ok());
  auto a = *store_->Get("notes:a.md");
  auto b = *store_->Get("notes:b.md");
  std::vector<SyncOutcome> out{{SyncOutcome::Kind::kSynced, a->key, a->content_hash, 1},
                               {SyncOutcome::Kind::kFailed, b->key, b->content_hash, 0, {}, "x"}};
  ASSERT_TRUE(store_->ApplySyncOutcomes(out).ok());
  auto run = store_->BeginSyncRun("sync");
  ASSERT_TRUE(run.ok());
  SyncRun r;
  r.id = *run;
  r.synced = 1;
  r.failed = 1;
  ASSERT_TRUE(store_->FinishSyncRun(r).ok());
  auto s = store_->Stats(3);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->live, 3);
  EXPECT_EQ(s->synced, 1);
  EXPECT_EQ(s->failed, 1);
  EXPECT_EQ(s->pending, 1);
  ASSERT_TRUE(s->last_sync_run.has_value());
  EXPECT_EQ(s->last_sync_run->kind, "sync");
  EXPECT_EQ(s->last_sync_run->synced, 1);
  EXPECT_EQ(s->tombstoned, 0);

  // The synced note deleted: a tombstone waiting for its remote delete, counted apart.
  std::vector<std::string> gone{"notes:a.md"};
  ASSERT_TRUE(store_->Tombstone(gone).ok());
  s = store_->Stats(3);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->live, 2);
  EXPECT_EQ(s->tombstoned, 1);
  EXPECT_EQ(s->synced, 0);
  EXPECT_EQ(s->pending, 2);
  EXPECT_EQ(s->failed, 1);
  EXPECT_TRUE(s->oldest_pending_at.has_value());
}

TEST_F(DocumentStoreTest, RawFtsSyntaxErrorIsInvalidArgument) {
  std::vector<DocumentInput> v{Doc("notes:a.md", "apple")};
  ASSERT_TRUE(store_->PutDocuments(v).ok());
  for (const char* bad : {"\"unbalanced", "apple AND", "(apple", "NEAR(", "title:"}) {
    auto r = store_->KeywordSearch(bad, 10);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("invalid search query"), std::string::npos);
  }
}

TEST_F(DocumentStoreTest, MetaRoundTrips) {
  EXPECT_FALSE(store_->GetMeta("k")->has_value());
  ASSERT_TRUE(store_->SetMeta("k", "v1").ok());
  ASSERT_TRUE(store_->SetMeta("k", "v2").ok());
  EXPECT_EQ(store_->GetMeta("k")->value_or(""), "v2");
}

}  // namespace
}  // namespace kb
