#include "bench_source.h"

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "corpus.h"
#include "support/postgres_server.h"
#include "vector/local_chroma.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace kb::bench {
namespace {

// The notes of a corpus folder, in a stable order.
std::vector<fs::path> Files(const std::string& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One field of COPY's text format.
void CopyField(std::string& out, const std::string& v) {
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
}

// Loads the corpus into app.notes (title = file name, body = file text), updated_at spread
// over the past day (100 ms apart), as a table written over time would be.
Status LoadNotes(const test::PostgresServer& pg, const std::vector<fs::path>& files) {
  KB_RETURN_IF_ERROR(pg.Exec("CREATE DATABASE app"));
  KB_RETURN_IF_ERROR(pg.Exec(
      "CREATE TABLE notes (id bigserial PRIMARY KEY, title text, body text, "
      "updated_at timestamptz NOT NULL DEFAULT now(), deleted_at timestamptz)",
      "app"));
  PGconn* c = PQconnectdb(pg.Conninfo("app").c_str());
  std::unique_ptr<PGconn, decltype(&PQfinish)> guard(c, &PQfinish);
  if (PQstatus(c) != CONNECTION_OK) return Status::Unavailable(PQerrorMessage(c));
  PGresult* r = PQexec(c, "COPY notes(title, body) FROM STDIN");
  const bool copying = PQresultStatus(r) == PGRES_COPY_IN;
  PQclear(r);
  if (!copying) return Status::Internal(PQerrorMessage(c));
  std::string buf;
  for (const auto& f : files) {
    CopyField(buf, f.stem().string());
    buf += '\t';
    CopyField(buf, ReadFile(f));
    buf += '\n';
    if (buf.size() > (1 << 20)) {
      if (PQputCopyData(c, buf.data(), static_cast<int>(buf.size())) != 1) return Status::Internal(PQerrorMessage(c));
      buf.clear();
    }
  }
  if (!buf.empty() && PQputCopyData(c, buf.data(), static_cast<int>(buf.size())) != 1) {
    return Status::Internal(PQerrorMessage(c));
  }
  if (PQputCopyEnd(c, nullptr) != 1) return Status::Internal(PQerrorMessage(c));
  r = PQgetResult(c);
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  while ((r = PQgetResult(c)) != nullptr) PQclear(r);
  if (!ok) return Status::Internal(PQerrorMessage(c));
  KB_RETURN_IF_ERROR(pg.Exec(
      "UPDATE notes SET updated_at = now() - interval '1 day' + id * interval '100 milliseconds'; "
      "CREATE INDEX notes_updated ON notes(updated_at)",
      "app"));
  return pg.Exec("VACUUM ANALYZE notes", "app");
}

struct Line {
  std::string source, phase;
  int64_t rows = 0;     // rows (or files) read
  int64_t written = 0;  // documents written (new, changed, removed)
  double seconds = 0;
  long rss_kb = 0;
  std::string note;
};

std::string Num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.0f", v);
  return b;
}

}  // namespace

