// ChromaClient: VectorStore over ChromaDB's REST API v2 (see ../shared/chroma/API-NOTES.md).
//
// Embeddings go over the wire as base64 little-endian float32 (what the server's own JS client
// sends): a third of the size of JSON numbers and no float formatting. Writes are split by the
// server's max_batch_size (pre-flight) and by a byte budget below its 40 MiB body limit.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "util/http_client.h"
#include "vector/vector_store.h"

namespace kb {

struct ChromaOptions {
  std::string url = "http://127.0.0.1:8000";
  std::string tenant = "default_tenant";
  std::string database = "default_database";
  std::string token;  // sent as "Authorization: Bearer" and "X-Chroma-Token" when set
  int connect_timeout_ms = 3'000;
  int timeout_ms = 60'000;
  size_t max_request_bytes = 32 * 1024 * 1024;  // the server refuses bodies over 40 MiB
};

class ChromaClient : public VectorStore {
 public:
  static Result<std::unique_ptr<ChromaClient>> Create(const ChromaOptions& options);

  Status Heartbeat() override;
  Result<CollectionRef> GetOrCreateCollection(const std::string& name) override;
  Result<std::optional<CollectionRef>> GetCollection(const std::string& name) override;
  Status DeleteCollection(const std::string& name) override;
  Result<std::vector<std::string>> ListCollections() override;
  Status Upsert(const CollectionRef& c, std::span<const VectorRecord> records) override;
  Status Delete(const CollectionRef& c, std::span<const std::string> ids) override;
  Status DeleteWhere(const CollectionRef& c, const std::string& where_json) override;
  Result<GetResult> Get(const CollectionRef& c, const GetRequest& request) override;
  Result<std::vector<QueryHit>> Query(const CollectionRef& c, std::span<const float> embedding,
                                      int n_results, const std::string& where_json) override;
  // One request for all of `embeddings` (Chroma answers each in turn, but the request's own
  // cost, about 1.5 ms of the server's CPU, is paid once).
  Result<std::vector<std::vector<QueryHit>>> QueryMany(const CollectionRef& c,
                                                       std::span<const std::span<const float>> embeddings,
                                                       int n_results, const std::string& where_json) override;
  Result<int64_t> Count(const CollectionRef& c) override;
  size_t MaxBatchSize() override;
  size_t MaxRequestBytes() override { return options_.max_request_bytes; }
  size_t EstimateRecordBytes(const VectorRecord& r) const override;

  // The server's version string, e.g. "1.0.0".
  Result<std::string> Version();
  const ChromaOptions& options() const { return options_; }

 private:
  ChromaClient(ChromaOptions options, std::unique_ptr<HttpClient> http);
  std::string DatabasePath() const;
  std::string CollectionPath(const CollectionRef& c) const;
  Status UpsertOne(const CollectionRef& c, std::span<const VectorRecord> records);
  Status DeleteIdsOne(const CollectionRef& c, std::span<const std::string> ids);

  ChromaOptions options_;
  std::unique_ptr<HttpClient> http_;
  std::mutex mu_;
  size_t max_batch_size_ = 0;  // 0 until pre-flight answered
};

// Base64 (RFC 4648, padded) of `embedding` as little-endian float32.
std::string EncodeEmbeddingBase64(std::span<const float> embedding);

}  // namespace kb
