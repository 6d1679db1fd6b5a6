// Database sources end to end, beside postgres_source_test.cpp: a real SQLite file written by
// another process while kbindex reads it; kill -9 at every step of a run (full, incremental,
// outbox) and the next run converges with nothing indexed twice or lost; credentials never in
// output, logs or stats; an unreachable source reported per source in stats, /v1/health and
// the worker's log while everything indexed stays; the worker polling sources; the CLI and
// POST /v1/index. Every test ends with SOURCE-INV (source_harness.h).
#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "integration/source_harness.h"
#include "store/document_store.h"
#include "support/serve_client.h"
#include "vector/local_chroma.h"

namespace kb {
namespace {

using json = nlohmann::json;
using test::NoteBody;
using test::SourceHarness;

// Polls `done` every 50 ms until it holds or `timeout_ms` passes.
bool Eventually(const std::function<bool()>& done, int timeout_ms = 20'000) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

// KBINDEX_LONG_TESTS=1 (tools/test --long): longer variants.
bool LongTests() { return std::getenv("KBINDEX_LONG_TESTS") != nullptr; }

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---------------------------------------------------------------- SQLite, another writer

constexpr const char* kNowMs = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";

json SqliteSource(const std::string& path) {
  return json{{"name", "sq"},        {"kind", "sqlite"},
              {"path", path},        {"table", "notes"},
              {"title_column", "title"}, {"updated_at_column", "updated_at"},
              {"updated_at_unit", "ms"}, {"deleted_column", "deleted"},
              {"batch_rows", 40}};
}

std::map<std::string, std::string> SqliteLiveRows(const std::string& path) {
  std::map<std::string, std::string> out;
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT id, body FROM notes WHERE deleted = 0 AND body IS NOT NULL");
  while (q.executeStep()) out[q.getColumn(0).getString()] = q.getColumn(1).getString();
  return out;
}

// The application's notes table, as SqliteSource() maps it.
void CreateSqliteNotes(SQLite::Database& db) {
  db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT, body TEXT, updated_at INTEGER NOT NULL, "
          "deleted INTEGER NOT NULL DEFAULT 0)");
}

// Rows `from`..`to` ("Note <i>", body(i)) in one transaction.
void AddSqliteNotes(SQLite::Database& db, int from, int to, const std::function<std::string(int)>& body) {
  SQLite::Transaction tx(db);
  for (int i = from; i <= to; ++i) {
    SQLite::Statement ins(db, std::string("INSERT INTO notes(title, body, updated_at) VALUES (?, ?, ") + kNowMs + ")");
    ins.bind(1, "Note " + std::to_string(i));
    ins.bind(2, body(i));
    ins.exec();
  }
  tx.commit();
}

int64_t KeywordIndexSegments(const std::string& kb_db) {
  auto store = DocumentStore::Open(kb_db);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? (*store)->KeywordIndexSegments().value_or(-1) : -1;
}

// A source run that wrote a bulk of notes leaves the keyword index in one segment, as a folder
// scan does; a small run leaves FTS5's segments alone.
TEST(SqliteSourceTest, ABulkRunLeavesTheKeywordIndexMerged) {
  SourceHarness h(/*with_postgres=*/false);
  ASSERT_TRUE(h.ready());
  const std::string file = h.dir / "app.sqlite";
  SQLite::Database db(file, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  CreateSqliteNotes(db);
  auto add = [&](int from, int to) {
    AddSqliteNotes(db, from, to, [](int i) { return "merged words " + std::to_string(i); });
  };
  add(1, 400);  // 10 write transactions of 40 rows, fewer than a bulk write
  h.WriteConfig(json::array({SqliteSource(file)}));
  EXPECT_EQ(h.Index("sq", {"--no-sync"})["source"]["added"], 400);
  ASSERT_GT(KeywordIndexSegments(h.db()), 1);

  add(401, 400 + DocumentStore::kBulkWriteNotes);
  EXPECT_EQ(h.Index("sq", {"--no-sync"})["source"]["added"], DocumentStore::kBulkWriteNotes);
  EXPECT_EQ(KeywordIndexSegments(h.db()), 1);
  EXPECT_EQ(h.LiveDocuments("sq").size(), static_cast<size_t>(400 + DocumentStore::kBulkWriteNotes));
}

// An application (the sqlite3 shell, another process) keeps writing the notes file in small
// transactions while kbindex reads it incrementally; rows come, change, are soft- and
// hard-deleted. Incremental runs lose nothing live; the full run also removes the hard deletes.
TEST(SqliteSourceTest, AFileWrittenByAnotherProcessWhileItIsReadLosesNothing) {
  SourceHarness h(/*with_postgres=*/false);
  ASSERT_TRUE(h.ready());
  const std::string file = h.dir / "app.sqlite";
  {
    SQLite::Database db(file, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    CreateSqliteNotes(db);
    AddSqliteNotes(db, 1, 200, [](int i) { return NoteBody("Note " + std::to_string(i), 1 + i % 2); });
  }
  h.WriteConfig(json::array({SqliteSource(file)}));
  EXPECT_EQ(h.Index("sq")["source"]["added"], 200);

  // The writer: the sqlite3 shell reading transactions from a pipe, so it writes while we read.
  FILE* app = ::popen(("sqlite3 -batch '" + file + "' >/dev/null").c_str(), "w");
  ASSERT_NE(app, nullptr);
  std::fprintf(app, ".timeout 10000\n");
  int next_id = 201;
  int reads_while_writing = 0;
  const int rounds = LongTests() ? 120 : 12;
  for (int round = 0; round < rounds; ++round) {
    for (int t = 0; t < 40; ++t) {
      const int k = round * 40 + t;
      std::fprintf(app, "BEGIN IMMEDIATE;\n");
      std::fprintf(app, "INSERT INTO notes(id, title, body, updated_at) VALUES (%d, 'New %d', 'new note %d', %s);\n",
                   next_id, next_id, next_id, kNowMs);
      ++next_id;
      std::fprintf(app, "UPDATE notes SET body = body || ' +%d', updated_at = %s WHERE id = %d;\n", k, kNowMs,
                   1 + (k * 7) % 200);
      if (k % 5 == 0) std::fprintf(app, "UPDATE notes SET deleted = 1, updated_at = %s WHERE id = %d;\n", kNowMs, 1 + (k * 13) % 200);
      if (k % 9 == 0) std::fprintf(app, "UPDATE notes SET deleted = 0, updated_at = %s WHERE id = %d;\n", kNowMs, 1 + (k * 13) % 200);
      if (k % 11 == 0) std::fprintf(app, "DELETE FROM notes WHERE id = %d;\n", 150 + k % 50);
      std::fprintf(app, "COMMIT;\n");
    }
    std::fflush(app);  // the shell runs these while the next read goes on
    json r = h.Index("sq", {"--incremental", "--no-sync"});
    EXPECT_TRUE(r["source"]["error"].is_null()) << r.dump();
    ++reads_while_writing;
  }
  std::fprintf(app, ".quit\n");
  ASSERT_EQ(::pclose(app), 0);
  EXPECT_EQ(reads_while_writing, rounds);

  // One more incremental run after the writer stopped: every live row, with its last text.
  json last = h.Index("sq", {"--incremental"});
  EXPECT_EQ(last["source"]["mode"], "incremental");
  const auto rows = SqliteLiveRows(file);
  const auto live = h.LiveDocuments("sq");
  int lost = 0, stale = 0;
  for (const auto& [id, body] : rows) {
    auto it = live.find(id);
    if (it == live.end()) ++lost;
    else if (it->second != body) ++stale;
  }
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(stale, 0);

  // A full read removes the hard-deleted rows too: exactly the live rows.
  json full = h.Index("sq", {"--full"});
  EXPECT_GT(full["source"]["removed"].get<int>(), 0);
  EXPECT_TRUE(h.SourceInv("sq", rows));

  // Single item, from the file.
  {
    SQLite::Database db(file, SQLite::OPEN_READWRITE);
    db.exec("UPDATE notes SET body = 'item edit' WHERE id = 201");
  }
  EXPECT_EQ(h.Index("sq", {"--item", "201"})["source"]["changed"], 1);
  EXPECT_TRUE(h.SourceInv("sq", SqliteLiveRows(file)));
}

// ---------------------------------------------------------------- PostgreSQL helpers

constexpr const char* kSchema = R"sql(
  CREATE TABLE notes (
    id bigserial PRIMARY KEY, title text, body text,
    updated_at timestamptz NOT NULL DEFAULT now(), deleted_at timestamptz);
  CREATE TABLE outbox (
    event_id bigserial PRIMARY KEY, note_id bigint NOT NULL, event_type text NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now());
)sql";
constexpr const char* kLiveRows =
    "SELECT id::text, body FROM notes WHERE deleted_at IS NULL AND body IS NOT NULL ORDER BY id";

void CreateApp(SourceHarness& h, int n) {
  ASSERT_TRUE(h.postgres->Exec("CREATE DATABASE app").ok());
  h.Pg(kSchema);
  h.Pg("INSERT INTO notes(title, body) SELECT 'Note ' || i, '# Note ' || i || E'\\n' || repeat('lantern harbour ' || i || ' ', 1 + i % 40) "
       "FROM generate_series(1, " + std::to_string(n) + ") i; "
       "UPDATE notes SET updated_at = now() - interval '1 hour' - id * interval '1 second'");
}

json PgSource(const std::string& conninfo, json extra = json::object()) {
  json s{{"name", "pg"},         {"kind", "postgres"},   {"conninfo", conninfo},
         {"table", "notes"},     {"title_column", "title"}, {"updated_at_column", "updated_at"},
         {"deleted_at_column", "deleted_at"}, {"batch_rows", 50}};
  for (auto& [k, v] : extra.items()) s[k] = v;
  return s;
}

// ---------------------------------------------------------------- kill -9

// The process dies (SIGKILL, no cleanup) at each step of a run: after a page of documents
// committed, after progress was recorded, and in the sync that follows (claimed, sent, marked).
// Each time the next clean run converges: every live row indexed once, with its current text,
// SQLite and Chroma in agreement.
TEST(SourceCrashTest, KillNineAtEveryStepOfFullIncrementalAndOutboxRunsLosesNothingAndIndexesNothingTwice) {
  SourceHarness h;
  ASSERT_TRUE(h.ready() && h.postgres);
  CreateApp(h, 400);
  h.WriteConfig(json::array({PgSource(h.postgres->Conninfo("app"), {{"outbox_table", "outbox"}, {"mode", "outbox"}}),
                             PgSource(h.postgres->Conninfo("app"), {{"name", "pginc"}, {"mode", "incremental"}})}));
  std::vector<std::string> points{"source-commit:2", "source-progress:1", "before-send:1", "before-mark:1",
                                  "after-mark:1", "source-commit:1"};
  if (LongTests()) {
    for (int n = 2; n <= 6; ++n) {
      for (const char* p : {"source-commit", "source-progress", "before-send", "before-mark", "after-mark"}) {
        points.push_back(std::string(p) + ":" + std::to_string(n));
      }
    }
  }
  int killed = 0;
  auto crash_run = [&](const std::string& source, const std::vector<std::string>& flags, const std::string& point) {
    std::vector<std::string> args{"index", "--source", source, "--json"};
    args.insert(args.end(), flags.begin(), flags.end());
    auto r = h.Kb(args, {{"KBINDEX_CRASH_AT", point}});
    if (r.exit_code == -SIGKILL) ++killed;
    else EXPECT_EQ(r.exit_code, 0) << point << r.out << r.err;
  };
  for (size_t round = 0; round < points.size(); ++round) {
    const std::string tag = "r" + std::to_string(round);
    // The application changes things: edits, new notes, soft and hard deletes, with events.
    h.Pg("BEGIN; UPDATE notes SET body = body || ' " + tag + "', updated_at = now() WHERE id % 7 = " +
         std::to_string(round % 7) + "; INSERT INTO outbox(note_id, event_type) SELECT id, 'NoteUpdated' FROM notes WHERE id % 7 = " +
         std::to_string(round % 7) + "; WITH n AS (INSERT INTO notes(title, body) VALUES ('" + tag + "', 'new in " + tag +
         "') RETURNING id) INSERT INTO outbox(note_id, event_type) SELECT id, 'NoteCreated' FROM n; "
         "UPDATE notes SET deleted_at = now(), updated_at = now() WHERE id = " + std::to_string(300 + round) +
         "; INSERT INTO outbox(note_id, event_type) VALUES (" + std::to_string(300 + round) + ", 'NoteDeleted'); "
         "DELETE FROM notes WHERE id = " + std::to_string(350 + round) + "; INSERT INTO outbox(note_id, event_type) VALUES (" +
         std::to_string(350 + round) + ", 'NoteDeleted'); COMMIT;");
    crash_run("pg", {}, points[round]);
    crash_run("pginc", round % 2 ? std::vector<std::string>{"--full"} : std::vector<std::string>{}, points[round]);
  }
  EXPECT_GE(killed, 8) << "the crash points must actually have been reached";

  // The next clean runs converge.
  EXPECT_EQ(h.Index("pg")["source"]["mode"], "outbox");
  EXPECT_TRUE(h.SourceInv("pg", h.PgRows(kLiveRows)));
  h.Index("pginc", {"--full"});
  EXPECT_TRUE(h.SourceInv("pginc", h.PgRows(kLiveRows)));
}

// ---------------------------------------------------------------- credentials, unreachable

// The password is in the conninfo: it must never appear in any output, log, stats, health or
// error message, whether the source works, refuses the password or cannot be reached.
TEST(SourceCredentialsTest, APasswordInTheConninfoIsNeverShownAndAnUnreachableSourceKeepsItsDocuments) {
  const std::string secret = "Zq7-sEcReT-pw-4411";
  SourceHarness h(/*with_postgres=*/true, secret);
  ASSERT_TRUE(h.ready() && h.postgres);
  CreateApp(h, 60);
  const std::string good = h.postgres->TcpConninfo("app") + " password=" + secret;
  const std::string env_conninfo = "postgresql://kb:" + secret + "@127.0.0.1:" + std::to_string(h.postgres->port()) + "/app";
  json from_env = PgSource("", {{"name", "pgenv"}, {"conninfo_env", "APP_PG"}});
  from_env.erase("conninfo");
  h.WriteConfig(json::array({PgSource(good), from_env,
                             PgSource(h.postgres->TcpConninfo("app") + " password=wrong-" + secret, {{"name", "pgbad"}})}));
  std::string everything;  // every byte kbindex printed
  auto kb = [&](const std::vector<std::string>& args) {
    auto r = h.Kb(args, {{"APP_PG", env_conninfo}});
    everything += r.out + r.err;
    return r;
  };
  auto ok = kb({"-vv", "index", "--source", "pg", "--json"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(json::parse(ok.out)["source"]["added"], 60);
  auto via_env = kb({"index", "--source", "pgenv", "--json"});
  EXPECT_EQ(via_env.exit_code, 0) << via_env.err;
  auto bad = kb({"index", "--source", "pgbad", "--json"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE((bad.out + bad.err).find("password"), std::string::npos) << "says what failed: " << bad.out << bad.err;
  kb({"stats", "--json"});
  kb({"stats"});
  kb({"skipped", "--json"});

  // Down: everything indexed stays; stats and health name the source.
  const size_t before = h.LiveDocuments("pg").size();
  h.postgres->Stop();
  auto down = kb({"index", "--source", "pg", "--json", "--full"});
  EXPECT_EQ(down.exit_code, 1) << down.out << down.err;
  EXPECT_FALSE(json::parse(down.out)["source"]["error"].is_null()) << down.out;
  EXPECT_EQ(h.LiveDocuments("pg").size(), before);
  auto stats = kb({"stats", "--json"});
  json sj = json::parse(stats.out);
  bool reported = false;
  for (const json& s : sj["sources"]) {
    if (s["name"] == "pg") {
      reported = s["status"] == "error" && !s["error"].is_null();
      EXPECT_EQ(s["documents"], 60);
    }
  }
  EXPECT_TRUE(reported) << stats.out;
  EXPECT_EQ(everything.find(secret), std::string::npos) << "the password was shown:\n" << everything;
  // ...nor in kbindex's own database.
  EXPECT_EQ(ReadAll(h.db()).find(secret), std::string::npos);
  EXPECT_EQ(ReadAll(h.db() + "-wal").find(secret), std::string::npos);
  ASSERT_TRUE(h.postgres->Restart().ok());
  EXPECT_TRUE(h.SourceInv("pg", h.PgRows(kLiveRows)));
}

// ---------------------------------------------------------------- worker and API

class ServedSources : public ::testing::Test {
 protected:
  void Start(SourceHarness& h) {
    port_ = LocalChroma::FreePort();
    log_ = h.dir / "serve.log";
    pid_ = test::Spawn({KBINDEX_BINARY, "serve", "--port", std::to_string(port_), "--interval", "1"}, h.Env(), log_);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_read_timeout(std::chrono::seconds(30));
    token_ = test::ConnectToServe(*client_, h.dir / "api-token", log_);
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  json Get(const std::string& path) {
    auto r = client_->Get(path);
    if (!r) return json::object();
    return json::parse(r->body, nullptr, false);
  }
  json WaitJob(const std::string& id) {
    json j;
    Eventually([&] {
      j = Get("/v1/jobs/" + id);
      return j["state"] == "succeeded" || j["state"] == "failed";
    });
    return j;
  }

  int port_ = 0;
  pid_t pid_ = -1;
  std::string log_, token_;
  std::unique_ptr<httplib::Client> client_;
};

// `kbindex serve` (which runs the worker) polls the source at its interval, syncs what it
// wrote, indexes a source on POST /v1/index; when the source goes down, the worker's log says
// so, /v1/health and /v1/stats name the source, and everything indexed stays; back up, the log
// says "recovered" and the poll picks up what changed meanwhile.
TEST_F(ServedSources, TheWorkerPollsSourcesAndReportsOneThatIsDownWhileTheApiIndexesOnDemand) {
  SourceHarness h;
  ASSERT_TRUE(h.ready() && h.postgres);
  CreateApp(h, 80);
  h.WriteConfig(json::array({PgSource(h.postgres->Conninfo("app"), {{"mode", "incremental"}, {"interval_s", 1}}),
                             PgSource(h.postgres->Conninfo("app"), {{"name", "pgapi"}, {"mode", "full"}, {"interval_s", 3600}})}));
  Start(h);
  ASSERT_FALSE(token_.empty());

  // The first poll reads everything and the worker syncs it.
  auto synced = [&](const std::string& source, size_t n) {
    return [&, source, n] {
      json st = Get("/v1/stats");
      for (const json& s : st["sources"]) {
        if (s["name"] == source) return s["documents"] == n && s["synced"] == n;
      }
      return false;
    };
  };
  EXPECT_TRUE(Eventually(synced("pg", 80))) << ReadAll(log_);
  h.Pg("INSERT INTO notes(title, body) VALUES ('Polled', 'picked up by the worker')");
  EXPECT_TRUE(Eventually(synced("pg", 81))) << ReadAll(log_);

  // POST /v1/index with a source: a job that reads it now.
  auto r = client_->Post("/v1/index", json{{"source", "pgapi"}, {"mode", "full"}}.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  json job = WaitJob(json::parse(r->body)["job"]);
  EXPECT_EQ(job["state"], "succeeded") << job.dump();
  EXPECT_EQ(job["result"]["source"]["mode"], "full") << job.dump();
  EXPECT_EQ(job["result"]["source"]["rows"], 81) << job.dump();
  EXPECT_EQ(job["result"]["source"]["added"].get<int>() + job["result"]["source"]["unchanged"].get<int>(), 81);
  auto unknown = client_->Post("/v1/index", json{{"source", "nope"}}.dump(), "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);

  // Down.
  h.postgres->Stop();
  EXPECT_TRUE(Eventually([&] { return ReadAll(log_).find("source pg unreachable") != std::string::npos; }))
      << ReadAll(log_);
  json health = Get("/v1/health");
  EXPECT_EQ(health["status"], "degraded") << health.dump();
  EXPECT_NE(health.dump().find("source pg"), std::string::npos) << health.dump();
  json stats = Get("/v1/stats");
  for (const json& s : stats["sources"]) {
    if (s["name"] == "pg") {
      EXPECT_EQ(s["status"], "error");
      EXPECT_EQ(s["documents"], 81);
    }
  }
  // Back up: recovered, and what changed meanwhile is picked up (the retry comes within 5 s).
  ASSERT_TRUE(h.postgres->Restart().ok());
  h.Pg("INSERT INTO notes(title, body) VALUES ('After', 'written while kbindex could not reach us')");
  EXPECT_TRUE(Eventually([&] { return ReadAll(log_).find("source pg: recovered") != std::string::npos; }, 30'000))
      << ReadAll(log_);
  EXPECT_TRUE(Eventually(synced("pg", 82))) << ReadAll(log_);
  EXPECT_EQ(Get("/v1/health")["status"], "ok");
  ::kill(pid_, SIGTERM);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  EXPECT_TRUE(h.SourceInv("pg", h.PgRows(kLiveRows)));
}

}  // namespace
}  // namespace kb
