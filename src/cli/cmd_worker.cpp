#include <spdlog/spdlog.h>

#include <cstdio>
#include <future>
#include <nlohmann/json.hpp>

#include "app/json_shapes.h"
#include "cli/cli.h"
#include "util/clock.h"
#include "worker/signals.h"

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
  auto db = OpenDatabase(g);
  if (!db) return kExitFailure;
  if (args.interval_s > 0) g.options.worker_interval_s = args.interval_s;
  kbindex::WorkerOptions wo;
  wo.interval_ms = 1000LL * (args.interval_s > 0 ? args.interval_s : g.options.worker_interval_s);
  wo.batch = args.batch > 0 ? args.batch : g.options.worker_batch;
  if (args.once) {
    auto r = db->RunWorkerPass();
    if (!r.ok()) return Fail(r.status());
    if (g.json) PrintJson(app::SyncSummaryToJson(*r).dump());
    if (r->unreachable) return Fail(r->error);
    return ReportSync(g, *r, "worker pass");
  }
  if (auto st = db->StartWorker(wo); !st.ok()) return Fail(st);
  spdlog::info("worker: syncing {} every {} s in batches of {} (Ctrl-C to stop)", db->options().db_path,
               wo.interval_ms / 1000, wo.batch);
  stop_requested.get_future().wait();
  db->StopWorker();
  spdlog::info("worker stopped");
  return kExitOk;
}

int RunFailures(Globals& g, int limit) {
  auto db = OpenDatabase(g);
  if (!db) return kExitFailure;
  auto failed = db->Failures(limit);
  if (!failed.ok()) return Fail(failed.status());
  auto partial = db->PartlyIndexed(limit);
  if (!partial.ok()) return Fail(partial.status());
  if (g.json) {
    json arr = json::array(), part = json::array();
    for (const auto& f : *failed) arr.push_back(app::FailureToJson(f));
    for (const auto& n : *partial) part.push_back(json{{"id", n.id}, {"notice", n.sync.notice.value_or("")}});
    PrintJson(json{{"failures", arr}, {"partial", part}}.dump());
    return kExitOk;
  }
  if (failed->empty() && partial->empty() && !g.quiet) std::printf("no failed documents\n");
  for (const auto& n : *partial) {
    std::printf("%s  in part only\n    %s\n", Printable(n.id).c_str(), Printable(n.sync.notice.value_or("")).c_str());
  }
  const int max = db->options().max_attempts;
  for (const auto& f : *failed) {
    std::printf("%s  %d/%d attempts%s, last %s%s\n    %s\n", Printable(f.id).c_str(), f.attempts, max,
                f.exhausted ? " (exhausted)" : "",
                f.last_attempt_ms ? FormatIsoTime(*f.last_attempt_ms).c_str() : "never",
                f.deleted ? " [delete]" : "", Printable(f.error).c_str());
  }
  return kExitOk;
}

int RunRetry(Globals& g, const std::string& id, bool all) {
  if (id.empty() && !all) {
    std::fprintf(stderr, "kbindex: give a document id, or --all for every failed document\n");
    return kExitUsage;
  }
  auto db = OpenDatabase(g);
  if (!db) return kExitFailure;
  auto n = db->Retry(all ? "" : id);
  if (!n.ok()) return Fail(n.status());
  if (g.json) {
    PrintJson(json{{"reset", *n}}.dump());
  } else if (!g.quiet) {
    std::printf("%d documents are due again; run `kbindex sync` or let the worker pick them up\n", *n);
  }
  return kExitOk;
}

