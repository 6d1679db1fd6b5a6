// Re-indexing without downtime. The active collection is never deleted while it is active,
// so semantic search keeps answering throughout.
//
// ReindexInPlace: every live document becomes pending and is re-embedded and upserted over its
// own deterministic ids; then ids SQLite does not account for are swept out.
//
// SwitchEmbedder: a new embedder cannot write into the old vector space, so the new collection
// `<name>__v<N>` is built beside the active one (a shadow pass that leaves the documents' sync
// state alone), caught up with edits made meanwhile, swept of orphans, and only then made
// active in one SQLite transaction; the old collection is dropped after the switch.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "embed/embedder.h"
#include "store/document_store.h"
#include "sync/sync_engine.h"
#include "vector/vector_store.h"

namespace kb {

struct ReindexReport {
  std::string collection;           // active when done
  std::string previous_collection;  // set when a switch happened
  bool switched = false;
  bool dropped_previous = false;
  int64_t documents = 0;  // documents sent
  int64_t chunks = 0;
  int64_t failed = 0;
  int64_t orphans_deleted = 0;
};

struct ReindexOptions {
  const std::atomic<bool>* stop = nullptr;
  std::function<void(const std::string& phase, const SyncReport&)> on_progress;
  // Test seam: called after the new collection is built, just before the switch.
  std::function<void()> before_switch;
};

// `engine` must write to the active collection (a normal, non-shadow engine).
Result<ReindexReport> ReindexInPlace(DocumentStore& store, VectorStore& vectors, SyncEngine& engine,
                                     const ReindexOptions& options = {});

// Builds a collection for `next` and switches to it. `base` supplies chunking and batching.
Result<ReindexReport> SwitchEmbedder(DocumentStore& store, VectorStore& vectors, Embedder& next,
                                     const SyncOptions& base, const ReindexOptions& options = {});

}  // namespace kb
