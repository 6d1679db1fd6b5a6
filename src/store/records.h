// The values DocumentStore reads and writes: documents and their sync state, sources, skipped
// files, sync runs, and what a sync pass claims and records.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kb {

enum class SyncStatus { kPending, kSynced, kFailed };
const char* SyncStatusName(SyncStatus s);

// What a scanner or the API writes.
struct DocumentInput {
  std::string id;
  std::string source;
  std::optional<std::string> path;  // relative to the source root; nullopt for API notes
  std::string title;
  std::string body;
  std::string metadata_json = "{}";  // a JSON object
  std::string content_hash;          // changes whenever title, body or metadata change
  std::optional<int64_t> file_mtime_ns;
  std::optional<int64_t> file_size;
};

// One row of `documents`.
struct Document {
  int64_t key = 0;
  std::string id;
  std::string source;
  std::optional<std::string> path;
  std::string title;
  std::string body;
  std::string metadata_json;
  std::string content_hash;
  std::optional<int64_t> file_mtime_ns;
  std::optional<int64_t> file_size;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::optional<int64_t> deleted_at;
  SyncStatus sync_status = SyncStatus::kPending;
  int sync_attempts = 0;
  std::optional<int64_t> last_sync_attempt;
  std::optional<std::string> sync_error;
  std::optional<std::string> synced_hash;
  int synced_chunks = 0;
  int chunks_hwm = 0;
  std::optional<std::string> sync_notice;  // e.g. only part of it is in the semantic index

  bool live() const { return !deleted_at.has_value(); }
};

enum class PutOutcome {
  kInserted,   // new document, now pending
  kChanged,    // content changed, now pending
  kRestored,   // a tombstone came back, now pending
  kUnchanged,  // same content hash: nothing written but (maybe) file mtime/size
  kConflict,   // the id belongs to another source: nothing written
};

// A file that moved: the row of `old_id` takes the id, path and text of `doc` (whose
// content_hash must be the row's), keeping its doc_key, created_at and history.
struct RenameInput {
  std::string old_id;
  DocumentInput doc;
};

// A former id of a document whose chunks may still be in the vector store (ids
// "<old_id>#0" .. "#<chunks-1>"), until a sync records the document under its new id.
struct DocumentMove {
  int64_t key = 0;
  std::string old_id;
  int chunks = 0;
  int64_t moved_at = 0;
};

// What the scanner needs to decide, without reading a file, whether it changed.
struct FileState {
  std::string path;
  std::string content_hash;
  int64_t mtime_ns = -1;
  int64_t size = -1;
  bool live = false;
};

struct SourceInfo {
  std::string name;
  std::string kind;  // "folder" | "api" | "sqlite" | "postgres"
  std::optional<std::string> root;
  int64_t created_at = 0;
  std::optional<int64_t> last_scan_at;
  int64_t live_documents = 0;
};

struct SkippedFile {
  std::string source;
  std::string path;
  std::string reason;  // stable code: invalid_utf8, binary, too_large, unreadable, ...
  std::string detail;  // human-readable
  std::optional<int64_t> file_size;
  std::optional<int64_t> file_mtime_ns;
  int64_t seen_at = 0;
};

struct KeywordHit {
  std::string id;
  std::string title;
  std::optional<std::string> path;
  std::string source;
  std::string snippet;
  double score = 0;  // bm25 negated: larger is better
  SyncStatus sync_status = SyncStatus::kPending;
};

struct SyncRun {
  int64_t id = 0;
  std::string kind;
  int64_t started_at = 0;
  std::optional<int64_t> finished_at;
  int64_t attempted = 0;
  int64_t synced = 0;
  int64_t failed = 0;
  int64_t deleted = 0;
  int64_t batches = 0;
  std::optional<std::string> error;
};

struct StoreStats {
  int64_t live = 0;
  int64_t tombstoned = 0;
  int64_t synced = 0;
  int64_t pending = 0;
  int64_t failed = 0;
  int64_t exhausted = 0;  // failed with attempts >= max_attempts: not retried automatically
  int64_t partial = 0;    // synced, but only in part (a notice says why)
  int64_t skipped = 0;
  std::optional<int64_t> oldest_pending_at;  // updated_at of the oldest unsynced row
  std::optional<SyncRun> last_sync_run;
};

// Which unsynced documents a sync pass takes: pending rows, and failed rows below
// max_attempts (once their backoff elapsed), oldest first.
struct DueQuery {
  int limit = 50;
  int max_attempts = 3;          // rows with sync_attempts >= this are left alone
  bool include_failed = true;    // failed rows below max_attempts
  bool respect_backoff = true;   // failed rows only once their backoff has elapsed
  int64_t backoff_base_ms = 30'000;
  int64_t backoff_max_ms = 3'600'000;
  // Only rows not attempted since this time (a pass sets it to its start, so it never takes a
  // row twice, including rows it has claimed and not yet finished).
  std::optional<int64_t> attempted_before;
  // Rows leased by another pass (ClaimForSend) are never due.
};

