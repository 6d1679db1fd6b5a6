#include "embed/hash_embedder.h"

#include <xxhash.h>

#include <cmath>
#include <cstring>
#include <algorithm>
#include <vector>

namespace kb {
namespace {

// Words too common to say anything about a note (the embedder has no corpus statistics to
// learn that from). Matched by the word's hash, which is computed anyway.
constexpr const char* kStopWords[] = {
    "a", "about", "above", "after", "again", "all", "am", "an", "and", "any", "are", "as", "at",
    "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can",
    "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from",
    "further", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how",
    "i", "if", "in", "into", "is", "it", "its", "just", "me", "more", "most", "my", "no", "nor",
    "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "out", "over",
    "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "them",
    "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until",
    "up", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom",
    "why", "will", "with", "would", "you", "your", "yours", "s", "t", "d", "ll", "m", "re", "ve"};
constexpr size_t kLongestStopWord = 7;

const std::vector<uint64_t>& StopWordHashes() {
  static const std::vector<uint64_t> hashes = [] {
    std::vector<uint64_t> h;
    for (const char* w : kStopWords) h.push_back(XXH3_64bits(w, std::strlen(w)));
    std::sort(h.begin(), h.end());
    return h;
  }();
  return hashes;
}

inline bool IsAsciiWord(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

}  // namespace

void HashEmbedder::EmbedOne(std::string_view text, float* out) const {
  const std::vector<uint64_t>& stop_words = StopWordHashes();
  std::memset(out, 0, sizeof(float) * static_cast<size_t>(dims_));
  char word[64];
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t len = 0;
    if (IsAsciiWord(c)) {
      while (i < n && IsAsciiWord(static_cast<unsigned char>(text[i]))) {
        const auto ch = static_cast<unsigned char>(text[i]);
        if (len < sizeof word) word[len++] = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch | 0x20 : ch);
        ++i;
      }
    } else if (c >= 0x80) {
      while (i < n && static_cast<unsigned char>(text[i]) >= 0x80) {
        if (len < sizeof word) word[len++] = text[i];
        ++i;
      }
    } else {
      ++i;
      continue;
    }
    // Two signed buckets per word (independent halves of one 64-bit hash): a collision with
    // another word then disturbs half of each word's weight, not all of it.
    const uint64_t h = XXH3_64bits(word, len);
    if (len <= kLongestStopWord && static_cast<unsigned char>(word[0]) < 0x80 &&
        std::binary_search(stop_words.begin(), stop_words.end(), h)) {
      continue;
    }
    const uint32_t lo = static_cast<uint32_t>(h), hi = static_cast<uint32_t>(h >> 32);
    out[(lo & 0x7fffffffu) % static_cast<uint32_t>(dims_)] += (lo >> 31) ? -1.0f : 1.0f;
    out[(hi & 0x7fffffffu) % static_cast<uint32_t>(dims_)] += (hi >> 31) ? -1.0f : 1.0f;
  }
  double norm = 0;
  for (int d = 0; d < dims_; ++d) {
    // Damp repeated words: sign(x) * (1 + log|x|).
    const float x = out[d];
    if (x != 0) out[d] = std::copysign(1.0f + std::log(std::fabs(x)), x);
    norm += static_cast<double>(out[d]) * out[d];
  }
  if (norm > 0) {
    const float inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (int d = 0; d < dims_; ++d) out[d] *= inv;
  } else {
    out[0] = 1.0f;  // empty text: a fixed unit vector, never all zeros (cosine needs a norm)
  }
}

Result<Embeddings> HashEmbedder::Embed(std::span<const std::string_view> texts) {
  Embeddings e;
  e.dims = dims_;
  e.data.resize(texts.size() * static_cast<size_t>(dims_));
  for (size_t i = 0; i < texts.size(); ++i) EmbedOne(texts[i], e.data.data() + i * static_cast<size_t>(dims_));
  return e;
}

}  // namespace kb
