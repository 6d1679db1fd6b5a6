#include "worker/worker_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kb {

Result<std::unique_ptr<WorkerLock>> WorkerLock::Acquire(const std::string& db_path) {
  if (db_path == ":memory:") return std::unique_ptr<WorkerLock>(new WorkerLock(-1));
  const std::string path = db_path + ".worker.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Status::Conflict("another kbindex worker (kbindex worker or kbindex serve) is already "
                            "running on " + db_path + "; only one may run per database");
  }
  // Record who holds it, for humans.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) (void)!::write(fd, pid.data(), pid.size());
  return std::unique_ptr<WorkerLock>(new WorkerLock(fd));
}

WorkerLock::~WorkerLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace kb
