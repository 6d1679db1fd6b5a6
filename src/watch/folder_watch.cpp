#include "watch/folder_watch.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "app/watching.h"

namespace kb::watch {
namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The folder's canonical path, as the scanner keys its source; a folder that is missing now
// is accepted only when it was indexed before (it may be unmounted: it is waited for).
Result<std::string> ResolveRoot(app::Services& s, const std::string& folder) {
  if (char* real = ::realpath(folder.c_str(), nullptr)) {
    std::string root = real;
    std::free(real);
    return root;
  }
  std::string root = folder;
  if (root.empty() || root[0] != '/') {
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd)) root = std::string(cwd) + "/" + root;
  }
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  KB_ASSIGN_OR_RETURN(auto sources, s.store().ListSources());
  for (const SourceInfo& src : sources) {
    if (src.root == root) return root;
  }
  return Status::NotFound("folder does not exist: " + folder);
}

}  // namespace

Result<std::unique_ptr<FolderWatch>> FolderWatch::Start(app::Services& services, FolderWatchOptions options) {
  if (options.folders.empty()) options.folders = services.config().folders;
  if (options.folders.empty()) {
    return Status::InvalidArgument(
        "no folders to watch: name them (kbindex watch DIR...) or configure \"folders\" in the config file");
  }
  KB_ASSIGN_OR_RETURN(auto lock, WatchLock::Acquire(services.config().db_path));
  std::vector<std::string> roots;
  for (const std::string& f : options.folders) {
    KB_ASSIGN_OR_RETURN(std::string root, ResolveRoot(services, f));
    roots.push_back(std::move(root));
  }
  std::unique_ptr<FolderWatch> w(new FolderWatch(services, std::move(options), std::move(roots), std::move(lock)));
  std::vector<WatchRoot> specs;
  for (const std::string& root : w->roots_) {
    specs.push_back(WatchRoot{root, services.config().include, services.config().exclude});
  }
  w->tree_ = std::make_unique<TreeWatcher>(std::move(specs), w->options_.tree);
  KB_RETURN_IF_ERROR(w->tree_->Start());
  w->Publish(true);
  w->syncer_ = std::thread([p = w.get()] { p->SyncLoop(); });
  w->applier_ = std::thread([p = w.get()] { p->ApplyLoop(); });
  std::string list;
  for (const std::string& r : w->roots_) list += (list.empty() ? "" : ", ") + r;
  spdlog::info("watching {} (changes are indexed after {} ms of quiet)", list, w->options_.tree.coalesce.quiet_ms);
  return w;
}

FolderWatch::FolderWatch(app::Services& services, FolderWatchOptions options, std::vector<std::string> roots,
                         std::unique_ptr<WatchLock> lock)
    : s_(services), options_(std::move(options)), roots_(std::move(roots)), lock_(std::move(lock)) {
  state_.running = true;
  state_.pid = ::getpid();
  state_.started_ms = s_.clock()->NowMs();
  for (size_t i = 0; i < roots_.size(); ++i) {
    kbindex::WatchedFolder f;
    f.folder = options_.folders[i];
    f.root = roots_[i];
    state_.folders.push_back(std::move(f));
  }
  scan_errors_.resize(roots_.size());
}

FolderWatch::~FolderWatch() { Stop(); }

void FolderWatch::Stop() {
  {
    std::lock_guard lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  if (tree_) tree_->Stop();  // the applier's Next() returns; the batch in hand finishes
  if (applier_.joinable()) applier_.join();
  {
    std::lock_guard lock(sync_mu_);
    sync_stop_flag_ = true;
  }
  sync_stop_ = true;
  sync_cv_.notify_all();
  if (syncer_.joinable()) syncer_.join();
  {
    std::lock_guard lock(mu_);
    state_.running = false;
  }
  Publish(true);
  idle_cv_.notify_all();
  lock_.reset();
  spdlog::info("watching stopped");
}

kbindex::WatchState FolderWatch::state() const {
  kbindex::WatchState w;
  {
    std::lock_guard lock(mu_);
    w = state_;
  }
  if (!tree_) return w;
  const TreeWatcherStats t = tree_->stats();
  w.events = t.events;
  w.overflows = t.overflows;
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < w.folders.size() && i < t.roots.size(); ++i) {
    w.folders[i].watching = w.running && t.roots[i].armed;
    w.folders[i].directories = t.roots[i].directories;
    // What the scanner refused (safety valve) says more than the watches do.
    w.folders[i].error = !scan_errors_[i].empty() ? scan_errors_[i] : t.roots[i].error;
  }
  return w;
}

