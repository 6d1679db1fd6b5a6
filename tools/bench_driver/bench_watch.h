// `tools/bench --watch`: save → keyword-searchable and → synced latency of a warm `kbindex
// watch`, its idle CPU, and its memory with many watched files.
#pragma once

#include <string>

namespace kb::bench {

struct WatchBenchArgs {
  std::string kbindex;
  std::string work;
  int notes = 20000;
  int saves = 100;
  int idle_seconds = 20;
};

// Prints a Markdown report on stdout; 0 on success.
int RunWatchBench(const WatchBenchArgs& args);

}  // namespace kb::bench
