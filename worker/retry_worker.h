// RetryWorker: the background loop that makes Chroma converge to SQLite. Every `interval`
// (default 5 minutes) it runs one pass: the due documents (pending, or failed with attempts
// below the maximum and their exponential backoff elapsed), oldest first, in batches of
// `batch` (default 50), through the SyncEngine, until none are due. Each pass is one
// sync_runs row.
//
// When Chroma does not answer its heartbeat the pass touches no document (so an outage does
// not use up anyone's attempts), is recorded with the error, and the next pass comes sooner:
// the wait doubles from `error_backoff_min` up to `interval` and resets on success ("recovered"
// is logged). Stop() lets the batch in hand finish, then joins; no detached threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "store/document_store.h"
#include "sync/sync_engine.h"
#include "vector/vector_store.h"

namespace kb {

struct WorkerOptions {
  int64_t interval_ms = 300'000;
  int batch = 50;
  int64_t error_backoff_min_ms = 5'000;
  // After a trigger (a note written), the pass waits this long so that notes written in a
  // burst go to Chroma in one request: each upsert request costs Chroma ~20 ms of CPU however
  // few records it carries (~1 ms per record beyond that).
  int64_t trigger_settle_ms = 250;
  // Called on the worker's thread after every pass (outside the worker's lock): the index
  // check (app/index_check.h) hangs here.
  std::function<void(const SyncReport&)> after_pass;
};

struct WorkerStatus {
  bool running = false;
  int64_t passes = 0;
  std::optional<int64_t> last_pass_at;
  std::optional<int64_t> next_pass_at;
  int consecutive_errors = 0;
  std::optional<SyncReport> last_report;
  std::string last_error;
};

class RetryWorker {
 public:
  RetryWorker(DocumentStore& store, SyncEngine& engine, VectorStore& vectors, WorkerOptions options);
  ~RetryWorker();
  RetryWorker(const RetryWorker&) = delete;
  RetryWorker& operator=(const RetryWorker&) = delete;

  // One pass now, on the calling thread. `unreachable` in the result tells whether Chroma was
  // down (then nothing was attempted).
  SyncReport RunOnce();
  // The loop on a background thread: a pass at once, then one per interval (or on Trigger()).
  void Start();
  // Finish the batch in hand, stop, join. Idempotent.
  void Stop();
  // Run a pass as soon as the current one (if any) ends.
  void Trigger();
  WorkerStatus status() const;

 private:
  void Loop();

  DocumentStore& store_;
  SyncEngine& engine_;
  VectorStore& vectors_;
  WorkerOptions options_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool triggered_ = false;
  WorkerStatus status_;
  std::thread thread_;
};

}  // namespace kb
