// In-memory VectorStore for unit tests, plus a decorator that injects failures. Both follow
// the contract in src/vector/vector_store.h; tests/vector_store_contract.h runs the same
// checks against them and against a real Chroma.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>

#include "vector/vector_store.h"

namespace kb::test {

class FakeVectorStore : public VectorStore {
 public:
  struct Stored {
    std::vector<float> embedding;
    std::optional<std::string> document;
    std::string metadata_json;
  };

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
  Result<int64_t> Count(const CollectionRef& c) override;
  size_t MaxBatchSize() override { return max_batch_size; }
  size_t MaxRequestBytes() override { return 32 * 1024 * 1024; }
  size_t EstimateRecordBytes(const VectorRecord& r) const override {
    return r.embedding.size() * 6 + r.id.size() + r.metadata_json.size() +
           (r.document ? r.document->size() : 0) + 16;
  }

  // Test access.
  std::map<std::string, Stored> Records(const std::string& collection);
  std::atomic<int> write_calls{0};  // upserts + deletes that reached the store
  std::atomic<int> upsert_calls{0};
  size_t max_batch_size = 5461;
  // Ids containing this text make the whole upsert fail with a 400, like Chroma does for
  // one invalid record in a batch.
  std::string reject_ids_containing;

 private:
  struct Coll {
    std::string id;
    std::map<std::string, Stored> records;
  };
  Coll* Find(const CollectionRef& c);
  std::mutex mu_;
  std::map<std::string, Coll> colls_;  // by name
  int next_id_ = 1;
};

// Wraps a VectorStore: fails calls on demand (the next N writes, every write, or by predicate),
// optionally after the inner call went through ("reply lost after the write was applied").
class FailingVectorStore : public VectorStore {
 public:
  explicit FailingVectorStore(VectorStore& inner) : inner_(inner) {}

  // The next `n` write calls (upsert/delete) fail with `status`; with `apply_first`, the inner
  // call is made first and only its reply is lost.
  void FailNextWrites(int n, Status status, bool apply_first = false);
  // The next `n` queries fail with `status`.
  void FailNextQueries(int n, Status status);
  // Every call (reads too) fails with `status` until cleared: a server that is down.
  void SetDown(std::optional<Status> status);
  // Called at the start of every query request (Query or QueryMany), on the querying thread.
  void OnQuery(std::function<void()> hook);

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
  Result<std::vector<std::vector<QueryHit>>> QueryMany(const CollectionRef& c,
                                                       std::span<const std::span<const float>> embeddings,
                                                       int n_results, const std::string& where_json) override;
  Result<int64_t> Count(const CollectionRef& c) override;
  size_t MaxBatchSize() override { return inner_.MaxBatchSize(); }
  size_t MaxRequestBytes() override { return inner_.MaxRequestBytes(); }
  size_t EstimateRecordBytes(const VectorRecord& r) const override { return inner_.EstimateRecordBytes(r); }

 private:
  std::optional<Status> Down();
  // The hook, then a server that is down or a failure asked for: what the query request meets.
  std::optional<Status> BeforeQuery();
  // Decides the fate of one write: nullopt = pass through.
  std::optional<std::pair<Status, bool>> NextWriteFault();

  VectorStore& inner_;
  std::mutex mu_;
  int fail_writes_ = 0;
  Status fail_status_;
  bool apply_first_ = false;
  int fail_queries_ = 0;
  Status fail_query_status_;
  std::optional<Status> down_;
  std::function<void()> on_query_;
};

}  // namespace kb::test
