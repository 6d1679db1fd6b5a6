#include <spdlog/spdlog.h>

#include <cstdio>
#include <future>
#include <nlohmann/json.hpp>

#include "app/stats_json.h"
#include "store/meta_keys.h"
#include "cli/cli.h"
#include "sync/reindex.h"
#include "sync/verifier.h"
#include "worker/retry_worker.h"
#include "worker/signals.h"
#include "worker/worker_lock.h"

namespace kb::cli {

using json = nlohmann::json;

int RunWorker(Globals& g, const WorkerArgs& args) {
  std::promise<void> stop_requested;
  std::atomic<bool> stopping{false};
  // Before any thread starts, so all of them leave SIGINT/SIGTERM to the watcher.
  SignalWatcher signals([&](int) {
    spdlog::info("stopping: finishing the batch in hand");
    if (!stopping.exchange(true)) stop_requested.set_value();
  });
  if (!g.quiet && g.verbose == 0) spdlog::set_level(spdlog::level::info);
  auto store = OpenStore(g);
  if (!store) return kExitFailure;
  auto lock = WorkerLock::Acquire(g.config.db_path);
  if (!lock.ok()) return Fail(lock.status());
  auto side = OpenVectorSide(g.config, *store);
  if (!side.ok()) return Fail(side.status());
  auto engine = MakeSyncEngine(*side, *store, g.config);
  WorkerOptions wo;
  wo.interval_ms = 1000LL * (args.interval_s > 0 ? args.interval_s : g.config.worker_interval_s);
  wo.batch = args.batch > 0 ? args.batch : g.config.worker_batch;
  RetryWorker worker(*store, *engine, *side->chroma, wo);
  if (args.once) {
    SyncReport r = worker.RunOnce();
    if (g.json) PrintJson(SyncReportToJson(r).dump());
    if (r.unreachable) return Fail(Status::Unavailable(r.first_error));
    return ReportSync(g, r, "worker pass");
  }
  spdlog::info("worker: syncing {} to {} every {} s in batches of {} (Ctrl-C to stop)",
               g.config.db_path, side->url, wo.interval_ms / 1000, wo.batch);
  worker.Start();
  stop_requested.get_future().wait();
  worker.Stop();
  spdlog::info("worker stopped");
  return kExitOk;
}

int RunFailures(Globals& g, int limit) {
  auto store = OpenStore(g);
  if (!store) return kExitFailure;
  auto failed = store->ListFailed(limit);
  if (!failed.ok()) return Fail(failed.status());
  if (g.json) {
    json arr = json::array();
    for (const auto& d : *failed) arr.push_back(FailureToJson(d, g.config.max_attempts));
    PrintJson(json{{"failures", arr}}.dump());
    return kExitOk;
  }
  if (failed->empty() && !g.quiet) std::printf("no failed documents\n");
  for (const auto& d : *failed) {
    std::printf("%s  %d/%d attempts%s, last %s%s\n    %s\n", d.id.c_str(), d.sync_attempts,
                g.config.max_attempts, d.sync_attempts >= g.config.max_attempts ? " (exhausted)" : "",
                d.last_sync_attempt ? FormatIsoTime(*d.last_sync_attempt).c_str() : "never",
                d.deleted_at ? " [delete]" : "", d.sync_error.value_or("").c_str());
  }
  return kExitOk;
}

int RunRetry(Globals& g, const std::string& id, bool all) {
  if (id.empty() && !all) {
    std::fprintf(stderr, "kbindex: give a document id, or --all for every failed document\n");
    return kExitUsage;
  }
  auto store = OpenStore(g);
  if (!store) return kExitFailure;
  auto n = store->ResetFailed(all ? "" : id, false, g.config.max_attempts);
  if (!n.ok()) return Fail(n.status());
  if (!all && *n == 0) return Fail(Status::NotFound("'" + id + "' is not a failed document"));
  if (g.json) {
    PrintJson(json{{"reset", *n}}.dump());
  } else if (!g.quiet) {
    std::printf("%d documents are due again; run `kbindex sync` or let the worker pick them up\n", *n);
  }
  return kExitOk;
}

int RunReindex(Globals& g) {
  auto store = OpenStore(g);
  if (!store) return kExitFailure;
  InstallStopHandler();
  auto side = OpenVectorSide(g.config, *store);
  if (!side.ok()) return Fail(side.status());
  auto recorded = store->GetMeta(meta::kEmbedder);
  if (!recorded.ok()) return Fail(recorded.status());
  ReindexOptions ro;
  ro.stop = &g_stop;
  ro.on_progress = [&](const std::string& phase, const SyncReport& r) {
    if (g.interactive && !g.quiet) {
      std::fprintf(stderr, "\r\033[K%s: %lld documents, %lld chunks", phase.c_str(),
                   static_cast<long long>(r.synced), static_cast<long long>(r.chunks));
    }
  };
  Result<ReindexReport> result = Status::Internal("not run");
  const bool switching = recorded->has_value() && **recorded != side->embedder->Id();
  if (switching) {
    result = SwitchEmbedder(*store, *side->chroma, *side->embedder, SyncOptionsFrom(g.config), ro);
  } else {
    SyncEngine engine(*store, *side->chroma, *side->embedder, SyncOptionsFrom(g.config));
    result = ReindexInPlace(*store, *side->chroma, engine, ro);
  }
  if (g.interactive && !g.quiet) std::fprintf(stderr, "\r\033[K");
  if (!result.ok()) return Fail(result.status());
  const ReindexReport& r = *result;
  if (g.json) {
    PrintJson(json{{"collection", r.collection}, {"switched", r.switched},
                   {"previousCollection", r.previous_collection}, {"droppedPrevious", r.dropped_previous},
                   {"documents", r.documents}, {"chunks", r.chunks}, {"failed", r.failed},
                   {"orphansDeleted", r.orphans_deleted}}
                  .dump());
  } else if (!g.quiet) {
    if (r.switched) {
      std::printf("switched to %s (%s): %lld documents, %lld chunks; old collection %s %s\n",
                  r.collection.c_str(), side->embedder->Id().c_str(), static_cast<long long>(r.documents),
                  static_cast<long long>(r.chunks), r.previous_collection.c_str(),
                  r.dropped_previous ? "dropped" : "not dropped yet (retried later)");
    } else {
      std::printf("re-indexed %lld documents (%lld chunks) in place into %s; %lld orphan chunks removed\n",
                  static_cast<long long>(r.documents), static_cast<long long>(r.chunks),
                  r.collection.c_str(), static_cast<long long>(r.orphans_deleted));
    }
  }
  return r.failed > 0 ? kExitFailure : kExitOk;
}

int RunVerify(Globals& g, bool repair) {
  auto store = OpenStore(g);
  if (!store) return kExitFailure;
  auto side = OpenVectorSide(g.config, *store);
  if (!side.ok()) return Fail(side.status());
  auto engine = MakeSyncEngine(*side, *store, g.config);
  if (Status st = engine->Prepare(); !st.ok()) return Fail(st);
  Status integrity = store->CheckIntegrity();
  auto report = Verify(*store, *side->chroma, engine->collection());
  if (!report.ok()) return Fail(report.status());
  auto to_json = [&](const VerifyReport& v) {
    auto sample = [](const std::vector<std::string>& ids) {
      return json(std::vector<std::string>(ids.begin(), ids.begin() + std::min<size_t>(ids.size(), 20)));
    };
    return json{{"consistent", v.consistent()}, {"converged", v.converged()},
                {"rows", v.rows}, {"unsyncedRows", v.unsynced_rows},
                {"expectedChunks", v.expected_chunks}, {"chromaChunks", v.vector_chunks},
                {"missing", v.missing.size()}, {"stale", v.stale.size()}, {"orphans", v.orphans.size()},
                {"driftedDocuments", sample(v.drifted_documents)}, {"orphanSample", sample(v.orphans)},
                {"integrity", integrity.ok() ? "ok" : integrity.message()}};
  };
  json out{{"before", to_json(*report)}};
  auto print = [&](const char* label, const VerifyReport& v) {
    if (g.json || g.quiet) return;
    std::printf("%s: %lld rows (%lld not synced), %lld chunks expected, %lld in Chroma; %zu missing, "
                "%zu stale, %zu orphans; SQLite integrity %s\n",
                label, static_cast<long long>(v.rows), static_cast<long long>(v.unsynced_rows),
                static_cast<long long>(v.expected_chunks), static_cast<long long>(v.vector_chunks),
                v.missing.size(), v.stale.size(), v.orphans.size(), integrity.ok() ? "ok" : "FAILED");
    for (size_t i = 0; i < std::min<size_t>(v.drifted_documents.size(), 10); ++i) {
      std::printf("  drifted: %s\n", v.drifted_documents[i].c_str());
    }
    for (size_t i = 0; i < std::min<size_t>(v.orphans.size(), 10); ++i) {
      std::printf("  orphan:  %s\n", v.orphans[i].c_str());
    }
  };
  print("verify", *report);
  bool consistent = report->consistent() && integrity.ok();
  if (repair && !report->consistent()) {
    if (Status st = RepairDrift(*store, *side->chroma, engine->collection(), *report); !st.ok()) return Fail(st);
    PassOptions pass;
    pass.kind = "repair";
    SyncReport r = engine->Run(pass);
    auto after = Verify(*store, *side->chroma, engine->collection());
    if (!after.ok()) return Fail(after.status());
    out["repair"] = SyncReportToJson(r);
    out["after"] = to_json(*after);
    print("after repair", *after);
    consistent = after->consistent() && integrity.ok();
  }
  if (g.json) PrintJson(out.dump());
  if (!consistent && !repair && !g.json && !g.quiet) std::printf("run `kbindex verify --repair` to fix the drift\n");
  return consistent ? kExitOk : kExitFailure;
}

}  // namespace kb::cli
