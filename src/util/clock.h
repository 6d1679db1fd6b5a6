// Wall-clock time as Unix milliseconds, behind an interface so that tests can move time
// (backoff, "oldest pending") without sleeping.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace kb {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t NowMs() const = 0;

  // The process-wide real clock.
  static Clock* Real();
};

// A clock that only moves when told to. Thread-safe.
class ManualClock : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
  int64_t NowMs() const override { return now_.load(); }
  void Advance(int64_t ms) { now_ += ms; }
  void Set(int64_t ms) { now_ = ms; }

 private:
  std::atomic<int64_t> now_;
};

// "2026-11-23T18:12:49.123Z" for a Unix-millisecond timestamp.
std::string FormatIsoTime(int64_t unix_ms);

// "3m 20s", "2h 5m", "4d 1h": a rough human duration.
std::string FormatDuration(int64_t ms);

}  // namespace kb
