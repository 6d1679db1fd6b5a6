// Services: the wiring of one open knowledge base, built by one factory. It owns the SQLite
// store, the vector side (the configured Chroma, or the managed local server, connected on
// first use), the embedders, the one SyncEngine, the semantic index and the retry worker.
// Every use case (app/*.h) takes a Services&; every front-end (the public library, the CLI
// through it, the HTTP API, MCP, the watcher) builds exactly one through Open().
//
// Thread-safe: the lazily built parts are created under a lock and live as long as the
// Services; the store, engine, semantic index and worker are themselves safe to share.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "app/config.h"
#include "kbindex/types.h"
#include "embed/embedder.h"
#include "search/semantic_index.h"
#include "store/document_store.h"
#include "sync/sync_engine.h"
#include "util/clock.h"
#include "vector/vector_store.h"
#include "worker/retry_worker.h"
#include "worker/worker_lock.h"

namespace kb {
class LocalChroma;
}

namespace kb::app {

class SourcePoller;

// Test seams.
struct ServicesOptions {
  VectorStore* vectors = nullptr;  // use this instead of Chroma (not owned; also the probe)
  Clock* clock = nullptr;          // nullptr: the real clock
};

// The source name of notes pushed through the API (and the library's Put).
inline constexpr const char* kApiSource = "api";

class Services {
 public:
  // Opens the database named by config.db_path (creating its folder) and validates `config`.
  static Result<std::unique_ptr<Services>> Open(Config config, ServicesOptions options = {});
  // Stops the worker (finishing its batch), then the managed Chroma if this was its last user.
  ~Services();
  Services(const Services&) = delete;
  Services& operator=(const Services&) = delete;

  const Config& config() const { return config_; }
  DocumentStore& store() { return *store_; }
  Clock* clock() const { return clock_; }

  // True when semantic search can be expected: a Chroma URL is configured, the managed server
  // is installed, or a vector store was injected. (Says nothing about it answering now.)
  bool VectorsConfigured() const;
  // The vector side, connected on first use (starting, or sharing, the managed local server
  // when no URL is configured). A failure is remembered for a few seconds, so that a missing
  // server costs the callers in that window nothing; then it is tried again.
  Result<VectorStore*> Vectors();
  // The same server with short timeouts (health, stats); nullptr when Vectors() fails.
  VectorStore* Probe();
  // Where the vector side is ("" until connected).
  std::string VectorUrl();

  // The one SyncEngine (it follows embedder switches made by any process).
  Result<SyncEngine*> Engine();
  // The semantic side of search.
  Result<SemanticIndex*> Semantic();

  // The embedder new vectors are made with: the configured one, else the one the database
  // recorded, else hash.
  Result<Embedder*> DefaultEmbedder();
  // The embedder with this Embedder::Id(), built on first use with the configured URLs.
  Result<Embedder*> EmbedderFor(const std::string& id);
  // Builds the embedder `spec` describes and keeps it (by id) for the lifetime of Services.
  Result<Embedder*> AdoptEmbedder(const EmbedderSpec& spec);
  // The configuration's embedder settings.
  EmbedderSpec ConfiguredEmbedderSpec() const;
  // Conflict when the configuration names an embedder explicitly and the database records
  // another one (only `reindex` may switch).
  Status CheckEmbedderChoice();

  // SyncEngine settings derived from the configuration.
  SyncOptions SyncOptionsFromConfig() const;

  // The retry worker. Start takes the database's worker lock (Conflict when another process or
  // Services holds it) and runs a pass at once, then one per interval. With database sources
  // configured, their poller (source_poller.h) runs beside it, started and stopped with it.
  Status StartWorker(const WorkerOptions& options);
  void StopWorker();
  // The running worker's state, or nullopt when none runs in this process.
  std::optional<WorkerStatus> WorkerState();
  // After a write that made documents pending: the worker (if running) passes soon.
  void NudgeWorker();
  // The source poller (if running) polls every database source now.
  void PollSourcesNow();

  // Registers the "api" source once.
  Status EnsureApiSource();

  // The last index canary verdict made in this process (app/index_check.h).
  std::optional<kbindex::IndexCheck> CachedIndexCheck();
  void CacheIndexCheck(const kbindex::IndexCheck& check);

 private:
  Services(Config config, ServicesOptions options, std::unique_ptr<DocumentStore> store);
  Result<VectorStore*> VectorsLocked();

  const Config config_;
  const ServicesOptions options_;
  Clock* clock_;
  std::unique_ptr<DocumentStore> store_;

  std::mutex embedders_mu_;
  std::map<std::string, std::unique_ptr<Embedder>> embedders_;  // by Id(); never erased

  std::mutex mu_;  // guards everything below
  std::unique_ptr<LocalChroma> local_;
  std::unique_ptr<VectorStore> chroma_;
  std::unique_ptr<VectorStore> probe_;
  std::string url_;
  Status vector_error_;
  int64_t vector_retry_at_ms_ = 0;
  std::unique_ptr<SyncEngine> engine_;
  std::unique_ptr<SemanticIndex> semantic_;
  std::unique_ptr<WorkerLock> worker_lock_;
  std::unique_ptr<RetryWorker> worker_;
  std::unique_ptr<SourcePoller> poller_;
  bool api_source_ = false;
  std::optional<kbindex::IndexCheck> index_check_;
};

}  // namespace kb::app
