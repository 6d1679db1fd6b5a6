// Use cases that keep Chroma in step with SQLite: sync now, a worker pass, reindex (in place,
// or switching embedders into a collection built beside the active one), verify and repair.
#pragma once

#include <atomic>

#include "app/services.h"
#include "kbindex/types.h"

namespace kb::app {

// One pass: pending notes, and failed ones below the attempt limit. `kind` is recorded in
// sync_runs. Conflict when the configured embedder contradicts the database.
Result<kbindex::SyncSummary> SyncNow(Services& s, const std::atomic<bool>* cancel, const std::string& kind,
                                     const std::function<void(const kbindex::SyncSummary&)>& on_progress = {});

// One retry-worker pass on the calling thread: when Chroma does not answer its heartbeat,
// records the pass and touches nothing (unreachable set). Conflict when a worker runs on this
// database (in any process).
Result<kbindex::SyncSummary> RunWorkerPass(Services& s, const WorkerOptions& options);

// Re-embeds every live note. The embedder of the request (or, when it names none, the
// configured one) decides: the one the database records → in place, over the same ids, then a
// sweep of ids SQLite does not account for; another one → a new collection `<name>__vN` built
// beside the active one, caught up, swapped in in one transaction, the old one dropped.
// The active collection is never emptied: search answers throughout.
Result<kbindex::ReindexReport> Reindex(Services& s, const kbindex::ReindexRequest& request);

// Compares SQLite with Chroma; with repair, marks drifted notes pending, deletes orphans,
// syncs and compares again.
Result<kbindex::VerifyResult> Verify(Services& s, const kbindex::VerifyRequest& request);

}  // namespace kb::app
