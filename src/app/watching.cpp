#include "app/watching.h"

#include <signal.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "app/indexing.h"
#include "scan/scanner.h"
#include "store/meta_keys.h"

namespace kb::app {

using json = nlohmann::json;

kbindex::FolderReport ApplyFolderChanges(Services& s, const std::string& folder,
                                         const std::string& source_name,
                                         const std::vector<std::string>& rel_paths) {
  // A watcher never overrides the safety valve: a burst of deletions that trips it is an
  // unmount or an accident until a person says otherwise (`index --allow-mass-delete`).
  ScanOptions opt = FolderScanOptions(s, folder, source_name, false);
  auto scanned = ScanPaths(s.store(), opt, rel_paths);
  if (scanned.ok() && scanned->written() > 0) s.NudgeWorker();
  return ToFolderReport(folder, scanned, "watch " + folder);
}

kbindex::FolderReport ReconcileFolder(Services& s, const std::string& folder, const std::string& source_name) {
  ScanOptions opt = FolderScanOptions(s, folder, source_name, false);
  auto scanned = ScanFolder(s.store(), opt);
  if (scanned.ok() && scanned->written() > 0) s.NudgeWorker();
  return ToFolderReport(folder, scanned, "reconcile " + folder);
}

namespace {

json OptMs(const std::optional<int64_t>& t) { return t ? json(*t) : json(nullptr); }
std::optional<int64_t> MsOf(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}
template <typename T>
T Get(const json& j, const char* key, T fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    return fallback;
  }
}

}  // namespace

// Stored as JSON with times in milliseconds (the public JSON shape formats them).
Status PublishWatchState(Services& s, const kbindex::WatchState& w) {
  json folders = json::array();
  for (const auto& f : w.folders) {
    folders.push_back(json{{"folder", f.folder}, {"source", f.source}, {"root", f.root},
                           {"watching", f.watching}, {"directories", f.directories}, {"error", f.error}});
  }
  json j{{"running", w.running},       {"pid", w.pid},
         {"started", OptMs(w.started_ms)}, {"folders", folders},
         {"events", w.events},         {"applied", w.applied},
         {"batches", w.batches},       {"reconciles", w.reconciles},
         {"overflows", w.overflows},   {"lastReconcile", OptMs(w.last_reconcile_ms)},
         {"lastReconcileReason", w.last_reconcile_reason},
         {"lastChange", OptMs(w.last_change_ms)},
         {"lastError", w.last_error},  {"updated", s.clock()->NowMs()}};
  return s.store().SetMeta(meta::kWatchState, j.dump());
}

std::optional<kbindex::WatchState> ReadWatchState(Services& s) {
  auto raw = s.store().GetMeta(meta::kWatchState);
  if (!raw.ok() || !raw->has_value()) return std::nullopt;
  const json j = json::parse(**raw, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  kbindex::WatchState w;
  w.running = Get<bool>(j, "running", false);
  w.pid = Get<int64_t>(j, "pid", 0);
  if (w.running) {
    // A watcher that died without saying so (kill -9, power loss) is not running.
    const bool alive = w.pid > 0 && (::kill(static_cast<pid_t>(w.pid), 0) == 0 || errno == EPERM);
    if (!alive) {
      w.running = false;
      w.last_error = "the watching process (pid " + std::to_string(w.pid) + ") is gone";
    }
  }
  w.started_ms = MsOf(j, "started");
  if (auto it = j.find("folders"); it != j.end() && it->is_array()) {
    for (const json& f : *it) {
      kbindex::WatchedFolder wf;
      wf.folder = Get<std::string>(f, "folder", "");
      wf.source = Get<std::string>(f, "source", "");
      wf.root = Get<std::string>(f, "root", "");
      wf.watching = Get<bool>(f, "watching", false) && w.running;
      wf.directories = Get<int64_t>(f, "directories", 0);
      wf.error = Get<std::string>(f, "error", "");
      w.folders.push_back(std::move(wf));
    }
  }
  w.events = Get<int64_t>(j, "events", 0);
  w.applied = Get<int64_t>(j, "applied", 0);
  w.batches = Get<int64_t>(j, "batches", 0);
  w.reconciles = Get<int64_t>(j, "reconciles", 0);
  w.overflows = Get<int64_t>(j, "overflows", 0);
  w.last_reconcile_ms = MsOf(j, "lastReconcile");
  w.last_reconcile_reason = Get<std::string>(j, "lastReconcileReason", "");
  w.last_change_ms = MsOf(j, "lastChange");
  if (w.last_error.empty()) w.last_error = Get<std::string>(j, "lastError", "");
  w.updated_ms = MsOf(j, "updated");
  return w;
}

}  // namespace kb::app
