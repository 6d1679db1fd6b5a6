// SignalWatcher: turns SIGINT/SIGTERM into an ordinary callback on a dedicated thread (via
// sigwait), so long-running commands can stop cleanly: condition variables notified, the batch
// in hand finished, threads joined. A second signal exits at once (status 130).
//
// Construct it before starting any other thread: the signals are blocked in the constructing
// thread and every thread started after it.
#pragma once

#include <signal.h>

#include <atomic>
#include <functional>
#include <thread>

namespace kb {

class SignalWatcher {
 public:
  explicit SignalWatcher(std::function<void(int signal)> on_first_signal);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  sigset_t set_{};
  sigset_t old_{};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace kb
