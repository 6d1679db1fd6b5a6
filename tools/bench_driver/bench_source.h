// `tools/bench --source postgres`: a PostgreSQL table of N notes (100,000 by default) indexed
// full and incrementally (1% changed), next to the same notes as a folder.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "bench_api.h"

namespace kb::bench {

struct SourceBenchArgs {
  std::string kbindex;
  std::string work;
  int rows = 100000;
  bool folder = true;  // also the same notes as a folder, for comparison
};

// Runs argv, measured; `out` receives its stdout when not null.
using RunFn = std::function<Measured(const std::vector<std::string>& argv, std::string* out)>;

// Prints a Markdown report on stdout; 0 on success.
int RunSourceBench(const SourceBenchArgs& args, const RunFn& run);

}  // namespace kb::bench
