// Database sources against a real PostgreSQL server (started by the test) and a real Chroma:
// full, incremental (with a row committed late, inside the overlap window), single item, the
// outbox (duplicates, replays, out-of-order events, restore, events committed out of order),
// bad rows, the source going down mid-read. Credentials, kill -9, a SQLite file written by
// another process, the API and the worker: database_sources_test.cpp.
// Every test ends with SOURCE-INV (source_harness.h).
#include <gtest/gtest.h>
#include <httplib.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "app/services.h"
#include "app/sources.h"
#include "app/state.h"
#include "integration/source_harness.h"
#include "support/serve_client.h"
#include "support/test_services.h"
#include "vector/local_chroma.h"

namespace kb {
namespace {

using json = nlohmann::json;
using test::NoteBody;
using test::SourceHarness;

constexpr const char* kSchema = R"sql(
  CREATE TABLE notes (
    id         bigserial PRIMARY KEY,
    title      text,
    body       text,
    author     text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
  );
  CREATE INDEX notes_updated ON notes(updated_at);
  CREATE TABLE outbox (
    event_id    bigserial PRIMARY KEY,
    note_id     bigint NOT NULL,
    event_type  text NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now()
  );
)sql";

constexpr const char* kLiveRows =
    "SELECT id::text, body FROM notes WHERE deleted_at IS NULL AND body IS NOT NULL ORDER BY id";

// The app database with the notes schema and `n` notes.
void CreateApp(SourceHarness& h, int n) {
  ASSERT_TRUE(h.postgres->Exec("CREATE DATABASE app").ok());
  h.Pg(kSchema);
  std::string sql;
  for (int i = 1; i <= n; ++i) {
    sql += "INSERT INTO notes(title, body, author) VALUES ('Note " + std::to_string(i) + "', '" +
           NoteBody("Note " + std::to_string(i), 1 + i % 3, "n" + std::to_string(i)) + "', 'author" + std::to_string(i % 4) + "');\n";
  }
  if (!sql.empty()) h.Pg(sql);
  // Written an hour ago: outside the overlap window of an incremental read.
  h.Pg("UPDATE notes SET updated_at = now() - interval '1 hour' - id * interval '1 minute'");
}

json PgSource(const SourceHarness& h, const std::string& name = "pg", json extra = json::object()) {
  json s{{"name", name},
         {"kind", "postgres"},
         {"conninfo", h.postgres->Conninfo("app")},
         {"table", "notes"},
         {"title_column", "title"},
         {"metadata_columns", {"author"}},
         {"updated_at_column", "updated_at"},
         {"deleted_at_column", "deleted_at"},
         {"batch_rows", 50}};
  for (auto& [k, v] : extra.items()) s[k] = v;
  return s;
}

TEST(PostgresSourceTest, FullThenIncrementalThenSingleItem) {
  SourceHarness h;
  ASSERT_TRUE(h.ready() && h.postgres);
  CreateApp(h, 180);
  h.WriteConfig(json::array({PgSource(h)}));

  // The first run reads everything (whatever the mode), in pages of 50.
  json first = h.Index("pg");
  EXPECT_EQ(first["source"]["mode"], "full");
  EXPECT_EQ(first["source"]["rows"], 180);
  EXPECT_EQ(first["source"]["added"], 180);
  EXPECT_EQ(first["sync"]["synced"], 180);
  EXPECT_TRUE(h.SourceInv("pg", h.PgRows(kLiveRows)));
  auto store = h.Store();
  auto doc = store->Get("pg:7");
  ASSERT_TRUE(doc.ok() && doc->has_value());
  EXPECT_EQ((*doc)->title, "Note 7");
  EXPECT_EQ((*doc)->metadata_json, R"({"author":"author3"})");
  EXPECT_FALSE((*doc)->path.has_value());

  // Incremental: edits, a new note, a soft delete; a hard delete is not seen (that takes a full).
  h.Pg("UPDATE notes SET body = body || ' edited', updated_at = now() WHERE id IN (3, 4, 5);"
       "INSERT INTO notes(title, body, author) VALUES ('Fresh', '# Fresh\nnew note', 'author9');"
       "UPDATE notes SET deleted_at = now(), updated_at = now() WHERE id = 10;"
       "DELETE FROM notes WHERE id = 11;");
  json inc = h.Index("pg", {"--incremental"});
  EXPECT_EQ(inc["source"]["mode"], "incremental");
  EXPECT_EQ(inc["source"]["changed"], 3);
  EXPECT_EQ(inc["source"]["added"], 1);
  EXPECT_EQ(inc["source"]["removed"], 1);
  // Only rows updated since the watermark minus the overlap window (5 min: the newest few old ones).
  EXPECT_LT(inc["source"]["rows"].get<int>(), 15);
  EXPECT_EQ(h.LiveDocuments("pg").count("11"), 1u);  // hard delete: invisible to incremental
  auto expected = h.PgRows(kLiveRows);
  expected["11"] = h.LiveDocuments("pg")["11"];
  EXPECT_TRUE(h.SourceInv("pg", expected));

  // Again: nothing changed, nothing written, nothing sent.
  json again = h.Index("pg", {"--incremental"});
  EXPECT_EQ(again["source"]["changed"], 0);
  EXPECT_EQ(again["source"]["added"], 0);
  EXPECT_EQ(again["sync"]["synced"], 0);

  // Full: the hard delete is reconciled.
  json full = h.Index("pg", {"--full"});
  EXPECT_EQ(full["source"]["removed"], 1);
  EXPECT_EQ(full["source"]["unchanged"], 179);
  EXPECT_TRUE(h.SourceInv("pg", h.PgRows(kLiveRows)));

  // Single item: an edit applied by id, without reading anything else.
  h.Pg("UPDATE notes SET body = 'one item changed' WHERE id = 42");
  json item = h.Index("pg", {"--item", "42"});
  EXPECT_EQ(item["source"]["mode"], "item");
  EXPECT_EQ(item["source"]["rows"], 1);
  EXPECT_EQ(item["source"]["changed"], 1);
  // ...a removed row, and an id that never existed.
  h.Pg("DELETE FROM notes WHERE id = 43");
  EXPECT_EQ(h.Index("pg", {"--item", "43"})["source"]["removed"], 1);
  EXPECT_EQ(h.Index("pg", {"--item", "999999"})["source"]["removed"], 0);
  EXPECT_EQ(h.Index("pg", {"--item", "not-a-number"})["source"]["removed"], 0);
  EXPECT_TRUE(h.SourceInv("pg", h.PgRows(kLiveRows)));

  // stats: per source.
  auto stats = h.Kb({"stats", "--json"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  json sj = json::parse(stats.out);
  ASSERT_EQ(sj["sources"].size(), 1u);
  const json& src = sj["sources"][0];
  EXPECT_EQ(src["name"], "pg");
  EXPECT_EQ(src["kind"], "postgres");
  EXPECT_EQ(src["status"], "ok");
  EXPECT_EQ(src["documents"], sj["documents"]);
  EXPECT_EQ(src["synced"], src["documents"]);
  EXPECT_FALSE(src["watermark"].is_null());
  EXPECT_NE(src["location"].get<std::string>().find("table notes"), std::string::npos);
}

// A writer's transaction sets updated_at when it runs (now() is its start time) but becomes
// visible when it commits: a row committed late carries an updated_at older than rows already
// read. The overlap window reads back far enough to find it; without one it is lost.
TEST(PostgresSourceTest, ARowCommittedLateWithAnOlderUpdatedAtIsCaughtInsideTheOverlapWindow) {
  SourceHarness h;
  ASSERT_TRUE(h.ready() && h.postgres);
  CreateApp(h, 20);
  h.WriteConfig(json::array({PgSource(h, "pg"), PgSource(h, "pg0", {{"overlap_s", 0}})}));
  h.Index("pg");
  h.Index("pg0");

  PGconn* late = PQconnectdb(h.postgres->Conninfo("app").c_str());
  ASSERT_EQ(PQstatus(late), CONNECTION_OK);
  PQclear(PQexec(late, "BEGIN; INSERT INTO notes(title, body) VALUES ('Late', '# Late\ncommitted after a newer row')"));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  h.Pg("INSERT INTO notes(title, body) VALUES ('Early', '# Early\ncommitted first, updated_at newer')");
  EXPECT_EQ(h.Index("pg", {"--incremental"})["source"]["added"], 1);   // Early
  EXPECT_EQ(h.Index("pg0", {"--incremental"})["source"]["added"], 1);  // Early
  PQclear(PQexec(late, "COMMIT"));
  PQfinish(late);
  auto older = h.postgres->Query(
      "SELECT (SELECT updated_at FROM notes WHERE title='Late') < (SELECT updated_at FROM notes WHERE title='Early')",
      "app");
  ASSERT_TRUE(older.ok());
  ASSERT_EQ((*older)[0][0].value_or(""), "t") << "the late row must carry the older updated_at";

  json caught = h.Index("pg", {"--incremental"});
  EXPECT_EQ(caught["source"]["added"], 1) << caught.dump();  // Late, inside the 300 s window
  json missed = h.Index("pg0", {"--incremental"});
  EXPECT_EQ(missed["source"]["added"], 0);  // overlap_s 0: behind the watermark, never read
  EXPECT_TRUE(h.SourceInv("pg", h.PgRows(kLiveRows)));
  EXPECT_EQ(h.LiveDocuments("pg0").size() + 1, h.PgRows(kLiveRows).size());
}

// One transaction of the application: a change to a note and its outbox event.
void AppWrite(SourceHarness& h, const std::string& change, int64_t note, const std::string& type) {
  h.Pg("BEGIN; " + change + "; INSERT INTO outbox(note_id, event_type) VALUES (" + std::to_string(note) + ", '" +
       type + "'); COMMIT;");
}

json OutboxSource(const SourceHarness& h, const std::string& name = "ob", json extra = json::object()) {
  json s = PgSource(h, name, {{"outbox_table", "outbox"}, {"outbox_time_column", "occurred_at"}, {"mode", "outbox"}});
  for (auto& [k, v] : extra.items()) s[k] = v;
  return s;
}

TEST(PostgresSourceTest, OutboxDuplicatesReplaysOutOfOrderEventsAndRestoreChangeNothingButTheNotes) {
  SourceHarness h;
  ASSERT_TRUE(h.ready() && h.postgres);
  CreateApp(h, 30);
  h.WriteConfig(json::array({OutboxSource(h)}));
  EXPECT_EQ(h.Index("ob")["source"]["mode"], "full");  // the first run reads the notes table

  AppWrite(h, "UPDATE notes SET body = 'one, edited' WHERE id = 1", 1, "NoteUpdated");
  h.Pg("INSERT INTO outbox(note_id, event_type) VALUES (1, 'NoteUpdated'), (1, 'NoteUpdated')");  // duplicates
  AppWrite(h, "INSERT INTO notes(id, title, body) VALUES (31, 'New', '# New\nbrand new')", 31, "NoteCreated");
  AppWrite(h, "UPDATE notes SET deleted_at = now() WHERE id = 2", 2, "NoteDeleted");  // soft delete
  AppWrite(h, "DELETE FROM notes WHERE id = 3", 3, "NoteDeleted");                     // hard delete
  // Out of order: the event for an older state arrives after the one for the newer state.
  AppWrite(h, "UPDATE notes SET body = 'four, second version' WHERE id = 4", 4, "NoteUpdated");
  h.Pg("INSERT INTO outbox(note_id, event_type) VALUES (4, 'NoteCreated')");
  // Deleted, then restored, in one batch of events.
  AppWrite(h, "UPDATE notes SET deleted_at = now() WHERE id = 5", 5, "NoteDeleted");
  AppWrite(h, "UPDATE notes SET deleted_at = NULL, body = 'five, restored' WHERE id = 5", 5, "NoteRestored");
  // An event naming a note that never existed.
  h.Pg("INSERT INTO outbox(note_id, event_type) VALUES (777, 'NoteDeleted')");

  json r = h.Index("ob");
  EXPECT_EQ(r["source"]["mode"], "outbox");
  EXPECT_EQ(r["source"]["events"], 11);
  EXPECT_EQ(r["source"]["added"], 1);
  EXPECT_EQ(r["source"]["changed"], 3);  // 1, 4, 5
  EXPECT_EQ(r["source"]["removed"], 2);  // 2, 3
  EXPECT_EQ(r["source"]["eventCursor"], 11);
  EXPECT_TRUE(h.SourceInv("ob", h.PgRows(kLiveRows)));
  EXPECT_EQ(h.LiveDocuments("ob")["4"], "four, second version");

  // Replayed: every event again (as after losing kbindex's progress): nothing changes.
  {
    auto store = h.Store();
    SourceProgressUpdate back;
    back.event_cursor = 0;
    ASSERT_TRUE(store->SaveSourceProgress("ob", back).ok());
  }
  json replay = h.Index("ob");
  EXPECT_EQ(replay["source"]["events"], 11);
  EXPECT_EQ(replay["source"]["added"], 0);
  EXPECT_EQ(replay["source"]["changed"], 0);
  EXPECT_EQ(replay["source"]["removed"], 0);
  EXPECT_EQ(replay["sync"]["synced"], 0);
  EXPECT_TRUE(h.SourceInv("ob", h.PgRows(kLiveRows)));

  // Restore of a note whose removal is still waiting for Chroma: the tombstone comes back.
  AppWrite(h, "UPDATE notes SET deleted_at = now() WHERE id = 6", 6, "NoteDeleted");
  EXPECT_EQ(h.Index("ob", {"--no-sync"})["source"]["removed"], 1);
  AppWrite(h, "UPDATE notes SET deleted_at = NULL WHERE id = 6", 6, "NoteRestored");
  EXPECT_EQ(h.Index("ob")["source"]["restored"], 1);
  // ...and of one already gone from Chroma (soft-deleted note 2): indexed anew.
  AppWrite(h, "UPDATE notes SET deleted_at = NULL WHERE id = 2", 2, "NoteRestored");
  EXPECT_EQ(h.Index("ob")["source"]["added"], 1);
  EXPECT_TRUE(h.SourceInv("ob", h.PgRows(kLiveRows)));
}

// Event ids are taken when a transaction inserts the event and become visible when it commits:
// a reader can see event n+1 before event n. The skipped id is remembered and read again until
// it appears (or overlap_s passes: a rolled-back transaction never fills it).
TEST(PostgresSourceTest, OutboxEventsCommittedOutOfIdOrderAreAppliedWhenTheyAppear) {
  SourceHarness h;
  ASSERT_TRUE(h.ready() && h.postgres);
  CreateApp(h, 10);
  h.WriteConfig(json::array({OutboxSource(h, "ob"), OutboxSource(h, "ob1", {{"overlap_s", 1}})}));
  h.Index("ob");
  h.Index("ob1");

  PGconn* slow = PQconnectdb(h.postgres->Conninfo("app").c_str());
  ASSERT_EQ(PQstatus(slow), CONNECTION_OK);
  PQclear(PQexec(slow, "BEGIN; UPDATE notes SET body = 'seven, committed late' WHERE id = 7; "
                       "INSERT INTO outbox(note_id, event_type) VALUES (7, 'NoteUpdated')"));  // event 1
  AppWrite(h, "UPDATE notes SET body = 'eight' WHERE id = 8", 8, "NoteUpdated");             // event 2
  json first = h.Index("ob");
  EXPECT_EQ(first["source"]["changed"], 1);
  EXPECT_EQ(first["source"]["eventCursor"], 2);
  EXPECT_EQ(first["source"]["awaitedEventRanges"], 1);
  PQclear(PQexec(slow, "COMMIT"));
  json second = h.Index("ob");
  EXPECT_EQ(second["source"]["changed"], 1) << second.dump();  // note 7, from event 1
  EXPECT_EQ(second["source"]["awaitedEventRanges"], 0);
  EXPECT_TRUE(h.SourceInv("ob", h.PgRows(kLiveRows)));

  // A rolled-back event leaves a hole that is waited for overlap_s, then given up.
  PQclear(PQexec(slow, "BEGIN; INSERT INTO outbox(note_id, event_type) VALUES (9, 'NoteUpdated')"));  // event 3
  AppWrite(h, "UPDATE notes SET body = 'nine' WHERE id = 9", 9, "NoteUpdated");                       // event 4
  PQclear(PQexec(slow, "ROLLBACK"));
  PQfinish(slow);
  h.Index("ob1");  // catches up with events 1, 2 (its own cursor) and 4
  EXPECT_EQ(h.Index("ob1")["source"]["awaitedEventRanges"], 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(h.Index("ob1")["source"]["awaitedEventRanges"], 0);
  EXPECT_TRUE(h.SourceInv("ob1", h.PgRows(kLiveRows)));
}

TEST(PostgresSourceTest, BadRowsAreSkippedWithTheirReasonAndKeepTheirLastGoodVersion) {
  SourceHarness h;
  ASSERT_TRUE(h.ready() && h.postgres);
  // SQL_ASCII stores bytes as they come: invalid UTF-8 is possible (a UTF8 database refuses it).
  ASSERT_TRUE(h.postgres->Exec("CREATE DATABASE app ENCODING 'SQL_ASCII' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'").ok());
  h.Pg(kSchema);
  h.Pg("INSERT INTO notes(id, title, body) VALUES (1, 'fine', 'a fine note'), (2, 'later bad', 'good for now'),"
       "(3, 'null body', NULL), (4, 'latin1', E'caf\\xe9 au lait'), (5, 'big', repeat('x', 5000)),"
       "(6, E'bad \\xff title', 'body is fine')");
  h.Pg("CREATE TABLE blobs (id int PRIMARY KEY, body bytea); "
       "INSERT INTO blobs VALUES (1, 'plain text'::bytea), (2, E'\\\\x610062'::bytea), (3, E'\\\\xc328'::bytea)");
  json src = PgSource(h);
  json blobs{{"name", "blobs"}, {"kind", "postgres"}, {"conninfo", h.postgres->Conninfo("app")}, {"table", "blobs"}};
  test::WriteFile(h.config(), json{{"sources", {src, blobs}}, {"max_file_bytes", 4096}}.dump());

  json r = h.Index("pg");
  EXPECT_EQ(r["source"]["added"], 2);
  std::map<std::string, std::string> reasons;
  for (const auto& s : r["source"]["skipped"]) reasons[s["path"]] = s["reason"];
  EXPECT_EQ(reasons["3"], "null_body");
  EXPECT_EQ(reasons["4"], "invalid_utf8");
  EXPECT_EQ(reasons["5"], "too_large");
  EXPECT_EQ(reasons["6"], "invalid_utf8");
  auto listed = h.Kb({"skipped", "--json"});
  ASSERT_EQ(listed.exit_code, 0);
  EXPECT_EQ(json::parse(listed.out)["skipped"].size(), 4u);

  json b = h.Index("blobs");
  EXPECT_EQ(b["source"]["added"], 1);
  std::map<std::string, std::string> blob_reasons;
  for (const auto& s : b["source"]["skipped"]) blob_reasons[s["path"]] = s["reason"];
  EXPECT_EQ(blob_reasons["2"], "binary");
  EXPECT_EQ(blob_reasons["3"], "invalid_utf8");

  // A good row turning bad keeps its last good version; fixed, it is indexed again.
  h.Pg("UPDATE notes SET body = E'now \\xfe bad' WHERE id = 2");
  json again = h.Index("pg", {"--full"});
  EXPECT_EQ(again["source"]["removed"], 0);
  EXPECT_EQ(h.LiveDocuments("pg")["2"], "good for now");
  h.Pg("UPDATE notes SET body = 'fixed' WHERE id = 2; UPDATE notes SET body = 'had no body' WHERE id = 3");
  json fixed = h.Index("pg", {"--full"});
  EXPECT_EQ(fixed["source"]["changed"], 1);
  EXPECT_EQ(fixed["source"]["added"], 1);
  EXPECT_EQ(fixed["source"]["skipped"].size(), 3u);
  EXPECT_EQ(h.LiveDocuments("pg")["2"], "fixed");
}

// The source goes down in the middle of a full read: what was read stays written, nothing is
// removed, the failure shows in stats and health; back up, the next run converges.
TEST(PostgresSourceTest, SourceDownMidReadLeavesEverythingIndexedAsItWas) {
  SourceHarness h;
  ASSERT_TRUE(h.ready() && h.postgres);
  CreateApp(h, 600);
  auto chroma = h.chroma.Client();
  Config c;
  c.db_path = h.db();
  c.chunk_max_bytes = 400;
  c.backoff_base_ms = 1;
  kbindex::DatabaseSource src;
  src.name = "pg";
  src.kind = "postgres";
  src.conninfo = h.postgres->Conninfo("app");
  src.table = "notes";
  src.title_column = "title";
  src.updated_at_column = "updated_at";
  src.deleted_at_column = "deleted_at";
  src.batch_rows = 100;
  c.sources = {src};
  auto s = test::OpenTestServices(*chroma, c);
  ASSERT_TRUE(s);
  kbindex::SourceIndexRequest req;
  req.source = "pg";
  auto first = app::IndexSource(*s, req);
  ASSERT_TRUE(first.ok() && first->ok()) << first->status.ToString();
  EXPECT_EQ(first->added, 600);

  // Everything changes and a tenth is deleted; then the server dies after the second page.
  h.Pg("UPDATE notes SET body = body || ' v2'; DELETE FROM notes WHERE id % 10 = 0");
  bool killed = false;
  req.mode = "full";
  req.on_progress = [&](const kbindex::IndexProgress& p) {
    if (p.phase == "read" && p.files >= 200 && !killed) {
      killed = true;
      h.postgres->Kill();
    }
  };
  auto down = app::IndexSource(*s, req);
  ASSERT_TRUE(down.ok()) << down.status().ToString();
  EXPECT_EQ(down->status.code(), Status::Code::kUnavailable) << down->status.ToString();
  EXPECT_EQ(down->rows, 200);
  EXPECT_EQ(down->removed, 0);
  EXPECT_EQ(h.LiveDocuments("pg").size(), 600u);  // nothing removed
  auto stats = app::GetStats(*s);
  ASSERT_TRUE(stats.ok());
  ASSERT_EQ(stats->sources.size(), 1u);
  EXPECT_FALSE(stats->sources[0].error.empty());
  kbindex::Health health = app::CheckHealth(*s);
  EXPECT_FALSE(health.ok);
  ASSERT_FALSE(health.reasons.empty());
  EXPECT_TRUE(std::any_of(health.reasons.begin(), health.reasons.end(),
                          [](const std::string& r) { return r.find("source pg") != std::string::npos; }))
      << health.reasons.back();
  // Down before the read: nothing changes either.
  req.on_progress = nullptr;
  auto still_down = app::IndexSource(*s, req);
  ASSERT_TRUE(still_down.ok());
  EXPECT_EQ(still_down->status.code(), Status::Code::kUnavailable);
  EXPECT_EQ(still_down->rows, 0);

  ASSERT_TRUE(h.postgres->Restart().ok());
  auto back = app::IndexSource(*s, req);
  ASSERT_TRUE(back.ok() && back->ok()) << back->status.ToString();
  EXPECT_EQ(back->removed, 60);
  EXPECT_TRUE(app::GetStats(*s)->sources[0].error.empty());
  kbindex::Health healthy = app::CheckHealth(*s);
  EXPECT_TRUE(healthy.ok) << (healthy.reasons.empty() ? "" : healthy.reasons.front());
  s.reset();
  EXPECT_TRUE(h.SourceInv("pg", h.PgRows(kLiveRows)));
}

}  // namespace
}  // namespace kb
