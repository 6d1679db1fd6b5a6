// Embedder: text in, unit vectors out. Implementations: `hash` (offline, lexical), `ollama`
// and `openai` (any OpenAI-compatible /v1/embeddings server: LM Studio, llama.cpp, vLLM).
//
// Contract: Embed returns exactly one vector of Dimensions() floats per input text, in order,
// all finite. Thread-safe. Errors are typed like the vector store's (Unavailable, Timeout,
// RemoteTransient, RemotePermanent) so the sync engine can tell a down server from bad input.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace kb {

struct Config;

// n vectors of `dims` floats, row-major.
struct Embeddings {
  int dims = 0;
  std::vector<float> data;
  size_t size() const { return dims ? data.size() / static_cast<size_t>(dims) : 0; }
  std::span<const float> row(size_t i) const {
    return std::span<const float>(data).subspan(i * static_cast<size_t>(dims), static_cast<size_t>(dims));
  }
};

class Embedder {
 public:
  virtual ~Embedder() = default;
  // Identifies the vector space: two embedders with the same id produce comparable vectors.
  // Recorded in SQLite; a database refuses to mix ids (see `reindex --embedder`).
  virtual std::string Id() const = 0;
  // Vector size; 0 when only known after the first call (HTTP embedders).
  virtual int Dimensions() const = 0;
  virtual Result<Embeddings> Embed(std::span<const std::string_view> texts) = 0;
};

// The embedder `config` asks for (embedder, embed_model, embed_url, embed_dims, ...); an empty
// `embedder` means hash.
Result<std::unique_ptr<Embedder>> MakeEmbedder(const Config& config);

// The embedder whose Id() is `id` ("hash-v1:384", "ollama:<model>", "openai:<model>"), taking
// URLs and keys from `config`.
Result<std::unique_ptr<Embedder>> MakeEmbedderForId(const std::string& id, const Config& config);

}  // namespace kb