bool FolderWatch::WaitIdle(int64_t timeout_ms) {
  const int64_t deadline = SteadyMs() + timeout_ms;
  for (;;) {
    bool idle;
    {
      std::lock_guard lock(mu_);
      idle = !applying_ && tree_->pending() == 0;
    }
    if (idle) {
      std::lock_guard lock(sync_mu_);
      idle = !sync_due_ && !syncing_;
    }
    if (idle) {
      // Twice, a moment apart: a batch may be between Next() and Handle().
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      std::lock_guard lock(mu_);
      if (!applying_ && tree_->pending() == 0) {
        std::lock_guard sl(sync_mu_);
        if (!sync_due_ && !syncing_) return true;
      }
    }
    if (SteadyMs() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void FolderWatch::ApplyLoop() {
  for (;;) {
    auto batches = tree_->Next(options_.publish_interval_ms);
    if (!batches) break;  // stopped
    bool wrote = false;
    if (!batches->empty()) {
      {
        std::lock_guard lock(mu_);
        applying_ = true;
      }
      for (const ChangeBatch& b : *batches) wrote |= Handle(b);
      if (wrote) SyncSoon();
      {
        std::lock_guard lock(mu_);
        applying_ = false;
      }
      idle_cv_.notify_all();
    }
    Publish(false);
  }
}

bool FolderWatch::Handle(const ChangeBatch& b) {
  const std::string& root = roots_[b.root];
  const std::string& folder = options_.folders[b.root];
  kbindex::FolderReport r;
  if (!b.reconcile.empty()) {
    spdlog::info("watch: reconciling {} with a full scan ({})", folder, b.reconcile);
    r = app::ReconcileFolder(s_, root, options_.source_name);
    std::lock_guard lock(mu_);
    ++state_.reconciles;
    state_.last_reconcile_ms = s_.clock()->NowMs();
    state_.last_reconcile_reason = b.reconcile;
  } else {
    r = app::ApplyFolderChanges(s_, root, options_.source_name, b.paths);
    std::lock_guard lock(mu_);
    ++state_.batches;
    state_.applied += static_cast<int64_t>(b.paths.size());
    state_.last_change_ms = s_.clock()->NowMs();
  }
  const int64_t written = r.added + r.changed + r.restored + r.removed + r.renamed;
  {
    std::lock_guard lock(mu_);
    if (!r.source.empty()) state_.folders[b.root].source = r.source;
    if (r.status.ok()) {
      scan_errors_[b.root].clear();
    } else {
      scan_errors_[b.root] = r.status.message();
      state_.last_error = r.status.message();
    }
  }
  if (!r.status.ok()) {
    // The safety valve (an unmounted or emptied folder) or an error: nothing was removed.
    spdlog::warn("watch: {}", r.status.message());
  } else if (written > 0) {
    spdlog::info("watch: {}: {} added, {} changed, {} renamed, {} removed{}", r.source, r.added, r.changed + r.restored,
                 r.renamed, r.removed, r.skipped.empty() ? "" : ", " + std::to_string(r.skipped.size()) + " skipped");
  }
  return r.status.ok() ? written > 0 : false;
}

void FolderWatch::SyncSoon() {
  if (s_.WorkerState()) {
    s_.NudgeWorker();  // the retry worker of this process passes at once
    return;
  }
  {
    std::lock_guard lock(sync_mu_);
    sync_due_ = true;
  }
  sync_cv_.notify_all();
}

void FolderWatch::SyncLoop() {
  int64_t backoff_ms = 0;
  std::unique_lock lock(sync_mu_);
  for (;;) {
    sync_cv_.wait(lock, [&] { return sync_stop_flag_ || sync_due_; });
    if (sync_stop_flag_) return;
    sync_due_ = false;
    syncing_ = true;
    lock.unlock();
    bool retry = false;
    std::string why;
    auto engine = s_.Engine();
    VectorStore* probe = engine.ok() ? s_.Probe() : nullptr;
    if (!engine.ok()) {
      retry = true;
      why = engine.status().message();
    } else if (Status hb = probe ? probe->Heartbeat() : Status::Unavailable("Chroma is not reachable"); !hb.ok()) {
      // Down: leave the documents pending with their attempts untouched; try again later.
      retry = true;
      why = hb.message();
    } else {
      PassOptions pass;
      pass.kind = "watch";
      pass.stop = &sync_stop_;
      SyncReport report = (*engine)->Run(pass);
      if (report.failed > 0) {
        spdlog::warn("watch: {} documents failed to sync ({}); they are retried", report.failed,
                     report.error.message());
      }
      backoff_ms = 0;
    }
    lock.lock();
    syncing_ = false;
    if (retry) {
      backoff_ms = std::clamp<int64_t>(backoff_ms * 2, 5'000, 60'000);
      spdlog::warn("watch: not synced to Chroma yet ({}); the notes are in SQLite, pending; next try in {} s", why,
                   backoff_ms / 1000);
      sync_cv_.wait_for(lock, std::chrono::milliseconds(backoff_ms), [&] { return sync_stop_flag_; });
      if (sync_stop_flag_) return;
      sync_due_ = true;
    }
  }
}

void FolderWatch::Publish(bool force) {
  const int64_t now = SteadyMs();
  const kbindex::WatchState w = state();
  // Written when something changed (an idle watcher writes nothing), at most once per interval.
  std::string digest = std::to_string(w.events) + "/" + std::to_string(w.batches) + "/" +
                       std::to_string(w.reconciles) + "/" + std::to_string(w.running) + "/" + w.last_error;
  for (const auto& f : w.folders) digest += "/" + std::to_string(f.watching) + f.error + std::to_string(f.directories);
  {
    std::lock_guard lock(mu_);
    if (!force && (digest == published_digest_ || now - last_publish_ms_ < options_.publish_interval_ms)) return;
    last_publish_ms_ = now;
    published_digest_ = std::move(digest);
  }
  if (Status st = app::PublishWatchState(s_, w); !st.ok()) {
    spdlog::debug("watch: could not record the watch state: {}", st.message());
  }
}

}  // namespace kb::watch
