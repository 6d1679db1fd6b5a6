#include "app/crash_points.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

namespace kb {

CrashPoints& CrashPoints::Get() {
  static CrashPoints points;
  return points;
}

CrashPoints::CrashPoints() {
  const char* env = std::getenv("KBINDEX_CRASH_AT");
  if (!env) return;
  const std::string spec = env;
  const auto colon = spec.rfind(':');
  point_ = spec.substr(0, colon);
  target_ = colon == std::string::npos ? 1 : std::atol(spec.c_str() + colon + 1);
}

void CrashPoints::Reach(const char* point) {
  if (point_.empty() || point_ != point) return;
  static std::mutex mu;
  std::lock_guard lock(mu);
  if (++seen_ == target_) ::kill(::getpid(), SIGKILL);
}

}  // namespace kb
