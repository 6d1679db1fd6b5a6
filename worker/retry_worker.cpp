#include "worker/retry_worker.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace kb {

RetryWorker::RetryWorker(DocumentStore& store, SyncEngine& engine, VectorStore& vectors,
                         WorkerOptions options)
    : store_(store), engine_(engine), vectors_(vectors), options_(options) {}

RetryWorker::~RetryWorker() { Stop(); }

SyncReport RetryWorker::RunOnce() {
  SyncReport report;
  if (Status hb = vectors_.Heartbeat(); !hb.ok()) {
    // Chroma is down: record the pass, leave every document (and its attempts) alone.
    report.unreachable = true;
    report.error = Status::Unavailable("Chroma unreachable: " + hb.message());
    if (auto id = store_.BeginSyncRun("worker"); id.ok()) {
      report.run_id = *id;
      SyncRun run;
      run.id = *id;
      run.kind = "worker";
      run.started_at = store_.clock()->NowMs();
      run.error = report.error.message();
      (void)store_.FinishSyncRun(run);
    }
  } else {
    PassOptions pass;
    pass.kind = "worker";
    pass.include_failed = true;
    pass.respect_backoff = true;
    pass.batch_docs = options_.batch;
    pass.stop = &stop_;
    report = engine_.Run(pass);
  }
  if (options_.after_pass && !stop_) options_.after_pass(report);
  std::lock_guard lock(mu_);
  ++status_.passes;
  status_.last_pass_at = store_.clock()->NowMs();
  status_.last_report = report;
  const bool error = report.unreachable || (report.attempted == 0 && !report.error.ok());
  if (error) {
    ++status_.consecutive_errors;
    status_.last_error = report.error.message();
  } else {
    if (status_.consecutive_errors > 0) {
      spdlog::info("worker recovered after {} failed passes", status_.consecutive_errors);
    }
    status_.consecutive_errors = 0;
    status_.last_error.clear();
  }
  return report;
}

void RetryWorker::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  status_.running = true;
  // spdlog's registry is built on first use; build it here, before the thread exists, so the
  // thread's first log line does not race its construction.
  (void)spdlog::default_logger_raw();
  thread_ = std::thread([this] { Loop(); });
}

void RetryWorker::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  status_.running = false;
}

void RetryWorker::Trigger() {
  {
    std::lock_guard lock(mu_);
    triggered_ = true;
  }
  cv_.notify_all();
}

WorkerStatus RetryWorker::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

void RetryWorker::Loop() {
  int64_t error_backoff = options_.error_backoff_min_ms;
  while (!stop_) {
    SyncReport r = RunOnce();
    if (r.unreachable) {
      spdlog::warn("worker: {}; next try in {} s", r.error.message(), error_backoff / 1000);
    } else if (r.attempted > 0) {
      spdlog::info("worker pass: {} synced, {} failed, {} deleted in {} batches", r.synced, r.failed,
                   r.deleted, r.batches);
    }
    int64_t wait = options_.interval_ms;
    {
      std::lock_guard lock(mu_);
      if (status_.consecutive_errors > 0) {
        wait = std::min(error_backoff, options_.interval_ms);
        error_backoff = std::min(error_backoff * 2, options_.interval_ms);
      } else {
        error_backoff = options_.error_backoff_min_ms;
      }
      status_.next_pass_at = store_.clock()->NowMs() + wait;
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(wait), [&] { return stop_ || triggered_; });
    if (triggered_ && options_.trigger_settle_ms > 0) {
      cv_.wait_for(lock, std::chrono::milliseconds(options_.trigger_settle_ms), [&] { return stop_.load(); });
    }
    triggered_ = false;
  }
}

}  // namespace kb
