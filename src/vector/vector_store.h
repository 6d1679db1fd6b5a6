// VectorStore: the seam between kbindex and a vector database (Chroma today; an in-memory fake
// in unit tests). Only SyncEngine writes through it; search and verify read.
//
// Contract, for every implementation:
// - Collections are addressed by the CollectionRef returned from GetOrCreateCollection.
//   A collection that no longer exists makes record calls return NotFound.
// - Upsert is idempotent: upserting the same ids twice leaves one record each, last write wins.
//   Callers never pass duplicate ids in one call, nor an empty list.
// - Delete with an empty id list is a no-op that sends nothing (Chroma would treat it badly).
// - Query with n_results < 1 is rejected client-side (InvalidArgument) and never sent.
// - Errors: Unavailable/Timeout when the server cannot be reached or does not answer,
//   RemoteTransient for 5xx, RemotePermanent for a rejected request (4xx), NotFound for a
//   missing collection. A failed call may have been applied in part or in full (the reply can
//   be lost after the write): callers rely on idempotence, never on "failed means untouched".
// - Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "util/status.h"

namespace kb {

struct CollectionRef {
  std::string id;  // server-side identifier (Chroma: a UUID)
  std::string name;
};

struct VectorRecord {
  std::string id;
  std::vector<float> embedding;
  std::optional<std::string> document;  // chunk text, when stored in the vector store
  std::string metadata_json = "{}";     // a JSON object of scalar values
};

struct GetRequest {
  std::vector<std::string> ids;  // empty: no id filter
  std::string where_json;        // empty: no metadata filter
  int limit = -1;                // -1: all
  int offset = 0;
  bool include_documents = false;
  bool include_metadatas = false;
  bool include_embeddings = false;
};

struct GetResult {
  std::vector<std::string> ids;
  std::vector<std::optional<std::string>> documents;  // when requested
  std::vector<std::string> metadatas_json;            // when requested ("null" when none)
  std::vector<std::vector<float>> embeddings;         // when requested
};

// A nearest neighbour: its id and distance only. Asking Chroma 1.0 for metadata or documents
// too costs ~0.25 ms per returned record (a 40-record query takes twice as long); a chunk id
// already says which note and which chunk (ChunkId), and SQLite holds the rest.
struct QueryHit {
  std::string id;
  double distance = 0;  // cosine distance: 0 identical .. 2 opposite
};

class VectorStore {
 public:
  virtual ~VectorStore() = default;

  // Cheap liveness check.
  virtual Status Heartbeat() = 0;
  // The collection `name`, created with cosine distance when absent.
  virtual Result<CollectionRef> GetOrCreateCollection(const std::string& name) = 0;
  // The collection `name`, or nullopt when it does not exist.
  virtual Result<std::optional<CollectionRef>> GetCollection(const std::string& name) = 0;
  // Deletes `name`; NotFound when absent.
  virtual Status DeleteCollection(const std::string& name) = 0;
  virtual Result<std::vector<std::string>> ListCollections() = 0;

  // Splits into requests of at most MaxBatchSize() records and MaxRequestBytes() bytes.
  virtual Status Upsert(const CollectionRef& c, std::span<const VectorRecord> records) = 0;
  virtual Status Delete(const CollectionRef& c, std::span<const std::string> ids) = 0;
  virtual Status DeleteWhere(const CollectionRef& c, const std::string& where_json) = 0;
  virtual Result<GetResult> Get(const CollectionRef& c, const GetRequest& request) = 0;
  // Nearest neighbours of `embedding`, closest first.
  virtual Result<std::vector<QueryHit>> Query(const CollectionRef& c, std::span<const float> embedding,
                                              int n_results, const std::string& where_json = "") = 0;
  // Nearest neighbours of each of `embeddings`, in one request where the store allows it (one
  // result list per embedding, in order). This one asks for each in turn.
  virtual Result<std::vector<std::vector<QueryHit>>> QueryMany(const CollectionRef& c,
                                                               std::span<const std::span<const float>> embeddings,
                                                               int n_results, const std::string& where_json = "") {
    std::vector<std::vector<QueryHit>> out;
    out.reserve(embeddings.size());
    for (std::span<const float> e : embeddings) {
      auto hits = Query(c, e, n_results, where_json);
      if (!hits.ok()) return hits.status();
      out.push_back(std::move(*hits));
    }
    return out;
  }
  virtual Result<int64_t> Count(const CollectionRef& c) = 0;

  // Most records per write request the server accepts.
  virtual size_t MaxBatchSize() = 0;
  // Most bytes per request body the server accepts (with some headroom).
  virtual size_t MaxRequestBytes() = 0;
  // Approximate request bytes one record adds to an upsert.
  virtual size_t EstimateRecordBytes(const VectorRecord& r) const = 0;
};

}  // namespace kb
