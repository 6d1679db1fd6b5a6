#include "embed/hash_embedder.h"

#include <xxhash.h>

#include <cmath>
#include <cstring>

namespace kb {
namespace {

inline bool IsAsciiWord(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

}  // namespace

void HashEmbedder::EmbedOne(std::string_view text, float* out) const {
  std::memset(out, 0, sizeof(float) * static_cast<size_t>(dims_));
  char word[64];
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t len = 0;
    if (IsAsciiWord(c)) {
      while (i < n && IsAsciiWord(static_cast<unsigned char>(text[i]))) {
        if (len < sizeof word) word[len++] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
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
    const uint64_t h = XXH3_64bits(word, len);
    const size_t bucket = static_cast<size_t>(h % static_cast<uint64_t>(dims_));
    out[bucket] += (h >> 63) ? -1.0f : 1.0f;
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
