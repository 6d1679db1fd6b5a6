#include "corpus.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

namespace kb::bench {
namespace fs = std::filesystem;

namespace {

// A vocabulary of pronounceable pseudo-words drawn with a Zipf-like distribution, so that word
// frequencies look like prose (a few very common words, a long tail).
class Vocabulary {
 public:
  explicit Vocabulary(std::mt19937_64& rng) {
    static const char* kSyllables[] = {"ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "da", "fe",
                                       "gu", "hi", "jo", "ke", "lu", "ma", "no", "pi", "qu", "ro",
                                       "sa", "te", "vi", "wo", "xe", "yu", "ze", "an", "el", "or"};
    std::uniform_int_distribution<int> syl(0, 29), len(1, 4);
    for (int i = 0; i < 6000; ++i) {
      std::string w;
      const int n = len(rng);
      for (int k = 0; k < n; ++k) w += kSyllables[syl(rng)];
      words_.push_back(w);
    }
    std::vector<double> weights;
    for (size_t i = 0; i < words_.size(); ++i) weights.push_back(1.0 / std::pow(static_cast<double>(i + 1), 1.05));
    dist_ = std::discrete_distribution<size_t>(weights.begin(), weights.end());
  }
  const std::string& Word(std::mt19937_64& rng) { return words_[dist_(rng)]; }

 private:
  std::vector<std::string> words_;
  std::discrete_distribution<size_t> dist_;
};

std::string Sentence(Vocabulary& v, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> len(6, 18);
  std::string s;
  const int n = len(rng);
  for (int i = 0; i < n; ++i) {
    std::string w = v.Word(rng);
    if (i == 0) w[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(w[0])));
    if (!s.empty()) s += ' ';
    s += w;
  }
  return s + ". ";
}

std::string Note(int index, Vocabulary& v, std::mt19937_64& rng) {
  std::lognormal_distribution<double> size(std::log(2500.0), 0.7);
  const size_t target = static_cast<size_t>(std::clamp(size(rng), 300.0, 30000.0));
  std::uniform_int_distribution<int> pick(0, 99);
  std::string s = "---\ntitle: " + v.Word(rng) + " " + v.Word(rng) + " " + std::to_string(index) +
                  "\ntags: [" + v.Word(rng) + ", " + v.Word(rng) + "]\ndate: 2025-0" +
                  std::to_string(1 + index % 9) + "-1" + std::to_string(index % 10) + "\n---\n";
  s += "# " + v.Word(rng) + " " + v.Word(rng) + "\n\n";
  while (s.size() < target) {
    const int r = pick(rng);
    if (r < 15) {
      s += "\n## " + v.Word(rng) + " " + v.Word(rng) + "\n\n";
    } else if (r < 25) {
      for (int i = 0; i < 3; ++i) s += "- " + Sentence(v, rng) + "\n";
      s += "\n";
    } else if (r < 28) {
      s += "```sh\n# " + v.Word(rng) + "\n" + v.Word(rng) + " --" + v.Word(rng) + "\n```\n\n";
    } else {
      s += Sentence(v, rng) + Sentence(v, rng) + Sentence(v, rng) + "\n\n";
    }
  }
  return s;
}

void Write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

}  // namespace

CorpusStats GenerateCorpus(const std::string& dir, int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Vocabulary vocab(rng);
  CorpusStats stats;
  for (int i = 0; i < n; ++i) {
    const std::string text = Note(i, vocab, rng);
    Write(fs::path(dir) / ("d" + std::to_string(i / 100)) / ("note-" + std::to_string(i) + ".md"), text);
    ++stats.files;
    stats.bytes += static_cast<int64_t>(text.size());
  }
  return stats;
}

CorpusStats MultiplySample(const std::string& sample_dir, const std::string& dir, int n) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(sample_dir)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  CorpusStats stats;
  for (int copy = 0; stats.files < n && !files.empty(); ++copy) {
    for (const auto& f : files) {
      if (stats.files >= n) break;
      const fs::path to = fs::path(dir) / ("copy-" + std::to_string(copy)) / fs::relative(f, sample_dir);
      fs::create_directories(to.parent_path());
      fs::copy_file(f, to, fs::copy_options::overwrite_existing);
      ++stats.files;
      stats.bytes += static_cast<int64_t>(fs::file_size(to));
    }
  }
  return stats;
}

std::string EditOneFile(const std::string& dir) {
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ofstream out(e.path(), std::ios::app);
    out << "\nEdited for the benchmark.\n";
    return e.path().string();
  }
  return "";
}

}  // namespace kb::bench
