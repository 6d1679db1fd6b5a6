// Embedders that call a local model server over HTTP:
// - ollama: POST {url}/api/embed {"model", "input": [...]} -> {"embeddings": [[...]]}
// - openai: POST {url}/v1/embeddings {"model", "input": [...]} -> {"data": [{"index", "embedding"}]}
//   (OpenAI itself, LM Studio, llama.cpp server, vLLM, ...)
// Requests are batched (`batch` texts each); vectors are L2-normalised on arrival so cosine
// distances are comparable across servers.
#pragma once

#include <atomic>
#include <memory>

#include "embed/embedder.h"
#include "util/http_client.h"

namespace kb {

class HttpEmbedder : public Embedder {
 public:
  enum class Api { kOllama, kOpenAi };
  static Result<std::unique_ptr<HttpEmbedder>> Create(Api api, const std::string& url,
                                                      const std::string& model,
                                                      const std::string& api_key, int batch,
                                                      int timeout_ms);
  std::string Id() const override;
  int Dimensions() const override { return dims_.load(); }
  Result<Embeddings> Embed(std::span<const std::string_view> texts) override;

 private:
  HttpEmbedder(Api api, std::string model, int batch, std::unique_ptr<HttpClient> http)
      : api_(api), model_(std::move(model)), batch_(batch), http_(std::move(http)) {}
  Status EmbedBatch(std::span<const std::string_view> texts, Embeddings& out);

  Api api_;
  std::string model_;
  int batch_;
  std::unique_ptr<HttpClient> http_;
  std::atomic<int> dims_{0};
};

}  // namespace kb
