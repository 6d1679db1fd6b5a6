#include "watch/tree_watcher.h"

#include <dirent.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

#include "scan/scanner.h"

namespace kb::watch {
namespace {

constexpr uint32_t kDirMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM |
                              IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR |
                              IN_EXCL_UNLINK;
// An IN_MOVED_FROM whose IN_MOVED_TO has not arrived this long after it: moved out of the tree.
// (The kernel queues both halves of a rename back to back; this only covers a read that
// happened to fall between them.)
constexpr int64_t kMovePairMs = 5;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string BaseName(const std::string& rel) {
  const size_t slash = rel.rfind('/');
  return slash == std::string::npos ? rel : rel.substr(slash + 1);
}

std::string SysctlValue(const char* path) {
  std::ifstream in(path);
  std::string v;
  in >> v;
  return v.empty() ? "?" : v;
}

void Wake(int fd) {
  const uint64_t one = 1;
  if (fd >= 0) (void)!::write(fd, &one, sizeof one);
}

}  // namespace

TreeWatcher::TreeWatcher(std::vector<WatchRoot> roots, TreeWatcherOptions options)
    : options_(options), coalescer_(options.coalesce) {
  for (auto& r : roots) {
    Root root;
    root.spec = std::move(r);
    roots_.push_back(std::move(root));
  }
  stats_.roots.resize(roots_.size());
}

TreeWatcher::~TreeWatcher() { Stop(); }

Status TreeWatcher::Start() {
  fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) {
    const int e = errno;
    return Status::IOError(std::string("cannot watch folders: inotify_init1: ") + std::strerror(e) +
                           (e == EMFILE ? " (the per-user limit fs.inotify.max_user_instances is reached)" : ""));
  }
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    const int e = errno;
    ::close(fd_);
    fd_ = -1;
    return Status::IOError(std::string("cannot watch folders: eventfd: ") + std::strerror(e));
  }
  {
    std::lock_guard lock(mu_);
    const int64_t now = NowMs();
    for (size_t i = 0; i < roots_.size(); ++i) {
      ArmRoot(i, now);
      if (options_.reconcile_at_start) coalescer_.Reconcile(i, "start");
    }
    next_root_check_ms_ = now + options_.root_check_ms;
    if (options_.reconcile_interval_ms > 0) next_reconcile_ms_ = now + options_.reconcile_interval_ms;
  }
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void TreeWatcher::Stop() {
  stop_ = true;
  Wake(wake_fd_);
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(mu_);
    if (fd_ >= 0) ::close(fd_);  // drops every watch
    if (wake_fd_ >= 0) ::close(wake_fd_);
    fd_ = wake_fd_ = -1;
  }
  cv_.notify_all();
}

void TreeWatcher::SetPaused(bool paused) {
  paused_ = paused;
  Wake(wake_fd_);
}

std::optional<std::vector<ChangeBatch>> TreeWatcher::Next(int64_t max_wait_ms) {
  std::unique_lock lock(mu_);
  const int64_t deadline = NowMs() + max_wait_ms;
  for (;;) {
    if (stop_) return std::nullopt;
    const int64_t now = NowMs();
    auto due = coalescer_.TakeDue(now);
    if (!due.empty() || now >= deadline) return due;
    int64_t wake = deadline;
    if (auto next = coalescer_.NextDue()) wake = std::min(wake, std::max(*next, now + 1));
    cv_.wait_for(lock, std::chrono::milliseconds(wake - now));
  }
}

TreeWatcherStats TreeWatcher::stats() const {
  std::lock_guard lock(mu_);
  TreeWatcherStats s = stats_;
  for (size_t i = 0; i < roots_.size(); ++i) {
    const Root& r = roots_[i];
    s.roots[i].armed = r.armed;
    s.roots[i].directories = static_cast<int64_t>(r.wd_of.size());
    s.roots[i].degraded = r.degraded;
    s.roots[i].error = r.error;
  }
  return s;
}

size_t TreeWatcher::pending() const {
  std::lock_guard lock(mu_);
  return coalescer_.pending() + moves_.size();
}

// ---------------------------------------------------------------- the reader thread

