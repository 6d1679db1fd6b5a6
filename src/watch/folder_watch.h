// FolderWatch: the folder watcher as a whole. A TreeWatcher follows the folders; one applier
// thread takes its due changes and brings them into the index through the use cases
// (app/watching.h: the very scanner `index` uses, with its safety valve), then nudges the sync:
// the retry worker when one runs in this process, else a pass of the one SyncEngine on a sync
// thread of its own. Reconciles (start, lost events, watch limit, a folder that came back,
// periodic) are full scans. What it is doing is published in the database for stats and
// health (at most `publish_interval_ms` behind).
//
// Stop() finishes the batch in hand and the sync pass in progress, joins both threads, and
// records that watching stopped. One FolderWatch per database (WatchLock).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "app/services.h"
#include "kbindex/types.h"
#include "watch/tree_watcher.h"
#include "watch/watch_lock.h"

namespace kb::watch {

struct FolderWatchOptions {
  std::vector<std::string> folders;  // as given (absolute or relative to the working folder)
  std::string source_name;           // empty: each folder's base name (as `index`)
  TreeWatcherOptions tree;
  int64_t publish_interval_ms = 1'000;
};

class FolderWatch {
 public:
  // NotFound for a folder that neither exists nor was ever indexed; Conflict when this
  // database is already watched; IOError when inotify is unavailable.
  static Result<std::unique_ptr<FolderWatch>> Start(app::Services& services, FolderWatchOptions options);
  ~FolderWatch();  // Stop()
  FolderWatch(const FolderWatch&) = delete;
  FolderWatch& operator=(const FolderWatch&) = delete;

  void Stop();
  kbindex::WatchState state() const;
  // True once every change seen so far has been applied to SQLite and no sync this watch
  // started is still due or running; false when `timeout_ms` ran out first. (Tests, bench.)
  bool WaitIdle(int64_t timeout_ms);

  TreeWatcher& tree() { return *tree_; }  // test seam (SetPaused)

 private:
  FolderWatch(app::Services& services, FolderWatchOptions options, std::vector<std::string> roots,
              std::unique_ptr<WatchLock> lock);
  void ApplyLoop();
  // Applies one batch; true when documents were written.
  bool Handle(const ChangeBatch& batch);
  void SyncSoon();
  void SyncLoop();
  void Publish(bool force);

  app::Services& s_;
  const FolderWatchOptions options_;
  const std::vector<std::string> roots_;  // canonical, per folder
  std::unique_ptr<WatchLock> lock_;
  std::unique_ptr<TreeWatcher> tree_;
  std::thread applier_;
  std::thread syncer_;
  bool stopped_ = false;  // Stop() ran (guarded by stop_mu_)
  std::mutex stop_mu_;

  mutable std::mutex mu_;  // guards state_, applying_, the publish bookkeeping
  std::condition_variable idle_cv_;
  kbindex::WatchState state_;
  std::vector<std::string> scan_errors_;  // per folder: the last apply/reconcile error
  bool applying_ = false;
  int64_t last_publish_ms_ = 0;
  std::string published_digest_;

  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  bool sync_due_ = false;
  bool syncing_ = false;
  bool sync_stop_flag_ = false;
  std::atomic<bool> sync_stop_{false};  // the pass in progress finishes its batch and returns
};

}  // namespace kb::watch
