// How many reads run at once. Private to src/store/.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace kb {

// Lets `slots` reads run at once (DocumentStore: one per core); the others wait their turn.
// Eight searches sharing two cores each take four times as long, and each of eight reader
// connections goes cold after every write (a WAL reader drops its page cache and its memory
// map when the database changed); in line, reads run at full speed on the two or three
// connections the LIFO pool keeps warm. Measured at 100,000 notes under the 8-client API load
// (tools/bench --api): keyword p95 27-34 -> 16-21 ms, hybrid 47-58 -> 39-49 ms, 5-15% more
// searches answered. A read still running after kHoldMs gives its turn up (the store's
// progress handler calls Leave), so a slow search never holds up the short ones behind it.
// Turns are given in arrival order: with a plain condition variable a read that had just
// arrived could take a turn handed back while older ones kept waiting (keyword p99 25-29 ->
// 23-26 ms, p95 about 1 ms lower, over alternating runs).
class ReadAdmission {
 public:
  static constexpr int kHoldMs = 10;

  explicit ReadAdmission(int slots) : free_(slots < 1 ? 1 : slots) {}
  ReadAdmission(const ReadAdmission&) = delete;
  ReadAdmission& operator=(const ReadAdmission&) = delete;

  // First come, first served: a turn handed back goes to the longest waiter, never to a read
  // that just arrived (a waiter passed over again and again is what a p95 is made of).
  void Enter() {
    std::unique_lock lock(mu_);
    const uint64_t ticket = next_ticket_++;
    if (free_ > 0 && ticket == serving_) {
      --free_;
      ++serving_;
      return;
    }
    cv_.wait(lock, [&] { return free_ > 0 && ticket == serving_; });
    --free_;
    ++serving_;
    if (free_ > 0 && next_ticket_ != serving_) {
      lock.unlock();
      cv_.notify_all();  // a second free turn: the next in line may go too
    }
  }
  void Leave() {
    {
      std::lock_guard lock(mu_);
      ++free_;
    }
    cv_.notify_all();
  }
  // Reads waiting for a turn (for tests).
  int Waiting() {
    std::lock_guard lock(mu_);
    return static_cast<int>(next_ticket_ - serving_);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int free_;
  uint64_t next_ticket_ = 0;  // the ticket the next arrival takes
  uint64_t serving_ = 0;      // the ticket whose turn comes next
};

}  // namespace kb