void TreeWatcher::Loop() {
  while (!stop_) {
    int64_t timeout = 60'000;
    {
      std::lock_guard lock(mu_);
      const int64_t now = NowMs();
      int64_t next = next_root_check_ms_;
      if (next_reconcile_ms_ > 0) next = std::min(next, next_reconcile_ms_);
      for (const Root& r : roots_) {
        if (r.degraded) next = std::min(next, r.next_rearm_ms);
      }
      for (const auto& [cookie, m] : moves_) next = std::min(next, m.at_ms + kMovePairMs);
      timeout = std::clamp<int64_t>(next - now, 0, 60'000);
    }
    const bool paused = paused_;
    if (paused) timeout = std::min<int64_t>(timeout, 50);
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {fd_, POLLIN, 0}};
    const int n = ::poll(fds, paused ? 1 : 2, static_cast<int>(timeout));
    if (n < 0 && errno != EINTR) {
      spdlog::error("watch: poll failed: {}", std::strerror(errno));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (fds[0].revents & POLLIN) {
      uint64_t v;
      (void)!::read(wake_fd_, &v, sizeof v);
    }
    if (stop_) break;
    {
      std::lock_guard lock(mu_);
      const int64_t now = NowMs();
      if (!paused && (fds[1].revents & POLLIN)) ReadEvents(now);
      ResolveMoves(now, false);
      Timers(now);
    }
    cv_.notify_all();
  }
}

void TreeWatcher::ReadEvents(int64_t now) {
  alignas(struct inotify_event) char buf[64 * 1024];
  for (;;) {
    const ssize_t len = ::read(fd_, buf, sizeof buf);
    if (len < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) spdlog::error("watch: reading events failed: {}", std::strerror(errno));
      return;
    }
    if (len == 0) return;
    for (char* p = buf; p < buf + len;) {
      const auto* ev = reinterpret_cast<const struct inotify_event*>(p);
      ++stats_.events;
      HandleEvent(ev->wd, ev->mask, ev->cookie, ev->len > 0 ? std::string(ev->name) : std::string(), now);
      p += sizeof(struct inotify_event) + ev->len;
    }
  }
}

void TreeWatcher::HandleEvent(int wd, uint32_t mask, uint32_t cookie, const std::string& name, int64_t now) {
  if (mask & IN_Q_OVERFLOW) {
    ++stats_.overflows;
    spdlog::warn("watch: events were lost (the kernel's event queue overflowed, fs.inotify.max_queued_events = {}); "
                 "reconciling every folder with a full scan",
                 SysctlValue("/proc/sys/fs/inotify/max_queued_events"));
    moves_.clear();
    for (size_t i = 0; i < roots_.size(); ++i) {
      if (roots_[i].armed) ArmTree(i, "", now);  // folders created meanwhile have no watch yet
      coalescer_.Reconcile(i, "events were lost (event queue overflow)");
    }
    return;
  }
  auto it = paths_of_wd_.find(wd);
  if (it == paths_of_wd_.end()) return;  // a watch we already dropped
  if (mask & IN_IGNORED) {
    ForgetWd(wd);
    return;
  }
  const auto targets = it->second;  // handling may change the maps
  if (mask & IN_UNMOUNT) {
    for (const auto& [root, prefix] : targets) {
      const std::string why = prefix.empty() ? "the folder's file system was unmounted"
                                             : "a file system inside the folder was unmounted";
      if (prefix.empty()) Disarm(root, why);
      coalescer_.Reconcile(root, why);
    }
    return;
  }
  if (mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
    // A subfolder's own removal is reported by its parent; only the top folder matters here.
    for (const auto& [root, prefix] : targets) {
      if (!prefix.empty()) continue;
      const std::string why = (mask & IN_DELETE_SELF) ? "the folder was deleted" : "the folder was moved away";
      Disarm(root, why);
      coalescer_.Reconcile(root, why);
    }
    return;
  }
  if (name.empty()) return;
  for (const auto& [root, prefix] : targets) HandleEntry(root, prefix + name, mask, cookie, now);
}

