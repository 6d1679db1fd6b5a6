// The values kbindex's operations take and return. Plain structs of standard types: they are
// what the library's API (kbindex.h), the CLI's `--json` output and the HTTP API describe.
// Times are Unix milliseconds (UTC).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "kbindex/status.h"

namespace kbindex {

// How far Chroma has caught up with a document.
enum class SyncState { kPending, kSynced, kFailed };
KBINDEX_EXPORT const char* SyncStateName(SyncState s);  // "pending" | "synced" | "failed"

// ---------------------------------------------------------------- notes

struct NoteSync {
  SyncState state = SyncState::kPending;
  int attempts = 0;
  std::optional<int64_t> last_attempt_ms;
  std::optional<std::string> error;        // why the last attempt failed
  std::optional<std::string> synced_hash;  // the content hash Chroma holds
  int chunks = 0;                          // chunks Chroma holds for synced_hash
  std::optional<std::string> notice;       // what Chroma does not hold of it, and why
};

// One document as SQLite knows it.
struct Note {
  std::string id;      // "<source>:<relative path>" for files, the caller's id for API notes
  std::string source;  // folder source name, or "api"
  std::optional<std::string> path;  // relative to the source folder; none for API notes
  std::string title;
  std::string body;                   // empty unless asked for
  std::string metadata_json = "{}";   // a JSON object (frontmatter or API metadata)
  std::string content_hash;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  std::optional<int64_t> deleted_ms;  // set while a deletion waits for Chroma
  std::optional<int64_t> file_size;
  NoteSync sync;
};

// A note pushed by the application (source "api").
struct NoteInput {
  std::string id;  // 1..512 of letters, digits and . _ - ~ : / @ +
  std::string title;  // empty: the first heading, else the id
  std::string body;   // UTF-8, at most Options::max_file_bytes
  std::string metadata_json = "{}";  // object of strings, numbers, booleans, or lists of them
};

enum class WriteOutcome { kCreated, kUpdated, kRestored, kUnchanged };
KBINDEX_EXPORT const char* WriteOutcomeName(WriteOutcome o);  // created|updated|restored|unchanged

struct PutResult {
  std::string id;
  WriteOutcome outcome = WriteOutcome::kCreated;
  SyncState sync_state = SyncState::kPending;
  std::string content_hash;
};

struct DeleteResult {
  std::string id;
  // True when the note never reached Chroma and its row is gone at once; false when the
  // deletion waits for the next sync (the note is out of every search already).
  bool purged = false;
};

// ---------------------------------------------------------------- indexing folders

struct SkippedFile {
  std::string source;
  std::string path;
  std::string reason;  // stable code: invalid_utf8, binary, too_large, unreadable, id_conflict, ...
  std::string detail;  // human-readable
  std::optional<int64_t> size;
  int64_t seen_ms = 0;
};

// One sync pass.
struct SyncSummary {
  int64_t run_id = 0;
  int64_t attempted = 0;  // documents taken (upserts and deletes)
  int64_t synced = 0;
  int64_t failed = 0;
  int64_t deleted = 0;     // removed from Chroma and purged
  int64_t superseded = 0;  // changed while in flight: left pending for the next pass
  int64_t batches = 0;
  int64_t chunks = 0;      // chunks upserted
  int64_t reused = 0;      // of which moved with their stored vectors (renamed notes: no embedding)
  bool stopped = false;    // ended early by cancellation
  bool unreachable = false;  // Chroma did not answer (a worker pass then touches nothing)
  Status error;            // the first error, ok when there was none
};

struct FolderReport {
  std::string folder;  // as given
  std::string source;
  std::string root;    // absolute
  int64_t files = 0;   // files matching the include patterns
  int64_t added = 0;
  int64_t changed = 0;
  int64_t restored = 0;
  int64_t unchanged = 0;
  int64_t removed = 0;
  int64_t renamed = 0;  // notes that moved to a new path: kept (history, vectors), not removed + added
  int64_t files_read = 0;
  std::vector<SkippedFile> skipped;
  Status status;  // not ok: this folder was not (fully) indexed, e.g. the safety valve tripped
};

struct IndexProgress {
  std::string phase;   // "scan" | "sync"
  std::string folder;  // scan: the folder being scanned
  int64_t files = 0;   // scan: files seen so far
  int64_t written = 0; // scan: documents written so far
  SyncSummary sync;    // sync: the running totals
};

struct IndexRequest {
  std::vector<std::string> folders;  // empty: Options::folders
  std::string source_name;           // empty: each folder's base name
  bool allow_mass_delete = false;    // let a scan remove more than 90% of a source
  bool sync = true;                  // false: write SQLite only (sync later)
  std::function<void(const IndexProgress&)> on_progress;  // called from worker threads
  const std::atomic<bool>* cancel = nullptr;  // finish the batch in hand, then return
};

struct IndexReport {
  std::vector<FolderReport> folders;
  std::optional<SyncSummary> sync;  // the sync pass that followed the scan, when it ran
  Status sync_status;  // why there was no sync (Chroma unavailable); the notes wait as pending
  // True when every folder was indexed and every document synced.
  bool ok() const {
    for (const FolderReport& f : folders) {
      if (!f.status.ok()) return false;
    }
    return sync_status.ok() && (!sync || (sync->failed == 0 && !sync->stopped));
  }
};

// ---------------------------------------------------------------- database sources

// Read a configured database source (Options::sources) into SQLite, then sync.
struct SourceIndexRequest {
  std::string source;  // the source's name
  std::string mode;    // "" (the source's configured mode) | full | incremental | outbox
  std::string item;    // one row id: read that row and apply it (mode is then ignored)
  bool allow_mass_delete = false;  // let a full read remove more than 90% of the source
  bool sync = true;                // false: write SQLite only (sync later)
  std::function<void(const IndexProgress&)> on_progress;  // phase "read": folder = source name
  const std::atomic<bool>* cancel = nullptr;  // finish the page in hand, then return
};

struct SourceReport {
  std::string source;
  std::string kind;      // sqlite | postgres
  std::string location;  // where the rows come from, never with credentials
  std::string mode;      // full | incremental | outbox | item (a first run is always full)
  int64_t rows = 0;      // rows read
  int64_t events = 0;    // outbox events read
  int64_t added = 0;
  int64_t changed = 0;
  int64_t restored = 0;
  int64_t unchanged = 0;
  int64_t removed = 0;
  std::vector<SkippedFile> skipped;  // rows that could not be indexed (path: the row id)
  std::optional<int64_t> watermark_ms;  // incremental: largest updated_at applied
  std::optional<int64_t> event_cursor;  // outbox: events up to here are applied or awaited
  int64_t awaited_event_ranges = 0;     // outbox: ranges of event ids not committed yet
  // Not ok: the source was not (fully) read: unreachable, safety valve, stopped. What was read
  // before stays written; nothing is removed and no watermark moves past what was written.
  Status status;
  std::optional<SyncSummary> sync;  // the sync pass that followed, when it ran
  Status sync_status;               // why there was no sync (Chroma unavailable)
  bool ok() const { return status.ok() && sync_status.ok() && (!sync || (sync->failed == 0 && !sync->stopped)); }
};

// One source as `stats` shows it: every source (folders, the API, databases) with its document
// counts; database sources also with how far they have been read and how their last run went.
struct SourceState {
  std::string name;
  std::string kind;      // folder | api | sqlite | postgres
  std::string location;  // a folder's root, or the database (never with credentials)
  int64_t documents = 0;
  int64_t tombstoned = 0;
  int64_t synced = 0;
  int64_t pending = 0;
  int64_t failed = 0;
  int64_t skipped = 0;
  // Database sources only.
  bool configured = false;  // in this configuration's sources
  std::string mode;         // the mode the worker runs
  int interval_s = 0;       // the worker's poll interval
  std::optional<int64_t> last_run_ms;
  std::optional<int64_t> last_success_ms;
  std::optional<int64_t> last_full_ms;
  std::string error;  // why the last run failed (empty when it succeeded)
  std::optional<int64_t> error_since_ms;
  std::optional<int64_t> watermark_ms;
  std::optional<int64_t> event_cursor;
  int64_t awaited_event_ranges = 0;
};

// ---------------------------------------------------------------- search

enum class SearchMode { kKeyword, kSemantic, kHybrid };
KBINDEX_EXPORT const char* SearchModeName(SearchMode m);
KBINDEX_EXPORT Result<SearchMode> ParseSearchMode(const std::string& s);

struct SearchRequest {
  std::string query;
  std::optional<SearchMode> mode;  // none: hybrid when Chroma is available, else keyword
  int k = 10;                      // 1..1000
  std::string source;              // only this source; empty: all
  bool raw = false;                // the query is FTS5 syntax (keyword side)
  std::string mark_open = "**";    // around matched words in keyword snippets
  std::string mark_close = "**";
};

struct SearchHit {
  std::string id;
  std::string title;
  std::optional<std::string> path;
  std::string source;
  std::string snippet;
  double score = 0;
  SyncState sync_state = SyncState::kPending;
  int keyword_rank = 0;   // 1-based; 0: not found by keyword search
  int semantic_rank = 0;  // 1-based; 0: not found by semantic search
  std::optional<double> similarity;  // cosine similarity of the best chunk (semantic hits)
  std::string heading;    // heading path of the best semantic chunk
};

struct SearchResults {
  SearchMode mode = SearchMode::kKeyword;
  std::vector<SearchHit> hits;
  bool degraded = false;  // the semantic side was unavailable: keyword results only
  std::string degraded_reason;
};

// ---------------------------------------------------------------- state and maintenance

struct SyncRunInfo {
  int64_t id = 0;
  std::string kind;  // index | sync | worker | reindex | repair | api-sync | ...
  int64_t started_ms = 0;
  std::optional<int64_t> finished_ms;
  int64_t attempted = 0;
  int64_t synced = 0;
  int64_t failed = 0;
  int64_t deleted = 0;
  int64_t batches = 0;
  std::optional<std::string> error;
};

struct ChromaState {
  bool reachable = false;
  std::optional<int64_t> count;  // records in the active collection
  std::string url;
  std::string error;
};

// The index canary's verdict: whether Chroma's vector index still answers. A few stored records,
// sampled at random, are queried with their own vectors and must come back first, and so must a
// fixed probe record kbindex owns. Ids and hashes can all be right (verify's drift check) while
// the index answers nothing; this is what notices.
struct IndexCheck {
  bool ok = true;
  std::string collection;
  int64_t records = 0;     // records in the collection (the probe included)
  int checked = 0;         // self-queries made
  int self_misses = 0;     // answered without the record itself first
  int empty_answers = 0;   // answered with nothing
  bool probe_found = false;
  std::string reason;      // why not ok, and what to do
  int64_t checked_at_ms = 0;
  int64_t duration_ms = 0;
};

// ---------------------------------------------------------------- watching folders

// One folder followed by the watcher.
struct WatchedFolder {
  std::string folder;       // as given
  std::string source;       // known after its first scan
  std::string root;         // absolute
  bool watching = false;    // its watches are in place (false: missing or unmounted, looked for again)
  int64_t directories = 0;  // folders under watch
  std::string error;        // why it is not fully followed right now (missing, safety valve, watch limit)
};

// What the folder watcher (`kbindex watch`, `kbindex serve --watch`) is doing. Published in the
// database (at most a second behind), so that any process's stats and health can show it.
struct WatchState {
  bool running = false;
  int64_t pid = 0;  // the watching process
  std::optional<int64_t> started_ms;
  std::vector<WatchedFolder> folders;
  int64_t events = 0;     // file-system events seen
  int64_t applied = 0;    // changed paths brought into the index (files and folders)
  int64_t batches = 0;    // sets of changes applied
  int64_t reconciles = 0; // full scans: at start, after lost events, on a watch limit, periodic
  int64_t overflows = 0;  // kernel event-queue overflows (each healed by a full scan)
  std::optional<int64_t> last_reconcile_ms;
  std::string last_reconcile_reason;
  std::optional<int64_t> last_change_ms;  // when changes were last applied
  std::string last_error;
  std::optional<int64_t> updated_ms;      // when this state was published
};

struct WatchRequest {
  std::vector<std::string> folders;  // empty: Options::folders
  std::string source_name;           // empty: each folder's base name
  int quiet_ms = 0;                  // 0: Options::watch_quiet_ms
  int reconcile_s = -1;              // -1: Options::watch_reconcile_s; 0: no periodic full scan
};

struct Stats {
  int64_t documents = 0;   // live
  int64_t tombstoned = 0;  // deleted, waiting for their Chroma delete
  int64_t synced = 0;
  int64_t pending = 0;
  int64_t failed = 0;
  int64_t exhausted = 0;   // failed with attempts used up: wait for `retry`
  int64_t partial = 0;     // synced in part only (too many chunks): see Note's sync notice
  int max_attempts = 3;
  int64_t skipped = 0;
  std::optional<SyncRunInfo> last_sync_run;
  std::optional<int64_t> oldest_pending_age_s;
  std::string embedder;
  std::string collection;
  std::optional<ChromaState> chroma;
  std::vector<SourceState> sources;  // per source (added with database sources)
  std::optional<IndexCheck> index_check;  // the canary (at most a minute old), when Chroma answers
  std::optional<WatchState> watch;  // when a watcher ever ran on this database
};

struct Failure {
  std::string id;
  int attempts = 0;
  bool exhausted = false;
  std::optional<int64_t> last_attempt_ms;
  bool deleted = false;  // the failing operation is the note's deletion
  std::string error;
};

struct WorkerOptions {
  int64_t interval_ms = 0;  // 0: Options::worker_interval_s
  int batch = 0;            // 0: Options::worker_batch
};

struct WorkerState {
  bool running = false;
  int64_t passes = 0;
  std::optional<int64_t> last_pass_ms;
  std::optional<int64_t> next_pass_ms;
  int consecutive_errors = 0;
  std::string last_error;
};

struct Health {
  bool ok = true;
  std::vector<std::string> reasons;  // what is degraded, one line each
  bool sqlite_ok = true;
  std::string sqlite_error;
  bool chroma_ok = false;
  std::string chroma_error;
  std::string chroma_url;
  std::optional<WorkerState> worker;
  std::vector<SourceState> sources;  // configured database sources and their last run
  std::optional<IndexCheck> index_check;  // a failed canary makes the health degraded
  std::optional<WatchState> watch;  // when a watcher ever ran on this database
};

struct ReindexRequest {
  // Switch to another embedder (builds a new collection beside the active one, then swaps):
  // "hash" | "ollama" | "openai", with model/url/dims as for Options. Empty: re-embed in place
  // with the configured embedder (which switches when it differs from the recorded one).
  std::string embedder;
  std::string embed_model;
  std::string embed_url;
  int embed_dims = 0;
  // Rebuild the collection with the current embedder: a fresh collection built beside the
  // active one, then swapped in (as an embedder switch does). For a vector index that no longer
  // answers (see IndexCheck); search answers throughout.
  bool rebuild = false;
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(const std::string& phase, const SyncSummary&)> on_progress;
};

struct ReindexReport {
  std::string collection;           // active when done
  std::string previous_collection;  // set when a switch happened
  std::string embedder;             // active when done
  bool switched = false;  // a new collection is active (embedder switch or rebuild)
  bool rebuilt = false;   // ... because a rebuild was asked for
  bool dropped_previous = false;
  int64_t documents = 0;
  int64_t chunks = 0;
  int64_t failed = 0;
  int64_t orphans_deleted = 0;
};

struct VerifyReport {
  int64_t rows = 0;
  int64_t unsynced_rows = 0;
  int64_t expected_chunks = 0;
  int64_t chroma_chunks = 0;
  int64_t missing = 0;  // chunks a synced document must have, absent from Chroma
  int64_t stale = 0;    // chunks carrying another content hash
  int64_t orphans = 0;  // records no row accounts for
  std::vector<std::string> drifted_documents;  // a sample
  std::vector<std::string> orphan_sample;
  std::string integrity = "ok";  // SQLite + FTS5 integrity, or what is wrong
  bool consistent() const { return missing == 0 && stale == 0 && orphans == 0 && integrity == "ok"; }
};

struct VerifyRequest {
  // Mark drifted documents pending, delete orphans, sync, verify again; when the index canary
  // fails, rebuild the collection beside the active one instead (then check again).
  bool repair = false;
};

struct VerifyResult {
  VerifyReport before;
  std::optional<SyncSummary> repair;
  std::optional<VerifyReport> after;
  std::optional<IndexCheck> index_check;        // the canary, before any repair
  std::optional<ReindexReport> rebuild;         // when repair rebuilt the collection
  std::optional<IndexCheck> index_check_after;  // the canary after the repair
  // True when the index is (now) consistent with SQLite and answers.
  bool ok() const {
    const bool consistent = after ? after->consistent() : before.consistent();
    const std::optional<IndexCheck>& check = index_check_after ? index_check_after : index_check;
    return consistent && (!check || check->ok);
  }
  // The canary failed (and was not repaired): "index_broken".
  bool index_broken() const {
    const std::optional<IndexCheck>& check = index_check_after ? index_check_after : index_check;
    return check && !check->ok;
  }
};

}  // namespace kbindex
