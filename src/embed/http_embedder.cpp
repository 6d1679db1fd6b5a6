#include "embed/http_embedder.h"

#include <cmath>
#include <nlohmann/json.hpp>


namespace kb {

using json = nlohmann::json;

Result<std::unique_ptr<HttpEmbedder>> HttpEmbedder::Create(Api api, const std::string& url,
                                                           const std::string& model,
                                                           const std::string& api_key, int batch,
                                                           int timeout_ms) {
  if (model.empty()) return Status::InvalidArgument("an embedding model name is required (--embed-model)");
  HttpOptions h;
  h.base_url = url;
  // "http://host:1234/v1" is how OpenAI-compatible servers are usually written down.
  while (!h.base_url.empty() && h.base_url.back() == '/') h.base_url.pop_back();
  if (api == Api::kOpenAi && h.base_url.ends_with("/v1")) h.base_url.resize(h.base_url.size() - 3);
  h.service = api == Api::kOllama ? "Ollama" : "embedding server";
  h.timeout_ms = timeout_ms;
  if (!api_key.empty()) h.headers.emplace_back("Authorization", "Bearer " + api_key);
  KB_ASSIGN_OR_RETURN(auto http, HttpClient::Create(h));
  return std::unique_ptr<HttpEmbedder>(new HttpEmbedder(api, model, std::max(1, batch), std::move(http)));
}

std::string HttpEmbedder::Id() const {
  return std::string(api_ == Api::kOllama ? "ollama:" : "openai:") + model_;
}

Result<Embeddings> HttpEmbedder::Embed(std::span<const std::string_view> texts) {
  Embeddings out;
  out.dims = dims_.load();
  for (size_t start = 0; start < texts.size(); start += static_cast<size_t>(batch_)) {
    const size_t n = std::min(static_cast<size_t>(batch_), texts.size() - start);
    KB_RETURN_IF_ERROR(EmbedBatch(texts.subspan(start, n), out));
  }
  return out;
}

Status HttpEmbedder::EmbedBatch(std::span<const std::string_view> texts, Embeddings& out) {
  json input = json::array();
  for (auto t : texts) input.push_back(std::string(t));
  json body{{"model", model_}, {"input", input}};
  const std::string path = api_ == Api::kOllama ? "/api/embed" : "/v1/embeddings";
  const std::string service = http_->options().service;
  KB_ASSIGN_OR_RETURN(HttpResponse r, http_->Post(path, body.dump(-1, ' ', false, json::error_handler_t::replace)));
  if (!r.ok()) return HttpStatusError(service, "embedding", r);
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded()) return Status::RemoteTransient(service + " embedding: reply is not JSON");
  std::vector<std::vector<float>> vectors(texts.size());
  try {
    if (api_ == Api::kOllama) {
      const json& e = j.at("embeddings");
      if (e.size() != texts.size()) throw std::runtime_error("wrong number of embeddings");
      for (size_t i = 0; i < e.size(); ++i) vectors[i] = e[i].get<std::vector<float>>();
    } else {
      const json& data = j.at("data");
      if (data.size() != texts.size()) throw std::runtime_error("wrong number of embeddings");
      for (size_t i = 0; i < data.size(); ++i) {
        const size_t idx = data[i].contains("index") ? data[i]["index"].get<size_t>() : i;
        if (idx >= vectors.size()) throw std::runtime_error("embedding index out of range");
        vectors[idx] = data[i].at("embedding").get<std::vector<float>>();
      }
    }
  } catch (const std::exception& e) {
    return Status::RemoteTransient(service + " embedding: unexpected reply: " + e.what());
  }
  for (auto& v : vectors) {
    if (v.empty()) return Status::RemoteTransient(service + " embedding: empty vector");
    int expected = dims_.load();
    if (expected == 0) {
      dims_.compare_exchange_strong(expected, static_cast<int>(v.size()));
      expected = dims_.load();
    }
    if (static_cast<int>(v.size()) != expected) {
      return Status::RemotePermanent(service + " returned " + std::to_string(v.size()) +
                                     "-dimensional vectors, expected " + std::to_string(expected));
    }
    double norm = 0;
    for (float x : v) {
      if (!std::isfinite(x)) return Status::RemotePermanent(service + " returned a non-finite value");
      norm += static_cast<double>(x) * x;
    }
    if (norm <= 0) return Status::RemotePermanent(service + " returned an all-zero vector");
    const float inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (float& x : v) x *= inv;
    out.dims = expected;
    out.data.insert(out.data.end(), v.begin(), v.end());
  }
  return Status::Ok();
}

}  // namespace kb
