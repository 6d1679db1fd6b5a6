// From the core's records to the public values (include/kbindex/types.h) the use cases return.
#pragma once

#include "kbindex/types.h"
#include "store/records.h"
#include "sync/sync_engine.h"
#include "worker/retry_worker.h"

namespace kb::app {

kbindex::SyncState ToPublic(SyncStatus s);
kbindex::Note ToNote(const Document& d, bool with_body);
kbindex::SkippedFile ToPublic(const SkippedFile& f);
kbindex::SyncSummary ToPublic(const SyncReport& r);
kbindex::SyncRunInfo ToPublic(const SyncRun& r);
kbindex::Failure ToFailure(const Document& d, int max_attempts);
kbindex::WorkerState ToPublic(const WorkerStatus& w);

}  // namespace kb::app
