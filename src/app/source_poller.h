// SourcePoller: the worker's half for database sources. Polls each configured source at its own
// interval (default 60 s for outbox and incremental sources, 600 s for full ones; a full read
// every full_interval_s when set) through the IndexSource use case, writing SQLite only, and
// nudges the retry worker, which syncs what was written. It lives here, above worker/, so that
// the worker stays unaware of sources: Services starts it with the worker and stops it first.
//
// A source that cannot be reached leaves everything indexed from it as it was; the failure is
// logged ("unreachable", then "recovered"), recorded for stats and health, and retried sooner
// (5 s, doubling up to the source's interval). Stop() finishes the page in hand, then joins.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace kb::app {

class Services;

class SourcePoller {
 public:
  explicit SourcePoller(Services& services);
  ~SourcePoller();  // Stop()
  SourcePoller(const SourcePoller&) = delete;
  SourcePoller& operator=(const SourcePoller&) = delete;

  // Polls every source at once, then each at its interval.
  void Start();
  void Stop();
  // Polls every source now (e.g. after a configuration change); for tests.
  void Trigger();
  // Completed polls (all sources), for tests.
  int64_t rounds() const { return rounds_.load(); }

 private:
  void Loop();
  void Poll(const std::string& name, int64_t now_ms);

  Services& s_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> rounds_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool triggered_ = false;
  struct Due {
    int64_t next_ms = 0;
    int64_t backoff_ms = 0;  // after a failure; 0 when the last poll worked
    bool failing = false;
  };
  std::map<std::string, Due> due_;  // by source name; touched by the loop thread only
  std::thread thread_;
};

}  // namespace kb::app
