// Benchmark corpora: N synthetic notes of realistic shape (YAML frontmatter, headings,
// paragraphs, lists, the odd code block; sizes log-normal around 2.5 KB), or the bundled sample
// notes copied over and over. Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <string>

namespace kb::bench {

struct CorpusStats {
  int64_t files = 0;
  int64_t bytes = 0;
};

// Writes `n` notes under `dir` (100 per subfolder).
CorpusStats GenerateCorpus(const std::string& dir, int n, uint64_t seed = 42);

// Copies the files of `sample_dir` into `dir` until there are `n` notes (copy k in "copy-k/").
CorpusStats MultiplySample(const std::string& sample_dir, const std::string& dir, int n);

// Rewrites one note (appends a line), changing its size and mtime. Returns its path.
std::string EditOneFile(const std::string& dir);

}  // namespace kb::bench
