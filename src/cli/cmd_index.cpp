#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/json_shapes.h"
#include "cli/cli.h"

namespace kb::cli {

using json = nlohmann::json;

int RunIndex(Globals& g, const IndexArgs& args) {
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
    req.on_progress = [](const kbindex::IndexProgress& p) {
      if (p.phase != "scan") return;
      std::fprintf(stderr, "\r\033[Kscanning %s: %lld files, %lld written", Printable(p.folder).c_str(),
                   static_cast<long long>(p.files), static_cast<long long>(p.written));
      std::fflush(stderr);
    };
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
  if (r.sync) {
    if (ReportSync(g, *r.sync, "sync") != kExitOk) exit_code = kExitFailure;
  } else if (!r.sync_status.ok()) {
    std::fprintf(stderr, "kbindex: not synced to Chroma: %s\n"
                         "kbindex: the documents are safe in SQLite (pending); run `kbindex sync` later\n",
                 Printable(r.sync_status.message()).c_str());
    exit_code = kExitFailure;
  }
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
