#include "watch/watch_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kb::watch {

Result<std::unique_ptr<WatchLock>> WatchLock::Acquire(const std::string& db_path) {
  if (db_path == ":memory:") return std::unique_ptr<WatchLock>(new WatchLock(-1));
  const std::string path = db_path + ".watch.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {0};
    (void)!::pread(fd, pid, sizeof pid - 1, 0);
    ::close(fd);
    std::string holder(pid);
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    return Status::Conflict("folders of " + db_path + " are already being watched" +
                            (holder.empty() ? "" : " (by process " + holder + ")") +
                            "; one watcher per database (kbindex watch or kbindex serve --watch)");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, pid.data(), pid.size(), 0);
  return std::unique_ptr<WatchLock>(new WatchLock(fd));
}

WatchLock::~WatchLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace kb::watch