int RunSourceBench(const SourceBenchArgs& a, const RunFn& run) {
  const std::string corpus = a.work + "/source-corpus";
  const double t0 = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  CorpusStats cs = GenerateCorpus(corpus, a.rows);
  const auto files = Files(corpus);
  std::fprintf(stderr, "bench: corpus of %lld notes, %.1f MB\n", static_cast<long long>(cs.files), cs.bytes / 1e6);

  auto pg = test::PostgresServer::Start();
  if (!pg.ok()) {
    std::fprintf(stderr, "bench: cannot start PostgreSQL: %s\n", pg.status().ToString().c_str());
    return 1;
  }
  if (Status st = LoadNotes(**pg, files); !st.ok()) {
    std::fprintf(stderr, "bench: loading the notes into PostgreSQL: %s\n", st.ToString().c_str());
    return 1;
  }
  const double t1 = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  std::fprintf(stderr, "bench: corpus written and loaded into PostgreSQL in %.1f s\n", t1 - t0);

  const std::string config = a.work + "/source-config.json";
  std::ofstream(config) << json{{"sources",
                                 {{{"name", "pg"},
                                   {"kind", "postgres"},
                                   {"conninfo", (*pg)->Conninfo("app")},
                                   {"table", "notes"},
                                   {"title_column", "title"},
                                   {"updated_at_column", "updated_at"},
                                   {"deleted_at_column", "deleted_at"}}}}}
                               .dump(2);

  std::vector<Line> lines;
  auto fresh_chroma = [&](const std::string& name) -> std::unique_ptr<LocalChroma> {
    LocalChromaOptions lo;
    lo.data_dir = a.work + "/chroma-" + name;
    lo.shared = false;
    auto c = LocalChroma::Start(lo);
    if (!c.ok()) {
      std::fprintf(stderr, "bench: cannot start Chroma: %s\n", c.status().ToString().c_str());
      return nullptr;
    }
    return std::move(c).value();
  };
  auto cmd = [&](const std::string& db, const std::string& url, std::vector<std::string> sub) {
    std::vector<std::string> v{a.kbindex, "--db", db, "--chroma-url", url, "--config", config, "-q"};
    v.insert(v.end(), sub.begin(), sub.end());
    return v;
  };
  auto synced = [&](const std::string& db, const std::string& url) -> int64_t {
    std::string out;
    run(cmd(db, url, {"--json", "stats"}), &out);
    json j = json::parse(out, nullptr, false);
    return j.is_discarded() ? -1 : j["sync"]["synced"].get<int64_t>();
  };

  // PostgreSQL.
  {
    auto chroma = fresh_chroma("source-pg");
    if (!chroma) return 1;
    const std::string url = chroma->url();
    const std::string db = a.work + "/source-pg.db";
    auto source_run = [&](const std::string& phase, std::vector<std::string> flags, const std::string& use_db) {
      std::vector<std::string> sub{"--json", "index", "--source", "pg"};
      sub.insert(sub.end(), flags.begin(), flags.end());
      std::fprintf(stderr, "bench: [postgres] %s...\n", phase.c_str());
      std::string out;
      Measured m = run(cmd(use_db, url, sub), &out);
      json j = json::parse(out, nullptr, false);
      Line l{"postgres", phase, 0, 0, m.seconds, m.peak_rss_kb, ""};
      if (!j.is_discarded() && j.contains("source")) {
        const json& s = j["source"];
        l.rows = s["rows"].get<int64_t>();
        l.written = s["added"].get<int64_t>() + s["changed"].get<int64_t>() + s["restored"].get<int64_t>() +
                    s["removed"].get<int64_t>();
      }
      if (m.exit_code != 0) l.note = "exit " + std::to_string(m.exit_code);
      lines.push_back(l);
    };
    source_run("full, SQLite only (--no-sync)", {"--full", "--no-sync"}, a.work + "/source-pg-nosync.db");
    source_run("full, initial (read + SQLite + Chroma)", {"--full"}, db);
    const int64_t n = synced(db, url);
    if (n != a.rows) lines.back().note = "INCOMPLETE: " + std::to_string(n) + " synced";
    source_run("full, unchanged", {"--full"}, db);
    source_run("incremental, unchanged", {"--incremental"}, db);
    (void)(*pg)->Exec("UPDATE notes SET body = body || E'\\nEdited for the benchmark.\\n', updated_at = now() "
                      "WHERE id % 100 = 0", "app");
    source_run("incremental, 1% changed", {"--incremental"}, db);
    (void)(*pg)->Exec("UPDATE notes SET body = body || E'\\nEdited for the benchmark.\\n', updated_at = now() "
                      "WHERE id % 100 = 1", "app");
    source_run("full, 1% changed", {"--full"}, db);
  }

  // The same notes as a folder.
  if (a.folder) {
    auto chroma = fresh_chroma("source-folder");
    if (!chroma) return 1;
    const std::string url = chroma->url();
    const std::string db = a.work + "/source-folder.db";
    auto folder_run = [&](const std::string& phase, int64_t written) {
      std::fprintf(stderr, "bench: [folder] %s...\n", phase.c_str());
      Measured m = run(cmd(db, url, {"index", corpus}), nullptr);
      lines.push_back(Line{"folder", phase, static_cast<int64_t>(files.size()), written, m.seconds, m.peak_rss_kb,
                           m.exit_code == 0 ? "" : "exit " + std::to_string(m.exit_code)});
    };
    folder_run("initial (scan + SQLite + Chroma)", static_cast<int64_t>(files.size()));
    const int64_t n = synced(db, url);
    if (n != static_cast<int64_t>(files.size())) lines.back().note = "INCOMPLETE: " + std::to_string(n) + " synced";
    folder_run("unchanged re-run", 0);
    int64_t edited = 0;
    for (size_t i = 0; i < files.size(); i += 100) {
      std::ofstream(files[i], std::ios::app) << "\nEdited for the benchmark.\n";
      ++edited;
    }
    folder_run("1% of files edited", edited);
  }

  std::printf("\n## Database sources: %d rows in PostgreSQL, next to the same notes as a folder\n\n", a.rows);
  std::printf("PostgreSQL %s (private server, fsync off), Chroma per source started fresh, 384-dim hash "
              "embedding. Notes: %.1f MB (synthetic, log-normal sizes). `rows/s`: rows (or files) looked at per "
              "second; `docs/s`: documents written (new, changed, removed) per second.\n\n",
              PQlibVersion() > 0 ? std::to_string(PQlibVersion() / 10000).c_str() : "?", cs.bytes / 1e6);
  std::printf("| source | phase | rows read | docs written | seconds | rows/s | docs/s | peak RSS |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|---:|\n");
  for (const Line& l : lines) {
    std::printf("| %s | %s%s | %lld | %lld | %.2f | %s | %s | %.0f MB |\n", l.source.c_str(), l.phase.c_str(),
                l.note.empty() ? "" : (" (" + l.note + ")").c_str(), static_cast<long long>(l.rows),
                static_cast<long long>(l.written), l.seconds, l.seconds > 0 ? Num(l.rows / l.seconds).c_str() : "",
                l.seconds > 0 && l.written ? Num(l.written / l.seconds).c_str() : "", l.rss_kb / 1024.0);
  }
  return 0;
}

}  // namespace kb::bench
