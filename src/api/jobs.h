// JobManager: long operations requested over the API (sync, reindex, index) run one at a time,
// in order, on one background thread; clients poll GET /v1/jobs/{id} for progress and result.
// Asking again for work that is already queued (same key) returns the queued job instead of
// queueing it twice: twenty POST /v1/reindex make one reindex, not twenty.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <atomic>

#include "util/clock.h"
#include "util/status.h"

namespace kb::api {

struct JobInfo {
  std::string id;
  std::string kind;
  std::string state;  // queued | running | succeeded | failed
  int64_t created_at = 0;
  std::optional<int64_t> started_at;
  std::optional<int64_t> finished_at;
  nlohmann::json progress = nlohmann::json::object();
  nlohmann::json result;
  std::string error;
  nlohmann::json ToJson() const;
};

class JobManager {
 public:
  // A job reports progress through the callback and returns its result or an error.
  using Progress = std::function<void(const nlohmann::json&)>;
  using Fn = std::function<Result<nlohmann::json>(const Progress&)>;

  explicit JobManager(Clock* clock);
  ~JobManager();  // Stop()
  // Queues `fn` and returns its job id; when a job with the same `key` is still queued (not yet
  // running), returns that job's id and drops `fn`.
  std::string Submit(const std::string& kind, const std::string& key, Fn fn);
  std::optional<JobInfo> Get(const std::string& id) const;
  // Lets the running job finish (jobs watch `stopping()`), drops queued ones, joins.
  void Stop();
  const std::atomic<bool>& stopping() const { return stop_; }

 private:
  void Loop();

  Clock* clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  struct Queued {
    std::string id;
    std::string key;
    Fn fn;
  };
  std::deque<Queued> queue_;
  std::map<std::string, JobInfo> jobs_;  // the most recent 200
  uint64_t next_id_ = 1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace kb::api