int RunReindex(Globals& g, const ReindexArgs& args) {
  auto db = OpenDatabase(g);
  if (!db) return kExitFailure;
  InstallStopHandler();
  kbindex::ReindexRequest req;
  req.embedder = args.embedder;
  req.rebuild = args.rebuild;
  req.cancel = &g_stop;
  if (g.interactive && !g.quiet) {
    req.on_progress = [](const std::string& phase, const kbindex::SyncSummary& r) {
      std::fprintf(stderr, "\r\033[K%s: %lld documents, %lld chunks", phase.c_str(),
                   static_cast<long long>(r.synced), static_cast<long long>(r.chunks));
    };
  }
  auto result = db->Reindex(req);
  if (g.interactive && !g.quiet) std::fprintf(stderr, "\r\033[K");
  if (!result.ok()) return Fail(result.status());
  const kbindex::ReindexReport& r = *result;
  if (g.json) {
    PrintJson(app::ReindexReportToJson(r).dump());
  } else if (!g.quiet) {
    if (r.rebuilt) {
      std::printf("rebuilt into %s: %lld documents, %lld chunks; old collection %s %s\n", r.collection.c_str(),
                  static_cast<long long>(r.documents), static_cast<long long>(r.chunks), r.previous_collection.c_str(),
                  r.dropped_previous ? "dropped" : "not dropped yet (retried later)");
    } else if (r.switched) {
      std::printf("switched to %s (%s): %lld documents, %lld chunks; old collection %s %s\n", r.collection.c_str(),
                  r.embedder.c_str(), static_cast<long long>(r.documents), static_cast<long long>(r.chunks),
                  r.previous_collection.c_str(), r.dropped_previous ? "dropped" : "not dropped yet (retried later)");
    } else {
      std::printf("re-indexed %lld documents (%lld chunks) in place into %s; %lld orphan chunks removed\n",
                  static_cast<long long>(r.documents), static_cast<long long>(r.chunks), r.collection.c_str(),
                  static_cast<long long>(r.orphans_deleted));
    }
  }
  return r.failed > 0 ? kExitFailure : kExitOk;
}

int RunVerify(Globals& g, bool repair) {
  auto db = OpenDatabase(g);
  if (!db) return kExitFailure;
  auto result = db->Verify(kbindex::VerifyRequest{repair});
  if (!result.ok()) return Fail(result.status());
  auto print = [&](const char* label, const kbindex::VerifyReport& v) {
    if (g.json || g.quiet) return;
    std::printf("%s: %lld rows (%lld not synced), %lld chunks expected, %lld in Chroma; %lld missing, "
                "%lld stale, %lld orphans; SQLite integrity %s\n",
                label, static_cast<long long>(v.rows), static_cast<long long>(v.unsynced_rows),
                static_cast<long long>(v.expected_chunks), static_cast<long long>(v.chroma_chunks),
                static_cast<long long>(v.missing), static_cast<long long>(v.stale),
                static_cast<long long>(v.orphans), v.integrity == "ok" ? "ok" : "FAILED");
    for (size_t i = 0; i < std::min<size_t>(v.drifted_documents.size(), 10); ++i) {
      std::printf("  drifted: %s\n", Printable(v.drifted_documents[i]).c_str());
    }
    for (size_t i = 0; i < std::min<size_t>(v.orphan_sample.size(), 10); ++i) {
      std::printf("  orphan:  %s\n", Printable(v.orphan_sample[i]).c_str());
    }
  };
  auto print_check = [&](const char* label, const std::optional<kbindex::IndexCheck>& c) {
    if (g.json || g.quiet || !c) return;
    if (c->ok) {
      std::printf("%s: the index answers (%d self-queries, probe found, %lld ms)\n", label, c->checked,
                  static_cast<long long>(c->duration_ms));
    } else {
      std::printf("%s: index_broken: %s\n", label, c->reason.c_str());
    }
  };
  print("verify", result->before);
  print_check("index check", result->index_check);
  if (result->rebuild && !g.json && !g.quiet) {
    std::printf("rebuilt into %s: %lld documents, %lld chunks\n", result->rebuild->collection.c_str(),
                static_cast<long long>(result->rebuild->documents), static_cast<long long>(result->rebuild->chunks));
  }
  if (result->after) print("after repair", *result->after);
  print_check("index check after repair", result->index_check_after);
  if (g.json) PrintJson(app::VerifyResultToJson(*result).dump());
  if (!result->ok() && !repair && !g.json && !g.quiet) std::printf("run `kbindex verify --repair` to fix it\n");
  return result->ok() ? kExitOk : kExitFailure;
}

}  // namespace kb::cli
