// WorkerLock: at most one retry worker per database. An advisory lock (flock) on
// "<db>.worker.lock", held for the worker's lifetime and released by the kernel if the process
// dies, so a crashed worker never blocks the next one.
#pragma once

#include <memory>
#include <string>

#include "util/status.h"

namespace kb {

class WorkerLock {
 public:
  // Conflict when another worker (a `kbindex worker` or `kbindex serve`) holds it.
  static Result<std::unique_ptr<WorkerLock>> Acquire(const std::string& db_path);
  ~WorkerLock();
  WorkerLock(const WorkerLock&) = delete;
  WorkerLock& operator=(const WorkerLock&) = delete;

 private:
  explicit WorkerLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace kb
