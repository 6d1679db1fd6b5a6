// How many reads run at once. Private to src/store/.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

namespace kb {

// Lets `slots` reads run at once (DocumentStore: one per core); the others wait their turn.
// Eight searches sharing two cores each take four times as long, and each of eight reader
// connections goes cold after every write (a WAL reader drops its page cache and its memory
// map when the database changed); in line, reads run at full speed on the two or three
// connections the LIFO pool keeps warm. Measured at 100,000 notes under the 8-client API load
// (tools/bench --api): keyword p95 27-34 -> 16-21 ms, hybrid 47-58 -> 39-49 ms, 5-15% more
// searches answered.
//
// A turn lapses `hold` after it was given, wherever the read then is (in SQLite's VM, inside
// FTS5 evaluating a proximity query over a huge note, or in C++ between statements): a slow
// search never holds up the short ones behind it for longer. The read goes on; its slot goes
// to the next in line. Turns are given in arrival order: with a plain condition variable a read
// that had just arrived could take a turn handed back while older ones kept waiting (keyword
// p99 25-29 -> 23-26 ms, p95 about 1 ms lower, over alternating runs).
class ReadAdmission {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kHold{10};

  explicit ReadAdmission(int slots, std::chrono::milliseconds hold = kHold)
      : slots_(slots < 1 ? 1 : slots), hold_(hold) {}
  ReadAdmission(const ReadAdmission&) = delete;
  ReadAdmission& operator=(const ReadAdmission&) = delete;

  // Waits for a turn; returns its id for Leave.
  uint64_t Enter() {
    std::unique_lock lock(mu_);
    const uint64_t ticket = next_ticket_++;
    for (;;) {
      if (ticket == serving_) {
        LapseExpired(Clock::now());
        if (static_cast<int>(held_.size()) < slots_) break;
        cv_.wait_until(lock, EarliestLapse());
      } else {
        cv_.wait(lock);
      }
    }
    ++serving_;
    held_.push_back({ticket, Clock::now() + hold_});
    lock.unlock();
    cv_.notify_all();  // the next in line may find a free slot too
    return ticket;
  }
  // Hands turn `id` back (nothing to do when it has lapsed already).
  void Leave(uint64_t id) {
    {
      std::lock_guard lock(mu_);
      auto it = std::find_if(held_.begin(), held_.end(), [&](const Held& h) { return h.id == id; });
      if (it == held_.end()) return;
      held_.erase(it);
    }
    cv_.notify_all();
  }
  // Reads waiting for a turn (for tests).
  int Waiting() {
    std::lock_guard lock(mu_);
    return static_cast<int>(next_ticket_ - serving_);
  }

 private:
  struct Held {
    uint64_t id;
    Clock::time_point lapses_at;
  };
  void LapseExpired(Clock::time_point now) {
    std::erase_if(held_, [&](const Held& h) { return h.lapses_at <= now; });
  }
  Clock::time_point EarliestLapse() const {
    Clock::time_point t = Clock::time_point::max();
    for (const Held& h : held_) t = std::min(t, h.lapses_at);
    return t;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  const int slots_;
  const std::chrono::milliseconds hold_;
  std::vector<Held> held_;    // the turns given and not yet handed back or lapsed
  uint64_t next_ticket_ = 0;  // the ticket the next arrival takes
  uint64_t serving_ = 0;      // the ticket whose turn comes next
};

}  // namespace kb
