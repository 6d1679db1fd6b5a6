#include "worker/signals.h"

#include <pthread.h>
#include <unistd.h>

namespace kb {

SignalWatcher::SignalWatcher(std::function<void(int)> on_first_signal) {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGUSR2);  // internal: wakes the watcher for shutdown
  pthread_sigmask(SIG_BLOCK, &set_, &old_);
  thread_ = std::thread([this, cb = std::move(on_first_signal)] {
    bool first = true;
    for (;;) {
      int sig = 0;
      if (sigwait(&set_, &sig) != 0) continue;
      if (sig == SIGUSR2 && done_) return;
      if (sig == SIGUSR2) continue;
      if (!first) ::_exit(130);
      first = false;
      cb(sig);
    }
  });
}

SignalWatcher::~SignalWatcher() {
  done_ = true;
  pthread_kill(thread_.native_handle(), SIGUSR2);
  thread_.join();
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

}  // namespace kb
