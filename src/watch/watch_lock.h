// WatchLock: at most one folder watcher per database (two would apply every change twice).
// An advisory lock (flock) on "<db>.watch.lock", held while watching and released by the
// kernel if the process dies.
#pragma once

#include <memory>
#include <string>

#include "util/status.h"

namespace kb::watch {

class WatchLock {
 public:
  // Conflict when another process (or Database) is watching folders of this database.
  static Result<std::unique_ptr<WatchLock>> Acquire(const std::string& db_path);
  ~WatchLock();
  WatchLock(const WatchLock&) = delete;
  WatchLock& operator=(const WatchLock&) = delete;

 private:
  explicit WatchLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace kb::watch
