// Crash points for fault-injection tests: KBINDEX_CRASH_AT="<point>:<n>" makes the process
// kill itself with SIGKILL (no cleanup, like a power cut for the process) the n-th time it
// reaches <point>. Points: scan-commit (after a scanner batch is committed), before-send
// (documents claimed, nothing sent), before-mark (Chroma replied, outcome not yet recorded),
// after-mark (outcome recorded), source-commit (a page of a database source's rows committed),
// source-progress (a database source's watermark or outbox cursor recorded). Unset: no effect. Only the tests set it.
#pragma once

#include <string>

namespace kb {

class CrashPoints {
 public:
  // Reads KBINDEX_CRASH_AT once.
  static CrashPoints& Get();
  // Counts a visit to `point`; kills the process when it is the chosen visit.
  void Reach(const char* point);

 private:
  CrashPoints();
  std::string point_;
  long target_ = 0;
  long seen_ = 0;
};

}  // namespace kb
