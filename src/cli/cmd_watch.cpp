// kbindex watch: follow folders live (src/watch/ through the library), until SIGINT/SIGTERM.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <future>
#include <nlohmann/json.hpp>

#include "app/json_shapes.h"
#include "cli/cli.h"
#include "worker/signals.h"

namespace kb::cli {

int RunWatch(Globals& g, const WatchArgs& args) {
  std::promise<void> stop_requested;
  std::atomic<bool> stopping{false};
  // Before any thread starts, so all of them leave SIGINT/SIGTERM to the watcher.
  SignalWatcher signals([&](int) {
    spdlog::info("stopping: finishing the change in hand and the sync in progress");
    if (!stopping.exchange(true)) stop_requested.set_value();
  });
  if (!g.quiet && g.verbose == 0) spdlog::set_level(spdlog::level::info);
  auto db = OpenDatabase(g);
  if (!db) return kExitFailure;

  if (!args.no_worker) {
    kbindex::WorkerOptions wo;
    if (kbindex::Status st = db->StartWorker(wo); st.code() == kbindex::Status::Code::kConflict) {
      // `kbindex serve` (or a worker) runs it: watched changes are then synced by passes of our own.
      spdlog::info("another process runs the retry worker; syncing watched changes here");
    } else if (!st.ok()) {
      spdlog::warn("watching without the retry worker (Chroma unavailable): {}", st.message());
    }
  }
  kbindex::WatchRequest req;
  req.folders = args.folders;
  req.source_name = args.source;
  req.quiet_ms = args.quiet_ms;
  req.reconcile_s = args.reconcile_s;
  if (kbindex::Status st = db->StartWatching(req); !st.ok()) {
    db->StopWorker();
    return Fail(st);
  }
  if (!g.json && !g.quiet) {
    if (auto w = db->GetWatchState()) {
      for (const auto& f : w->folders) std::printf("watching %s\n", Printable(f.root).c_str());
    }
    std::printf("kbindex: following the folders; Ctrl-C to stop\n");
    std::fflush(stdout);
  }
  stop_requested.get_future().wait();
  std::optional<kbindex::WatchState> last = db->GetWatchState();
  db->StopWatching();
  db->StopWorker();
  if (g.json && last) {
    last->running = false;
    PrintJson(app::WatchStateToJson(*last).dump());
  }
  return kExitOk;
}

}  // namespace kb::cli
