#include "app/source_poller.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "app/services.h"
#include "app/source_config.h"
#include "app/sources.h"

namespace kb::app {
namespace {

constexpr int64_t kErrorBackoffMinMs = 5'000;

}  // namespace

SourcePoller::SourcePoller(Services& services) : s_(services) {}

SourcePoller::~SourcePoller() { Stop(); }

void SourcePoller::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void SourcePoller::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SourcePoller::Trigger() {
  {
    std::lock_guard lock(mu_);
    triggered_ = true;
  }
  cv_.notify_all();
}

void SourcePoller::Poll(const std::string& name, int64_t now_ms) {
  const kbindex::DatabaseSource* cfg = nullptr;
  for (const auto& c : s_.config().sources) {
    if (c.name == name) cfg = &c;
  }
  if (!cfg) return;
  Due& due = due_[name];
  const int64_t interval_ms = 1000LL * PollIntervalSeconds(*cfg);
  kbindex::SourceIndexRequest req;
  req.source = name;
  req.sync = false;  // the retry worker syncs (nudged below)
  req.cancel = &stop_;
  if (cfg->full_interval_s > 0 && DefaultMode(*cfg) != "full") {
    auto progress = s_.store().GetSourceProgress(name);
    if (progress.ok() && progress->last_full_at && now_ms - *progress->last_full_at >= 1000LL * cfg->full_interval_s) {
      req.mode = "full";
    }
  }
  auto report = IndexSource(s_, req);
  Status st = report.ok() ? report->status : report.status();
  if (st.ok()) {
    if (due.failing) spdlog::info("source {}: recovered", name);
    const kbindex::SourceReport& r = *report;
    const int64_t written = r.added + r.changed + r.restored + r.removed;
    if (written > 0 || !r.skipped.empty()) {
      spdlog::info("source {} ({}): {} rows, {} new, {} changed, {} restored, {} removed, {} skipped", name, r.mode,
                   r.rows, r.added, r.changed, r.restored, r.removed, r.skipped.size());
    }
    due = Due{now_ms + interval_ms, 0, false};
    return;
  }
  if (stop_) return;
  if (st.code() == Status::Code::kConflict) {
    // Another process is reading it right now: not a failure, just try at the next interval.
    spdlog::debug("source {}: {}", name, st.message());
    due.next_ms = now_ms + interval_ms;
    return;
  }
  due.backoff_ms = due.backoff_ms == 0 ? kErrorBackoffMinMs : std::min(due.backoff_ms * 2, interval_ms);
  due.backoff_ms = std::min(due.backoff_ms, interval_ms);
  due.next_ms = now_ms + due.backoff_ms;
  const char* what = st.IsUnreachable() ? "unreachable" : "failed";
  // The message never holds credentials (the sources layer builds it without them).
  spdlog::warn("source {} {}: {}; everything indexed from it stays as it was; next try in {} s", name, what,
               st.message(), due.backoff_ms / 1000);
  due.failing = true;
}

void SourcePoller::Loop() {
  while (!stop_) {
    const int64_t now = s_.clock()->NowMs();
    int64_t next = now + 3'600'000;
    for (const auto& cfg : s_.config().sources) {
      if (stop_) break;
      Due& due = due_[cfg.name];
      if (due.next_ms <= now) Poll(cfg.name, s_.clock()->NowMs());
      next = std::min(next, due_[cfg.name].next_ms);
    }
    ++rounds_;
    std::unique_lock lock(mu_);
    const int64_t wait = std::max<int64_t>(next - s_.clock()->NowMs(), 50);
    cv_.wait_for(lock, std::chrono::milliseconds(wait), [&] { return stop_.load() || triggered_; });
    if (triggered_) {
      for (auto& [name, due] : due_) due.next_ms = 0;
      triggered_ = false;
    }
  }
}

}  // namespace kb::app
