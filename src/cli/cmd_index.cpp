#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/json_shapes.h"
#include "cli/cli.h"

namespace kb::cli {

using json = nlohmann::json;

bool AddSourceFromFlags(const IndexArgs& args, kbindex::Options& options) {
  const bool defines = !args.sqlite_path.empty() || !args.postgres_conninfo.empty();
  if (!defines) {
    if (!args.table.empty() || !args.query.empty() || !args.columns.empty() || !args.outbox_table.empty()) {
      std::fprintf(stderr, "kbindex: --table, --query, --column and --outbox-table need --sqlite or --postgres\n");
      return false;
    }
    return true;
  }
  if (args.source.empty()) {
    std::fprintf(stderr, "kbindex: name the database source: --source NAME\n");
    return false;
  }
  kbindex::DatabaseSource src;
  src.name = args.source;
  src.kind = args.sqlite_path.empty() ? "postgres" : "sqlite";
  src.path = args.sqlite_path;
  src.conninfo = args.postgres_conninfo;
  src.table = args.table;
  src.query = args.query;
  src.outbox_table = args.outbox_table;
  for (const std::string& c : args.columns) {
    const auto eq = c.find('=');
    const std::string role = c.substr(0, eq);
    const std::string column = eq == std::string::npos ? "" : c.substr(eq + 1);
    if (role == "id") src.id_column = column;
    else if (role == "title") src.title_column = column;
    else if (role == "body") src.body_column = column;
    else if (role == "updated_at") src.updated_at_column = column;
    else if (role == "deleted") src.deleted_column = column;
    else if (role == "deleted_at") src.deleted_at_column = column;
    else if (role == "meta") src.metadata_columns.push_back(column);
    else {
      std::fprintf(stderr, "kbindex: --column %s: the role must be id, title, body, updated_at, deleted, deleted_at or meta\n",
                   Printable(c).c_str());
      return false;
    }
  }
  // The flags' definition replaces a configured source of the same name.
  std::erase_if(options.sources, [&](const kbindex::DatabaseSource& s) { return s.name == src.name; });
  options.sources.push_back(std::move(src));
  return true;
}

namespace {

// The one-line progress of an interactive index run: "<verb> <where>: N <unit>, M written" for
// the events of `phase`.
std::function<void(const kbindex::IndexProgress&)> ProgressLine(const char* phase, const char* verb,
                                                                 const char* unit) {
  return [phase, verb, unit](const kbindex::IndexProgress& p) {
    if (p.phase != phase) return;
    std::fprintf(stderr, "\r\033[K%s %s: %lld %s, %lld written", verb, Printable(p.folder).c_str(),
                 static_cast<long long>(p.files), unit, static_cast<long long>(p.written));
    std::fflush(stderr);
  };
}

// The sync pass that followed an index run, or why there was none.
int ReportSyncAfterIndex(const Globals& g, const std::optional<kbindex::SyncSummary>& sync,
                         const kbindex::Status& why_not) {
  if (sync) return ReportSync(g, *sync, "sync");
  if (why_not.ok()) return kExitOk;
  std::fprintf(stderr, "kbindex: not synced to Chroma: %s\n"
                       "kbindex: the documents are safe in SQLite (pending); run `kbindex sync` later\n",
               Printable(why_not.message()).c_str());
  return kExitFailure;
}

bool IsDatabaseSource(const kbindex::Options& o, const std::string& name) {
  for (const auto& s : o.sources) {
    if (s.name == name) return true;
  }
  return false;
}

int RunIndexSource(Globals& g, const IndexArgs& args) {
  if (args.full + args.incremental + args.outbox + !args.item.empty() > 1) {
    std::fprintf(stderr, "kbindex: give at most one of --full, --incremental, --outbox, --item\n");
    return kExitUsage;
  }
  auto db = OpenDatabase(g);
  if (!db) return kExitFailure;
  InstallStopHandler();
  kbindex::SourceIndexRequest req;
  req.source = args.source;
  req.mode = args.full ? "full" : args.incremental ? "incremental" : args.outbox ? "outbox" : "";
  req.item = args.item;
  req.allow_mass_delete = args.allow_mass_delete;
  req.sync = !args.no_sync;
  req.cancel = &g_stop;
  if (g.interactive && !g.quiet) {
    req.on_progress = ProgressLine("read", "reading", "rows");
  }
  auto report = db->IndexSource(req);
  if (g.interactive && !g.quiet) std::fprintf(stderr, "\r\033[K");
  if (!report.ok()) return Fail(report.status());
  const kbindex::SourceReport& r = *report;
  int exit_code = kExitOk;
  if (!g.json && !g.quiet) {
    std::printf("%s (%s): %s, %lld rows%s, %lld new, %lld changed, %lld restored, %lld unchanged, %lld removed, "
                "%zu skipped\n",
                Printable(r.source).c_str(), Printable(r.location).c_str(), r.mode.c_str(),
                static_cast<long long>(r.rows),
                r.mode == "outbox" ? (", " + std::to_string(r.events) + " events").c_str() : "",
                static_cast<long long>(r.added), static_cast<long long>(r.changed),
                static_cast<long long>(r.restored), static_cast<long long>(r.unchanged),
                static_cast<long long>(r.removed), r.skipped.size());
    for (const auto& s : r.skipped) {
      std::printf("  skipped row %s: %s\n", Printable(s.path).c_str(), Printable(s.detail).c_str());
    }
  }
  if (!r.status.ok()) {
    Fail(r.status);
    exit_code = kExitFailure;
  }
  if (ReportSyncAfterIndex(g, r.sync, r.sync_status) != kExitOk) exit_code = kExitFailure;
  if (g.json) PrintJson(app::SourceReportToJson(r).dump());
  return exit_code;
}

}  // namespace

int RunIndex(Globals& g, const IndexArgs& args) {
  if (args.folders.empty() && !args.source.empty() && IsDatabaseSource(g.options, args.source)) {
    return RunIndexSource(g, args);
  }
  if (args.full || args.incremental || args.outbox || !args.item.empty()) {
    std::fprintf(stderr, "kbindex: --full, --incremental, --outbox and --item are for a database source: "
                         "--source NAME, configured in \"sources\" (or defined with --sqlite/--postgres)\n");
    return kExitUsage;
  }
  auto db = OpenDatabase(g);
  if (!db) return kExitFailure;
  InstallStopHandler();
  kbindex::IndexRequest req;
  req.folders = args.folders;
  req.source_name = args.source;
  req.allow_mass_delete = args.allow_mass_delete;
  req.sync = !args.no_sync;
  req.cancel = &g_stop;
  if (g.interactive && !g.quiet) {
    req.on_progress = ProgressLine("scan", "scanning", "files");
  }
  auto report = db->IndexFolders(req);
  if (g.interactive && !g.quiet) std::fprintf(stderr, "\r\033[K");
  if (!report.ok()) return Fail(report.status());
  const kbindex::IndexReport& r = *report;
  int exit_code = kExitOk;
  for (const kbindex::FolderReport& f : r.folders) {
    if (!f.status.ok()) {
      Fail(f.status);
      exit_code = kExitFailure;
      continue;
    }
    if (g.json || g.quiet) continue;
    std::printf("%s (%s): %lld files, %lld new, %lld changed, %lld restored, %lld unchanged, "
                "%lld removed, %zu skipped\n",
                Printable(f.source).c_str(), Printable(f.root).c_str(), static_cast<long long>(f.files),
                static_cast<long long>(f.added), static_cast<long long>(f.changed),
                static_cast<long long>(f.restored), static_cast<long long>(f.unchanged),
                static_cast<long long>(f.removed), f.skipped.size());
    for (const auto& s : f.skipped) {
      std::printf("  skipped %s: %s\n", Printable(s.path).c_str(), Printable(s.detail).c_str());
    }
  }
  if (ReportSyncAfterIndex(g, r.sync, r.sync_status) != kExitOk) exit_code = kExitFailure;
  if (g.json) PrintJson(app::IndexReportToJson(r).dump());
  return exit_code;
}

int RunSync(Globals& g) {
  auto db = OpenDatabase(g);
  if (!db) return kExitFailure;
  InstallStopHandler();
  auto r = db->SyncNow(&g_stop);
  if (!r.ok()) return Fail(r.status());
  if (g.json) PrintJson(app::SyncSummaryToJson(*r).dump());
  return ReportSync(g, *r, "sync");
}

}  // namespace kb::cli
