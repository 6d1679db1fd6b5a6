// Shared setup for database-source integration tests: a real PostgreSQL (the test starts it),
// a real Chroma, a config file naming the sources, and the check every test ends with:
// SOURCE-INV = INV (SQLite and Chroma agree exactly) plus "the source's live documents are
// exactly its live rows, each with the row's current text" (nothing lost, nothing twice).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "store/document_store.h"
#include "support/invariant.h"
#include "support/postgres_server.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_chroma.h"

namespace kb::test {

class SourceHarness {
 public:
  explicit SourceHarness(bool with_postgres = true, const std::string& password = "") {
    if (with_postgres) {
      PostgresServerOptions o;
      o.password = password;
      auto pg = PostgresServer::Start(o);
      if (!pg.ok()) {
        ADD_FAILURE() << "could not start a PostgreSQL server for this test: " << pg.status().ToString();
        return;
      }
      postgres = std::move(pg).value();
    }
  }

  bool ready() const { return chroma.ok(); }
  std::string db() const { return dir / "kb.db"; }
  std::string config() const { return dir / "config.json"; }

  // Writes the config file: the given sources (JSON objects) plus chunking options.
  void WriteConfig(const nlohmann::json& sources) {
    nlohmann::json c{{"sources", sources}, {"chunk_max_bytes", 400}, {"backoff_base_ms", 1}};
    WriteFile(config(), c.dump(2));
  }

  std::map<std::string, std::string> Env(std::map<std::string, std::string> extra = {}) const {
    extra["KBINDEX_DB"] = db();
    extra["KBINDEX_CHROMA_URL"] = chroma.url();
    extra["KBINDEX_CONFIG"] = config();
    return extra;
  }

  ProcessResult Kb(const std::vector<std::string>& args, std::map<std::string, std::string> extra_env = {}) const {
    return Kbindex(args, Env(std::move(extra_env)));
  }

  // `kbindex index --source NAME <flags> --json`, parsed; fails the test on a bad exit.
  nlohmann::json Index(const std::string& source, const std::vector<std::string>& flags = {}, int expect_exit = 0) const {
    std::vector<std::string> args{"index", "--source", source, "--json"};
    args.insert(args.end(), flags.begin(), flags.end());
    ProcessResult r = Kb(args);
    EXPECT_EQ(r.exit_code, expect_exit) << r.out << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
    return j.is_discarded() ? nlohmann::json::object() : j;
  }

  std::unique_ptr<DocumentStore> Store() const {
    auto s = DocumentStore::Open(db());
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  // The source's live documents: row id -> body.
  std::map<std::string, std::string> LiveDocuments(const std::string& source) const {
    std::map<std::string, std::string> out;
    auto store = Store();
    if (!store) return out;
    auto states = store->LoadIdStates(source);
    EXPECT_TRUE(states.ok());
    for (const auto& s : *states) {
      if (!s.live) continue;
      auto d = store->Get(s.id);
      EXPECT_TRUE(d.ok() && d->has_value());
      EXPECT_TRUE(out.emplace(s.id.substr(source.size() + 1), (*d)->body).second) << "twice: " << s.id;
    }
    return out;
  }

  // SOURCE-INV: the live documents of `source` are exactly `rows` (row id -> body), and INV.
  ::testing::AssertionResult SourceInv(const std::string& source, const std::map<std::string, std::string>& rows) const {
    const auto live = LiveDocuments(source);
    std::string problems;
    for (const auto& [id, body] : rows) {
      auto it = live.find(id);
      if (it == live.end()) {
        problems += "lost: row " + id + "\n";
      } else if (it->second != body) {
        problems += "stale: row " + id + " (indexed '" + it->second.substr(0, 60) + "', row says '" +
                    body.substr(0, 60) + "')\n";
      }
    }
    for (const auto& [id, body] : live) {
      if (!rows.count(id)) problems += "indexed but not a live row: " + id + "\n";
    }
    if (problems.size() > 2000) problems = problems.substr(0, 2000) + "...";
    if (!problems.empty()) return ::testing::AssertionFailure() << "SOURCE-INV violated:\n" << problems;
    auto store = Store();
    auto client = const_cast<TestChroma&>(chroma).Client();
    return Invariant(*store, *client, "kbindex");
  }

  // Rows of a PostgreSQL notes table as row id -> body (live rows only: deleted_at IS NULL and
  // not deleted, body not NULL).
  std::map<std::string, std::string> PgRows(const std::string& sql, const std::string& db = "app") const {
    std::map<std::string, std::string> out;
    auto rows = postgres->Query(sql, db);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    if (!rows.ok()) return out;
    for (const auto& r : *rows) out[*r[0]] = r[1].value_or("");
    return out;
  }

  void Pg(const std::string& sql, const std::string& db = "app") const {
    Status st = postgres->Exec(sql, db);
    EXPECT_TRUE(st.ok()) << st.ToString() << "\n" << sql;
  }

  TempDir dir;
  TestChroma chroma;
  std::unique_ptr<PostgresServer> postgres;
};

// A notes body of a few sections (~1-3 chunks at chunk_max_bytes 400).
inline std::string NoteBody(const std::string& title, int sections, const std::string& salt = "") {
  std::string s = "# " + title + "\n";
  for (int i = 0; i < sections; ++i) {
    s += "## Part " + std::to_string(i) + "\n";
    for (int w = 0; w < 35; ++w) s += "word" + std::to_string((w * 5 + i) % 29) + salt + " ";
    s += "\n\n";
  }
  return s;
}

}  // namespace kb::test
