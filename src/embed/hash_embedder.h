// HashEmbedder: deterministic, offline feature hashing. Each word (lower-cased ASCII letters
// and digits, or runs of non-ASCII UTF-8) is hashed into two of `dims` buckets, each with a
// sign; common English stop words are skipped; counts are damped (1 + log tf) and the vector
// is L2-normalised.
//
// It is lexical, not semantic: it finds notes that share words with the query (including word
// forms differing only in case), never synonyms. It needs no model and no network, which makes
// it the default and the benchmark reference; use ollama/openai embedders for meaning.
#pragma once

#include "embed/embedder.h"

namespace kb {

class HashEmbedder : public Embedder {
 public:
  explicit HashEmbedder(int dims = 384) : dims_(dims) {}
  std::string Id() const override { return "hash-v1:" + std::to_string(dims_); }
  int Dimensions() const override { return dims_; }
  Result<Embeddings> Embed(std::span<const std::string_view> texts) override;

  // One text into `out` (dims floats).
  void EmbedOne(std::string_view text, float* out) const;

 private:
  int dims_;
};

}  // namespace kb
