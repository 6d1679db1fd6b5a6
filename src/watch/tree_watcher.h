// TreeWatcher: follows folder trees with Linux inotify and hands out, through Next(), the
// paths that changed once they are due (see ChangeCoalescer), or a request to reconcile a
// whole folder with a full scan when events were (or may have been) lost.
//
// - Recursive: every folder of the tree is watched, with the scanner's rules (hidden folders
//   and excluded ones are not; links to folders are followed, loops are not). New and moved-in
//   folders are watched as they appear; removed and moved-out ones are dropped.
// - Hidden files never count (editors' temporary and swap files are hidden); other files count
//   when the include/exclude patterns select them, or when they are one side of a move whose
//   other side is selected.
// - Lost events: IN_Q_OVERFLOW (the kernel's queue, fs.inotify.max_queued_events, ran over)
//   re-arms every tree and asks for a reconcile; so does hitting the watch limit
//   (fs.inotify.max_user_watches), after which the tree is re-armed and reconciled every
//   `degraded_reconcile_ms` until every folder has its watch.
// - A folder that is deleted, moved away or unmounted is looked for every `root_check_ms`
//   (its device and inode are compared, so a remount over it is noticed too); when it is back
//   its watches are re-armed and it is reconciled. Periodic reconciles every
//   `reconcile_interval_ms` catch what inotify cannot see (network file systems, edits to the
//   targets of links to files outside the tree).
//
// Threading: one reader thread (started by Start, joined by Stop) owns the inotify
// descriptor; it waits in poll() on that descriptor and an eventfd that Stop() and the test
// seam write to. Next() is called from one other thread (the applier). No detached threads.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "util/status.h"
#include "watch/coalescer.h"

namespace kb::watch {

struct WatchRoot {
  std::string root;  // absolute, canonical
  std::vector<std::string> include = {"*.md", "*.markdown", "*.txt"};
  std::vector<std::string> exclude;
};

struct TreeWatcherOptions {
  CoalescerOptions coalesce;
  int64_t root_check_ms = 2'000;
  int64_t reconcile_interval_ms = 0;  // 0: no periodic reconcile
  int64_t degraded_reconcile_ms = 60'000;
  // Test seam: behave as if the system's watch limit were this many watches (0: the system's).
  int64_t max_watches = 0;
  // Ask for a reconcile of every folder as soon as it is armed (the start of a watch).
  bool reconcile_at_start = true;
};

struct TreeWatcherStats {
  int64_t events = 0;     // inotify events read
  int64_t overflows = 0;  // IN_Q_OVERFLOW seen
  struct Root {
    bool armed = false;       // its watches are in place
    int64_t directories = 0;  // folders with a watch
    bool degraded = false;    // the watch limit left some folders unwatched
    std::string error;        // why it is not (fully) watched
  };
  std::vector<Root> roots;
};

class TreeWatcher {
 public:
  TreeWatcher(std::vector<WatchRoot> roots, TreeWatcherOptions options);
  ~TreeWatcher();  // Stop()
  TreeWatcher(const TreeWatcher&) = delete;
  TreeWatcher& operator=(const TreeWatcher&) = delete;

  // Creates the inotify instance, arms every folder that exists (a missing one is looked for
  // later) and starts the reader thread. IOError when inotify is unavailable (e.g. the
  // per-user instance limit, fs.inotify.max_user_instances).
  Status Start();
  // Stops the reader thread and wakes Next(). Idempotent.
  void Stop();

  // Waits until something is due, at most `max_wait_ms`: the due batches (possibly none when
  // the wait ran out), or nullopt once stopped.
  std::optional<std::vector<ChangeBatch>> Next(int64_t max_wait_ms);

  TreeWatcherStats stats() const;
  // Changes seen but not yet handed out by Next().
  size_t pending() const;

  // Test seam: while paused the reader leaves the kernel's queue alone (so it can overflow).
  void SetPaused(bool paused);

 private:
  struct Root {
    WatchRoot spec;
    bool armed = false;
    dev_t dev = 0;
    ino_t ino = 0;
    bool degraded = false;
    int64_t next_rearm_ms = 0;
    std::string error;
    std::map<std::string, int> wd_of;  // folder prefix ("" or "a/b/") -> watch descriptor
  };
  struct PendingMove {
    size_t root = 0;
    std::string rel;
    bool dir = false;
    bool relevant = false;
    int64_t at_ms = 0;
  };

  void Loop();
  void ReadEvents(int64_t now);
  void HandleEvent(int wd, uint32_t mask, uint32_t cookie, const std::string& name, int64_t now);
  void HandleEntry(size_t root, const std::string& rel, uint32_t mask, uint32_t cookie, int64_t now);
  void ResolveMoves(int64_t now, bool all);
  void Timers(int64_t now);

  using DirKeys = std::set<std::pair<dev_t, ino_t>>;
  // Arms `root` entirely (its top folder first); true when its top folder is watched.
  bool ArmRoot(size_t root, int64_t now);
  // Watches the folder `rel` ("" = the root) of `root` and everything below it; false when
  // the watch limit left some folder unwatched (the root is then degraded).
  bool ArmTree(size_t root, const std::string& rel, int64_t now);
  bool ArmDir(size_t root, const std::string& prefix, const std::string& full, DirKeys& ancestors,
              DirKeys& visited);
  void Unwatch(size_t root, const std::string& rel);  // the folder `rel` and below ("": all)
  void MovePrefix(size_t root, const std::string& from, const std::string& to);
  void ForgetWd(int wd);
  void Disarm(size_t root, const std::string& why);
  bool Included(const Root& r, const std::string& rel) const;
  bool Excluded(const Root& r, const std::string& rel) const;
  int64_t TotalWatches() const;

  const TreeWatcherOptions options_;
  int fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};

  mutable std::mutex mu_;  // guards everything below (the reader holds it while handling events)
  std::condition_variable cv_;
  std::vector<Root> roots_;
  std::unordered_map<int, std::vector<std::pair<size_t, std::string>>> paths_of_wd_;
  std::map<uint32_t, PendingMove> moves_;  // by cookie: IN_MOVED_FROM waiting for its IN_MOVED_TO
  ChangeCoalescer coalescer_;
  TreeWatcherStats stats_;
  int64_t next_root_check_ms_ = 0;
  int64_t next_reconcile_ms_ = 0;
  bool limit_logged_ = false;
};

}  // namespace kb::watch
