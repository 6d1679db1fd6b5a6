#include "embed/embedder.h"

#include "embed/hash_embedder.h"
#include "embed/http_embedder.h"

namespace kb {

Result<std::unique_ptr<Embedder>> MakeEmbedderForId(const std::string& id, const EmbedderSpec& connection) {
  EmbedderSpec c = connection;
  const auto colon = id.find(':');
  const std::string kind = id.substr(0, colon);
  const std::string rest = colon == std::string::npos ? "" : id.substr(colon + 1);
  if (kind == "hash-v1") {
    c.kind = "hash";
    try {
      c.dims = std::stoi(rest);
    } catch (const std::exception&) {
      return Status::InvalidArgument("unknown embedder id '" + id + "'");
    }
  } else if (kind == "ollama" || kind == "openai") {
    c.kind = kind;
    c.model = rest;
  } else {
    return Status::InvalidArgument("unknown embedder id '" + id + "'");
  }
  return MakeEmbedder(c);
}

Result<std::unique_ptr<Embedder>> MakeEmbedder(const EmbedderSpec& c) {
  if (c.kind == "hash" || c.kind.empty()) return std::unique_ptr<Embedder>(new HashEmbedder(c.dims));
  if (c.kind == "ollama") {
    KB_ASSIGN_OR_RETURN(auto e, HttpEmbedder::Create(HttpEmbedder::Api::kOllama,
                                                     c.url.empty() ? "http://127.0.0.1:11434" : c.url,
                                                     c.model, c.api_key, c.batch,
                                                     c.timeout_ms));
    return std::unique_ptr<Embedder>(std::move(e));
  }
  if (c.kind == "openai") {
    if (c.url.empty()) {
      return Status::InvalidArgument("the openai embedder needs --embed-url (e.g. http://127.0.0.1:1234 for LM Studio)");
    }
    KB_ASSIGN_OR_RETURN(auto e, HttpEmbedder::Create(HttpEmbedder::Api::kOpenAi, c.url,
                                                     c.model, c.api_key, c.batch,
                                                     c.timeout_ms));
    return std::unique_ptr<Embedder>(std::move(e));
  }
  return Status::InvalidArgument("unknown embedder '" + c.kind + "' (hash, ollama or openai)");
}

}  // namespace kb