// A document about to be sent: a live row with this content_hash (upsert of `chunks` chunks),
// or the tombstone with this deleted_at (delete).
struct SendClaim {
  int64_t key = 0;
  std::string content_hash;
  int chunks = 0;
  std::optional<int64_t> deleted_at;
  std::string id;  // when set, the row must still have this id (it was not renamed meanwhile)
};

// The result of one document's trip to the vector store.
struct SyncOutcome {
  enum class Kind { kSynced, kFailed, kPurged };
  Kind kind = Kind::kSynced;
  int64_t key = 0;
  std::string sent_hash;    // compare-and-set: only applies while content_hash still equals it
  int chunks = 0;           // kSynced: chunks now in the vector store
  std::optional<int64_t> deleted_at;  // kPurged: the tombstone that was deleted remotely
  std::string error;        // kFailed
  std::string id;           // when set, applies only while the row still has this id (renames)
  std::string notice;       // kSynced: what the vector store does not hold of it ("" when all)
};

// Result of applying outcomes: how many actually changed state.
struct SyncApplyResult {
  int synced = 0;
  int failed = 0;
  int purged = 0;
  int superseded = 0;  // edited (or restored) while in flight: left pending
};

// What the vector store should (or may) hold for one row, for verify.
struct VectorExpectation {
  std::string id;
  bool live = true;
  SyncStatus sync_status = SyncStatus::kPending;
  std::optional<std::string> synced_hash;
  int synced_chunks = 0;  // chunks that must exist (when synced) with synced_hash
  int chunks_hwm = 0;     // chunks that may exist (sent, maybe not yet recorded)
};

// What the meta table says about the vector side.
struct CollectionMeta {
  std::optional<std::string> embedder;         // Embedder::Id() of the vectors
  std::optional<std::string> collection;       // the active collection's name
  std::optional<std::string> collection_id;    // its server-side id
  std::optional<std::string> collection_base;  // the configured name
  int64_t generation = 0;                      // bumped by every switch of collections
};

// A sync engine's binding to the active collection, to record (see RecordCollectionBinding).
struct CollectionBindingRecord {
  int64_t expected_generation = 0;
  std::string collection;       // must still be the active name (or none be recorded)
  std::string collection_id;
  std::string collection_base;  // recorded when none is
  std::string embedder;         // recorded (with its dimensions, when > 0) when none is
  int embedder_dims = 0;
};

// ---- database sources (SQLite files and PostgreSQL tables of other applications)

// What a database source needs to know about a document it wrote, without reading its text.
struct IdState {
  std::string id;
  std::string content_hash;
  bool live = false;
};

// Outbox event ids that were skipped over (their transactions had not committed yet, or rolled
// back): read again on every run until they appear or `first_seen_ms` is older than the wait.
struct EventGap {
  int64_t lo = 0;
  int64_t hi = 0;
  int64_t first_seen_ms = 0;
};

// How far a database source has been applied, and how its last run went.
struct SourceProgress {
  std::string source;
  std::optional<int64_t> watermark_ms;  // incremental: largest updated_at applied
  std::optional<int64_t> event_cursor;  // outbox: every event up to here applied or in a gap
  std::vector<EventGap> event_gaps;
  std::optional<int64_t> last_run_at;
  std::string last_mode;
  std::optional<int64_t> last_ok_at;
  std::optional<int64_t> last_full_at;
  std::optional<std::string> last_error;  // set while the source is failing
  std::optional<int64_t> error_since;
};

// A progress step; unset fields are left as they are.
struct SourceProgressUpdate {
  std::optional<int64_t> watermark_ms;
  std::optional<int64_t> event_cursor;
  std::optional<std::vector<EventGap>> event_gaps;
};

// The outcome of one run of a database source.
struct SourceRunRecord {
  std::string mode;   // full | incremental | outbox | item
  bool ok = true;
  std::string error;  // when !ok; must not hold credentials
  bool complete_full = false;  // a full read that reached the end
};

// Documents of one source by state (stats per source).
struct SourceCounts {
  std::string source;
  std::string kind;
  std::optional<std::string> root;
  int64_t live = 0;
  int64_t tombstoned = 0;
  int64_t synced = 0;
  int64_t pending = 0;
  int64_t failed = 0;
  int64_t skipped = 0;
};

}  // namespace kb
