// `tools/bench --api`: search latency through the API under load, and index memory by size.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace kb::bench {

struct ApiBenchArgs {
  std::string kbindex;
  std::string work;
  std::vector<int> sizes = {2000, 20000, 100000};  // index peak RSS at each
  std::vector<int> api_sizes = {20000, 100000};    // and the API load test at these
  double seconds = 20;
  // Keep the databases and Chroma data of an earlier run in `work` (no new index; no RSS figure).
  bool reuse = false;
};

struct Measured {
  double seconds = 0;
  long peak_rss_kb = 0;
  int exit_code = -1;
};
using MeasureFn = std::function<Measured(const std::vector<std::string>& argv)>;

// Prints a Markdown report on stdout; 0 on success.
int RunApiBench(const ApiBenchArgs& args, const MeasureFn& measure);

}  // namespace kb::bench
