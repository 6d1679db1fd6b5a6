// SyncEngine: the only writer to the vector store. Every path that puts a document into Chroma
// (index, sync, the retry worker, reindex, verify --repair, the API) goes through Run().
//
// One pass: take due documents from SQLite, chunk and embed them (on a producer thread), claim
// them in SQLite (stamps the attempt, raises the chunk high-water mark), upsert their chunks,
// delete chunks beyond the new count and all chunks of tombstones, then record per document
// `synced` (compare-and-set on the content hash that was sent) or `failed` with the error.
// No SQLite transaction is open during any network call. A failing batch fails only its own
// documents; a batch rejected as a whole (4xx) is bisected so one bad document cannot fail
// its neighbours.
//
// Threading contract: one SyncEngine may be shared by any number of threads (the worker, API
// jobs, an index run, reindex). Run() passes are serialised (one pass at a time per engine;
// the second caller waits). The collection binding (active collection, its embedder and the
// collection generation, reconciled with the meta table in one transaction) is guarded by its
// own lock: Prepare() and Bound() may be called from any thread, also while a pass runs; a
// pass works on a snapshot taken when it starts and notices a switch made meanwhile (its
// outcomes are then discarded, not recorded against the new collection). Passes in other
// processes are kept off the same documents by per-document send leases (DocumentStore).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "embed/embedder.h"
#include "scan/chunker.h"
#include "store/document_store.h"
#include "vector/vector_store.h"

namespace kb {

struct SyncOptions {
  std::string collection = "kbindex";  // configured collection name
  bool store_text = false;             // also send chunk text to Chroma
  ChunkerOptions chunker;
  int max_attempts = 3;
  int64_t backoff_base_ms = 30'000;
  int64_t backoff_max_ms = 3'600'000;
  size_t max_batch_records = 0;  // 0: the vector store's MaxBatchSize()
  // Record bytes per batch. Bounds memory (a batch is built while the previous one is sent):
  // 2 MiB is ~900 chunks per request, where Chroma is already no faster per record, and cost
  // ~30 MB less peak RSS in `index` than 8 MiB.
  size_t max_batch_bytes = 2 * 1024 * 1024;
  int page_docs = 512;           // documents read from SQLite at a time
  int unreachable_retry_ms = 2'000;  // after "unreachable", a pass fails fast this long before retrying
  // How long a claimed document stays leased to this pass if its outcome is never recorded
  // by a live process (a stuck pass); a crashed process's leases are cleared at once.
  int64_t lease_ms = 10 * 60 * 1000;
  // Shadow mode (building a replacement collection for an embedder switch): write to this
  // collection, record what was sent in shadow_sync, leave the documents' sync state alone.
  std::string shadow_collection;
  // When the database's recorded embedder differs from the engine's (another process switched
  // embedders), this supplies the recorded one instead of refusing. Null: refuse (Conflict).
  std::function<Result<Embedder*>(const std::string& embedder_id)> resolve_embedder;

