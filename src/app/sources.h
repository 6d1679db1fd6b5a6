// Use case: index a database source (notes in another application's SQLite file or PostgreSQL
// database). After the read it is the same flow as folders: rows become documents with the
// same checks as files, are written through DocumentStore in batched transactions as pending,
// and the one SyncEngine follows the writes (or the worker syncs them later). `kbindex index
// --source NAME`, `POST /v1/index {"source": NAME}`, the library's IndexSource and the
// worker's source poller are this one function.
//
// Modes:
//   full         every row, by id; documents whose row is gone (or marked deleted) are
//                removed, guarded by the safety valve (more than 90% of the source, or a
//                source that reads as empty); a complete read sets the watermark / outbox cursor.
//   incremental  rows with updated_at >= watermark - overlap, by (updated_at, id); the watermark
//                (largest updated_at applied) moves only after the page's documents committed.
//   outbox       events after the cursor, by event id; each event's note is read again and its
//                current state applied (so duplicates, replays and out-of-order events change
//                nothing, and NoteRestored brings a removed note back). Event ids skipped over
//                (transactions not yet committed) are waited for up to overlap_s.
//   item         one row by id, applied as it is now (removed when gone).
// A source's first run is always full. One run per source at a time, across processes.
#pragma once

#include <string>
#include <vector>

#include "app/services.h"
#include "kbindex/types.h"

namespace kb::app {

// Problems reading the source (unreachable, safety valve, another run in progress) are in the
// report (SourceReport::status) and recorded for stats and health; nothing indexed from the
// source changes when it cannot be read. Fails as a whole for a source that is not configured,
// an impossible mode, or when SQLite fails.
Result<kbindex::SourceReport> IndexSource(Services& s, const kbindex::SourceIndexRequest& request);

// Every source (folders, the API, the configured databases) with its counts and, for database
// sources, its progress and last run.
Result<std::vector<kbindex::SourceState>> ListSourceStates(Services& s);

}  // namespace kb::app