void TreeWatcher::HandleEntry(size_t root, const std::string& rel, uint32_t mask, uint32_t cookie, int64_t now) {
  Root& r = roots_[root];
  // Hidden names are never indexed nor entered (like the scanner); editors' temporary and swap
  // files are hidden, so an atomic save shows up as its final IN_MOVED_TO only.
  if (BaseName(rel)[0] == '.') return;
  bool dir = (mask & IN_ISDIR) != 0;
  if (!dir && (mask & (IN_CREATE | IN_MOVED_TO))) {
    // A link to a folder is followed, as the scanner follows it.
    struct stat lst {}, st {};
    const std::string full = r.spec.root + "/" + rel;
    if (::lstat(full.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode) && ::stat(full.c_str(), &st) == 0 &&
        S_ISDIR(st.st_mode)) {
      dir = true;
    }
  }
  if (!dir && (mask & (IN_DELETE | IN_MOVED_FROM)) && r.wd_of.count(rel + "/")) dir = true;  // such a link went

  if (dir) {
    if (Excluded(r, rel) || Excluded(r, rel + "/")) return;
    if (mask & IN_CREATE) {
      ArmTree(root, rel, now);
      coalescer_.Add(root, rel, ChangeKind::kTouched, now);  // its files may still be arriving
    } else if (mask & IN_MOVED_TO) {
      auto m = moves_.find(cookie);
      if (m != moves_.end() && m->second.dir && m->second.root == root) {
        MovePrefix(root, m->second.rel, rel);
        coalescer_.AddMove(root, m->second.rel, rel, now);
        moves_.erase(m);
      } else {
        if (m != moves_.end()) {
          // From another watched folder: gone there, new here.
          Unwatch(m->second.root, m->second.rel);
          coalescer_.Add(m->second.root, m->second.rel, ChangeKind::kRemoved, now);
          moves_.erase(m);
        }
        ArmTree(root, rel, now);
        coalescer_.Add(root, rel, ChangeKind::kWritten, now);
      }
    } else if (mask & IN_DELETE) {
      Unwatch(root, rel);
      coalescer_.Add(root, rel, ChangeKind::kRemoved, now);
    } else if (mask & IN_MOVED_FROM) {
      moves_[cookie] = PendingMove{root, rel, true, true, now};
    }
    return;
  }

  const bool relevant = Included(r, rel);
  if (mask & IN_MOVED_FROM) {
    moves_[cookie] = PendingMove{root, rel, false, relevant, now};
    return;
  }
  if (mask & IN_MOVED_TO) {
    auto m = moves_.find(cookie);
    if (m != moves_.end()) {
      const PendingMove from = m->second;
      moves_.erase(m);
      if (from.relevant && relevant && from.root == root && !from.dir) {
        coalescer_.AddMove(root, from.rel, rel, now);  // a rename: both sides together
        return;
      }
      // e.g. vim's "note.md" -> "note.md~" backup: the note is (for now) gone; a temporary
      // file saved over the note: only the note counts.
      if (from.relevant) coalescer_.Add(from.root, from.rel, ChangeKind::kRemoved, now);
    }
    if (relevant) coalescer_.Add(root, rel, ChangeKind::kWritten, now);
    return;
  }
  if (!relevant) return;
  if (mask & IN_CLOSE_WRITE) {
    coalescer_.Add(root, rel, ChangeKind::kWritten, now);
  } else if (mask & IN_DELETE) {
    coalescer_.Add(root, rel, ChangeKind::kRemoved, now);
  } else if (mask & (IN_CREATE | IN_MODIFY | IN_ATTRIB)) {
    coalescer_.Add(root, rel, ChangeKind::kTouched, now);
  }
}

void TreeWatcher::ResolveMoves(int64_t now, bool all) {
  for (auto it = moves_.begin(); it != moves_.end();) {
    const PendingMove& m = it->second;
    if (!all && now < m.at_ms + kMovePairMs) {
      ++it;
      continue;
    }
    // No IN_MOVED_TO: moved out of every watched tree.
    if (m.dir) Unwatch(m.root, m.rel);
    if (m.relevant) coalescer_.Add(m.root, m.rel, ChangeKind::kRemoved, now);
    it = moves_.erase(it);
  }
}