  // Test seams. Called on the sending thread with the keys of a batch:
  std::function<void(const std::vector<int64_t>&)> before_send;  // after claim, before upsert
  std::function<void(const std::vector<int64_t>&)> before_mark;  // after the reply, before marking
  std::function<void(const std::vector<int64_t>&)> after_mark;   // after the outcome is recorded
};

// How a pass chooses and groups work.
struct PassOptions {
  std::string kind = "sync";   // recorded in sync_runs: index | sync | worker | reindex | repair
  bool include_failed = true;  // retry failed documents (below max_attempts)
  bool respect_backoff = false;
  int batch_docs = 0;          // at most this many documents per batch (0: no limit but records)
  const std::atomic<bool>* stop = nullptr;  // finish the batch in hand, then return
  // When set, the pass keeps waiting for new work until `follow->Done()`: used by `index`
  // to sync while the scanner is still writing.
  class WorkFeed* follow = nullptr;
  std::function<void(const struct SyncReport&)> on_progress;
  // A renamed document whose text is unchanged is moved in the vector store with the vectors
  // stored under its former id (no embedding). Off for a re-index, which re-embeds on purpose.
  bool reuse_moved_vectors = true;
};

// Wakes a following pass when new rows were committed; Done() ends it.
class WorkFeed {
 public:
  void Notify();
  void Finish();
  bool Done() const;
  // Waits until Notify/Finish or `ms` elapse.
  void Wait(int ms);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t generation_ = 0;
  bool done_ = false;
};

// Which collection writes go to, and with which embedder. `generation` is the meta
// collection_generation it was resolved under (bumped by every embedder switch).
struct CollectionBinding {
  CollectionRef collection;
  Embedder* embedder = nullptr;
  int64_t generation = 0;
};

struct SyncReport {
  int64_t run_id = 0;
  int64_t attempted = 0;  // documents taken (upserts and deletes)
  int64_t synced = 0;
  int64_t failed = 0;
  int64_t deleted = 0;     // tombstones removed from the vector store and purged
  int64_t superseded = 0;  // changed while in flight: left pending for the next pass
  int64_t batches = 0;
  int64_t chunks = 0;      // chunks upserted
  int64_t reused = 0;      // of which moved with their stored vectors (renamed notes, not re-embedded)
  int64_t moved = 0;       // renamed documents whose chunks under former ids were cleaned up
  int max_batch_docs = 0;  // largest batch, in documents
  Status error;            // the first error of the pass (ok when there was none)
  bool stopped = false;    // ended by the stop flag
  bool unreachable = false;  // the server did not answer at all (set by the retry worker)
};

// Deletes the collection a previous embedder switch retired (meta collection_to_drop), if any.
Status DropRetiredCollection(DocumentStore& store, VectorStore& vectors);

class SyncEngine {
 public:
  SyncEngine(DocumentStore& store, VectorStore& vectors, Embedder& embedder, SyncOptions options);
  ~SyncEngine();
  SyncEngine(const SyncEngine&) = delete;
  SyncEngine& operator=(const SyncEngine&) = delete;

  // (Re)binds now: resolves the active collection (creating it when absent) and checks that
  // SQLite and the vector store agree. The embedder must be the one recorded in SQLite (a
  // different one is followed through SyncOptions::resolve_embedder, else Conflict: mixing
  // vector spaces would corrupt search); a collection recreated behind our back (new id) makes
  // every document pending again so it is fully re-upserted. Meta is reconciled in one
  // transaction. Unavailable/Timeout when the server is down.
  Status Prepare();

  // The current binding, binding first when there is none yet or another process switched
  // collections since.
  Result<CollectionBinding> Bound();

  // One sync pass recorded as a sync_runs row; see the file comment. Never fails as a whole:
  // errors are per document (and the first one is in the report).
  SyncReport Run(const PassOptions& pass);

  // The index canary's probe record (kProbeId) in the active collection: written (embedded
  // with the binding's embedder) when absent. Returns its vector.
  Result<std::vector<float>> EnsureProbe();

  const SyncOptions& options() const { return options_; }

 private:
  struct Batch;
  struct Item;
  struct PassState;
  class BatchQueue;
  Result<CollectionBinding> BindLocked();
  void Produce(PassState& ps, BatchQueue& queue, SyncReport& report, std::mutex& report_mu);
  // Chunks and embeds a page of documents into items and their records (records_of[i] for
  // items[i]); documents that cannot be sent at all go to `failed`.
  // Documents renamed since their last sync also delete the chunks under their former ids,
  // and, when `reuse_in` is given, take the vectors stored there instead of being embedded
  // (only if those chunks are exactly what this text and title would give).
  void BuildItems(Embedder& embedder, std::vector<Document>& docs, std::vector<Item>& items,
                  std::vector<std::vector<VectorRecord>>& records_of,
                  std::vector<SyncOutcome>& failed, const CollectionRef* reuse_in = nullptr);
  void Send(PassState& ps, Batch& batch, SyncReport& report);
  // Upserts the records of items[begin, end); on a whole-batch rejection, bisects.
  void UpsertItems(PassState& ps, Batch& batch, size_t begin, size_t end);
  Status RecoverCollection(PassState& ps);

  bool shadow() const { return !options_.shadow_collection.empty(); }

  DocumentStore& store_;
  VectorStore& vectors_;
  Embedder& default_embedder_;
  const SyncOptions options_;
  std::mutex run_mu_;  // one pass at a time per engine
  std::mutex binding_mu_;
  std::optional<CollectionBinding> binding_;  // guarded by binding_mu_
};

}  // namespace kb
