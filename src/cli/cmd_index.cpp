#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "app/crash_points.h"
#include "app/stats_json.h"
#include "cli/cli.h"
#include "scan/scanner.h"

namespace kb::cli {

using json = nlohmann::json;

namespace {

void PrintProgress(const Globals& g, const ScanReport& r) {
  if (!g.interactive || g.quiet) return;
  std::fprintf(stderr, "\r\033[Kscanning %s: %lld files, %lld new, %lld changed", r.source.c_str(),
               static_cast<long long>(r.files_seen), static_cast<long long>(r.added),
               static_cast<long long>(r.changed));
  std::fflush(stderr);
}

json ScanToJson(const ScanReport& r) {
  json skipped = json::array();
  for (const auto& s : r.skipped) skipped.push_back(SkippedToJson(s));
  return json{{"source", r.source},   {"root", r.root},         {"files", r.files_seen},
              {"added", r.added},     {"changed", r.changed},   {"restored", r.restored},
              {"unchanged", r.unchanged}, {"removed", r.removed}, {"filesRead", r.files_read},
              {"skipped", skipped}};
}

}  // namespace

int RunIndex(Globals& g, const IndexArgs& args) {
  auto store = OpenStore(g);
  if (!store) return kExitFailure;
  InstallStopHandler();

  // The vector side starts first so that syncing overlaps the scan.
  std::optional<VectorSide> side;
  std::unique_ptr<SyncEngine> engine;
  WorkFeed feed;
  SyncReport sync_report;
  std::thread syncer;
  Status vector_status;
  if (!args.no_sync) {
    auto opened = OpenVectorSide(g.config, *store);
    if (opened.ok()) {
      side = std::move(opened).value();
      engine = std::make_unique<SyncEngine>(*store, *side->chroma, *side->embedder, SyncOptionsFrom(g.config));
      syncer = std::thread([&] {
        PassOptions pass;
        pass.kind = "index";
        pass.follow = &feed;
        pass.stop = &g_stop;
        sync_report = engine->Run(pass);
      });
    } else {
      vector_status = opened.status();
    }
  }

  json reports = json::array();
  int exit_code = kExitOk;
  for (const std::string& folder : args.folders) {
    if (g_stop) break;
    ScanOptions opt;
    opt.root = folder;
    opt.source_name = args.source;
    opt.include = g.config.include;
    opt.exclude = g.config.exclude;
    opt.max_file_bytes = g.config.max_file_bytes;
    opt.allow_mass_delete = args.allow_mass_delete;
    opt.on_progress = [&](const ScanReport& r) { PrintProgress(g, r); };
    opt.on_batch_committed = [&] {
      CrashPoints::Get().Reach("scan-commit");
      feed.Notify();
    };
    auto report = ScanFolder(*store, opt);
    if (g.interactive && !g.quiet) std::fprintf(stderr, "\r\033[K");
    if (!report.ok()) {
      Fail(report.status().WithContext("index " + folder));
      exit_code = kExitFailure;
      continue;
    }
    const ScanReport& r = *report;
    if (g.json) {
      reports.push_back(ScanToJson(r));
    } else if (!g.quiet) {
      std::printf("%s (%s): %lld files, %lld new, %lld changed, %lld restored, %lld unchanged, "
                  "%lld removed, %zu skipped\n",
                  r.source.c_str(), r.root.c_str(), static_cast<long long>(r.files_seen),
                  static_cast<long long>(r.added), static_cast<long long>(r.changed),
                  static_cast<long long>(r.restored), static_cast<long long>(r.unchanged),
                  static_cast<long long>(r.removed), r.skipped.size());
      for (const auto& s : r.skipped) {
        std::printf("  skipped %s: %s\n", s.path.c_str(), s.detail.c_str());
      }
    }
  }
  feed.Finish();
  if (syncer.joinable()) syncer.join();

  json out{{"scans", reports}};
  if (engine) {
    out["sync"] = SyncReportToJson(sync_report);
    if (ReportSync(g, sync_report, "sync") != kExitOk) exit_code = kExitFailure;
  } else if (!args.no_sync) {
    out["sync"] = json{{"error", vector_status.message()}};
    std::fprintf(stderr, "kbindex: not synced to Chroma: %s\n"
                         "kbindex: the documents are safe in SQLite (pending); run `kbindex sync` later\n",
                 vector_status.message().c_str());
    exit_code = kExitFailure;
  }
  if (g.json) PrintJson(out.dump());
  return exit_code;
}

int RunSync(Globals& g) {
  auto store = OpenStore(g);
  if (!store) return kExitFailure;
  InstallStopHandler();
  auto side = OpenVectorSide(g.config, *store);
  if (!side.ok()) return Fail(side.status());
  SyncEngine engine(*store, *side->chroma, *side->embedder, SyncOptionsFrom(g.config));
  PassOptions pass;
  pass.kind = "sync";
  pass.stop = &g_stop;
  SyncReport r = engine.Run(pass);
  if (g.json) PrintJson(SyncReportToJson(r).dump());
  return ReportSync(g, r, "sync");
}

}  // namespace kb::cli
