// Embedder: text in, unit vectors out. Implementations: `hash` (offline, lexical), `ollama`
// and `openai` (any OpenAI-compatible /v1/embeddings server: LM Studio, llama.cpp, vLLM).
//
// Contract: Embed returns exactly one vector of Dimensions() floats per input text, in order,
// all finite. Thread-safe. Errors are typed like the vector store's (Unavailable, Timeout,
// RemoteTransient, RemotePermanent) so the sync engine can tell a down server from bad input.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace kb {

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

// The embedder for a vector space recorded in the database (by Embedder::Id()): how long-running
// components follow an embedder switch made by another process. The result must outlive them.
using EmbedderResolver = std::function<Result<Embedder*>(const std::string& id)>;

// Which embedder to build and how to reach it.
struct EmbedderSpec {
  std::string kind;     // hash | ollama | openai; empty: hash
  std::string model;    // ollama/openai model name
  std::string url;      // ollama/openai base URL (ollama default: http://127.0.0.1:11434)
  std::string api_key;  // openai-compatible servers that want one
  int dims = 384;       // hash dimensions
  int batch = 64;       // texts per request (HTTP embedders)
  int timeout_ms = 120'000;
};

// The embedder `spec` describes; InvalidArgument for an unknown kind or a missing URL.
Result<std::unique_ptr<Embedder>> MakeEmbedder(const EmbedderSpec& spec);

// The embedder whose Id() is `id` ("hash-v1:384", "ollama:<model>", "openai:<model>"), taking
// URL, key and batching from `connection`.
Result<std::unique_ptr<Embedder>> MakeEmbedderForId(const std::string& id, const EmbedderSpec& connection);

}  // namespace kb
