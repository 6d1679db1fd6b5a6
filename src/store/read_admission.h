// How many reads run at once. Private to src/store/.
#pragma once

#include <condition_variable>
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
class ReadAdmission {
 public:
  static constexpr int kHoldMs = 10;

  explicit ReadAdmission(int slots) : free_(slots < 1 ? 1 : slots) {}
  ReadAdmission(const ReadAdmission&) = delete;
  ReadAdmission& operator=(const ReadAdmission&) = delete;

  void Enter() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return free_ > 0; });
    --free_;
  }
  void Leave() {
    {
      std::lock_guard lock(mu_);
      ++free_;
    }
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int free_;
};

}  // namespace kb