void TreeWatcher::Timers(int64_t now) {
  if (now >= next_root_check_ms_) {
    next_root_check_ms_ = now + options_.root_check_ms;
    for (size_t i = 0; i < roots_.size(); ++i) {
      Root& r = roots_[i];
      struct stat st {};
      const bool there = ::stat(r.spec.root.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
      if (!r.armed) {
        if (!there) continue;
        if (ArmRoot(i, now)) spdlog::info("watch: {} is back; reconciling", r.spec.root);
        coalescer_.Reconcile(i, "the folder is back");
      } else if (!there) {
        Disarm(i, "the folder is missing");
        coalescer_.Reconcile(i, "the folder is missing");
      } else if (st.st_dev != r.dev || st.st_ino != r.ino) {
        // Replaced, or something was mounted over it: the old watches see nothing of it.
        Unwatch(i, "");
        ArmRoot(i, now);
        spdlog::info("watch: {} was replaced or remounted; reconciling", r.spec.root);
        coalescer_.Reconcile(i, "the folder was replaced or remounted");
      }
    }
  }
  if (options_.reconcile_interval_ms > 0 && now >= next_reconcile_ms_) {
    next_reconcile_ms_ = now + options_.reconcile_interval_ms;
    for (size_t i = 0; i < roots_.size(); ++i) coalescer_.Reconcile(i, "periodic");
  }
  for (size_t i = 0; i < roots_.size(); ++i) {
    Root& r = roots_[i];
    if (!r.degraded || !r.armed || now < r.next_rearm_ms) continue;
    r.next_rearm_ms = now + options_.degraded_reconcile_ms;
    if (ArmTree(i, "", now)) {
      r.degraded = false;
      r.error.clear();
      spdlog::info("watch: every folder of {} is watched again", r.spec.root);
    }
    coalescer_.Reconcile(i, "not every folder could be watched (watch limit)");
  }
}

// ---------------------------------------------------------------- watches

bool TreeWatcher::ArmRoot(size_t i, int64_t now) {
  Root& r = roots_[i];
  struct stat st {};
  if (::stat(r.spec.root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    r.armed = false;
    r.error = "the folder is missing (deleted or unmounted?); nothing is removed from the index while "
              "it is gone, and it is looked for again every " +
              std::to_string(std::max<int64_t>(1, options_.root_check_ms / 1000)) + " s";
    return false;
  }
  r.dev = st.st_dev;
  r.ino = st.st_ino;
  if (!r.degraded) r.error.clear();
  ArmTree(i, "", now);
  r.armed = r.wd_of.count("") > 0;
  if (!r.armed && r.error.empty()) r.error = "the folder cannot be watched";
  return r.armed;
}

bool TreeWatcher::ArmTree(size_t i, const std::string& rel, int64_t now) {
  Root& r = roots_[i];
  std::set<std::pair<dev_t, ino_t>> ancestors;
  // The folders above `rel` (a link back to one of them is a loop, as in the scanner).
  std::string path = r.spec.root;
  struct stat st {};
  if (!rel.empty()) {
    if (::stat(path.c_str(), &st) == 0) ancestors.emplace(st.st_dev, st.st_ino);
    size_t from = 0;
    for (size_t slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', from)) {
      path += "/" + rel.substr(from, slash - from);
      if (::stat(path.c_str(), &st) == 0) ancestors.emplace(st.st_dev, st.st_ino);
      from = slash + 1;
    }
  }
  std::set<std::pair<dev_t, ino_t>> visited;
  const bool complete = ArmDir(i, rel.empty() ? "" : rel + "/", rel.empty() ? r.spec.root : r.spec.root + "/" + rel,
                               ancestors, visited);
  if (!complete && !r.degraded) {
    r.degraded = true;
    r.next_rearm_ms = now + options_.degraded_reconcile_ms;
    const std::string limit = options_.max_watches > 0 ? std::to_string(options_.max_watches)
                                                       : SysctlValue("/proc/sys/fs/inotify/max_user_watches");
    r.error = "the watch limit (fs.inotify.max_user_watches = " + limit +
              ") is reached: some folders are not watched, so the folder is reconciled every " +
              std::to_string(options_.degraded_reconcile_ms / 1000) + " s; raise the limit to follow it live";
    spdlog::warn("watch: {}: {}", r.spec.root, r.error);
    coalescer_.Reconcile(i, "watch limit reached");
  }
  return complete;
}

bool TreeWatcher::ArmDir(size_t i, const std::string& prefix, const std::string& full, DirKeys& ancestors,
                         DirKeys& visited) {
  Root& r = roots_[i];
  const bool known = r.wd_of.count(prefix) > 0;
  if (!known && options_.max_watches > 0 && TotalWatches() >= options_.max_watches) return false;
  const int wd = ::inotify_add_watch(fd_, full.c_str(), kDirMask);
  if (wd < 0) {
    // ENOSPC: the watch limit. Anything else (gone meanwhile, unreadable): nothing to watch;
    // the scanner reports what it cannot read.
    return errno != ENOSPC;
  }
  r.wd_of[prefix] = wd;
  auto& paths = paths_of_wd_[wd];
  if (std::find(paths.begin(), paths.end(), std::make_pair(i, prefix)) == paths.end()) paths.emplace_back(i, prefix);

  struct stat self {};
  if (::stat(full.c_str(), &self) != 0) return true;
  const std::pair<dev_t, ino_t> key{self.st_dev, self.st_ino};
  visited.insert(key);
  ancestors.insert(key);
  std::vector<std::string> names;
  if (DIR* d = ::opendir(full.c_str())) {
    while (dirent* ent = ::readdir(d)) {
      if (ent->d_name[0] == '.') continue;  // hidden folders are never entered
      if (ent->d_type != DT_DIR && ent->d_type != DT_LNK && ent->d_type != DT_UNKNOWN) continue;
      names.emplace_back(ent->d_name);
    }
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());  // the scanner's order, for folders reached twice
  bool complete = true;
  for (const std::string& name : names) {
    const std::string child = full + "/" + name;
    const std::string rel = prefix + name;
    struct stat st {};
    if (::stat(child.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;  // follows links, like the scanner
    if (Excluded(r, rel) || Excluded(r, rel + "/")) continue;
    const std::pair<dev_t, ino_t> ck{st.st_dev, st.st_ino};
    if (ancestors.count(ck) || visited.count(ck)) continue;  // a loop, or a folder reached twice
    if (!ArmDir(i, rel + "/", child, ancestors, visited)) complete = false;
  }
  ancestors.erase(key);
  return complete;
}

void TreeWatcher::Unwatch(size_t i, const std::string& rel) {
  Root& r = roots_[i];
  const std::string p = rel.empty() ? "" : rel + "/";
  for (auto it = r.wd_of.lower_bound(p); it != r.wd_of.end() && it->first.starts_with(p);) {
    const int wd = it->second;
    auto& paths = paths_of_wd_[wd];
    std::erase(paths, std::make_pair(i, it->first));
    if (paths.empty()) {
      ::inotify_rm_watch(fd_, wd);
      paths_of_wd_.erase(wd);
    }
    it = r.wd_of.erase(it);
  }
}

void TreeWatcher::MovePrefix(size_t i, const std::string& from, const std::string& to) {
  Root& r = roots_[i];
  const std::string fp = from + "/", tp = to + "/";
  std::vector<std::pair<std::string, int>> moved;
  for (auto it = r.wd_of.lower_bound(fp); it != r.wd_of.end() && it->first.starts_with(fp);) {
    moved.emplace_back(tp + it->first.substr(fp.size()), it->second);
    for (auto& entry : paths_of_wd_[it->second]) {
      if (entry.first == i && entry.second == it->first) entry.second = moved.back().first;
    }
    it = r.wd_of.erase(it);
  }
  for (auto& [prefix, wd] : moved) r.wd_of[prefix] = wd;
}

void TreeWatcher::ForgetWd(int wd) {
  auto it = paths_of_wd_.find(wd);
  if (it == paths_of_wd_.end()) return;
  const auto paths = std::move(it->second);
  paths_of_wd_.erase(it);
  for (const auto& [i, prefix] : paths) {
    Root& r = roots_[i];
    auto w = r.wd_of.find(prefix);
    if (w != r.wd_of.end() && w->second == wd) r.wd_of.erase(w);
    if (prefix.empty() && r.armed) {
      Disarm(i, "the folder's watch was removed");
      coalescer_.Reconcile(i, "the folder's watch was removed");
    }
  }
}

void TreeWatcher::Disarm(size_t i, const std::string& why) {
  Root& r = roots_[i];
  Unwatch(i, "");
  if (r.armed) spdlog::warn("watch: {}: {}; nothing is removed from the index while it is gone", r.spec.root, why);
  r.armed = false;
  r.degraded = false;
  r.error = why + "; nothing is removed from the index while it is gone, and it is looked for again every " +
            std::to_string(std::max<int64_t>(1, options_.root_check_ms / 1000)) + " s";
}

bool TreeWatcher::Included(const Root& r, const std::string& rel) const {
  bool inc = false;
  for (const auto& p : r.spec.include) {
    if (MatchesGlob(p, rel)) {
      inc = true;
      break;
    }
  }
  return inc && !Excluded(r, rel);
}

bool TreeWatcher::Excluded(const Root& r, const std::string& rel) const {
  for (const auto& p : r.spec.exclude) {
    if (MatchesGlob(p, rel)) return true;
  }
  return false;
}

int64_t TreeWatcher::TotalWatches() const { return static_cast<int64_t>(paths_of_wd_.size()); }

}  // namespace kb::watch
