// DocumentStore: the SQLite source of truth. Every SQL statement of kbindex lives behind this
// class (documents + FTS5, sources, skipped files, sync runs, meta).
//
// Concurrency: one DocumentStore may be shared by threads (calls are serialised by an internal
// mutex). Several processes may open the same file: the database runs in WAL mode with a busy
// timeout, every write is one short BEGIN IMMEDIATE transaction retried while the database is
// busy, and no transaction is ever held across a call out of this class.
// Errors: every method returns a Status; SQLite exceptions never escape.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "util/clock.h"
#include "util/status.h"

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

  bool live() const { return !deleted_at.has_value(); }
};

enum class PutOutcome {
  kInserted,   // new document, now pending
  kChanged,    // content changed, now pending
  kRestored,   // a tombstone came back, now pending
  kUnchanged,  // same content hash: nothing written but (maybe) file mtime/size
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
  std::string kind;  // "folder" | "api"
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

struct StoreOptions {
  int busy_timeout_ms = 10'000;
  Clock* clock = nullptr;  // nullptr: the real clock
};

class DocumentStore {
 public:
  // Opens (creating if needed) the database at `path` (":memory:" for tests) and applies
  // migrations. Fails with InvalidArgument if the file was written by a newer kbindex.
  static Result<std::unique_ptr<DocumentStore>> Open(const std::string& path,
                                                     const StoreOptions& options = {});
  ~DocumentStore();
  DocumentStore(const DocumentStore&) = delete;
  DocumentStore& operator=(const DocumentStore&) = delete;

  const std::string& path() const { return path_; }
  Clock* clock() const { return clock_; }

  // --- sources ---
  // The source registered for the absolute folder `root`, registering it under
  // `preferred_name` (made unique with a suffix) when it is new.
  Result<SourceInfo> EnsureFolderSource(const std::string& root, const std::string& preferred_name);
  Status EnsureApiSource(const std::string& name);
  Result<std::optional<SourceInfo>> GetSource(const std::string& name);
  Result<std::vector<SourceInfo>> ListSources();
  Status MarkScanned(const std::string& source);

  // --- writes from scanners and the API (each call is one transaction) ---
  // Inserts or updates each document; a row whose content_hash is unchanged keeps its sync
  // state (only file mtime/size are refreshed). Changed rows become pending with attempts reset.
  Result<std::vector<PutOutcome>> PutDocuments(std::span<const DocumentInput> docs);
  // Records a new mtime/size for files whose content turned out unchanged.
  Status UpdateFileStats(std::span<const FileState> states, const std::string& source);
  // Tombstones live documents (gone from keyword search at once, pending a vector-store
  // delete). A document that never reached the vector store is purged outright.
  // Returns how many live documents were removed.
  Result<int> Tombstone(std::span<const std::string> ids);
  // Per-path state of every row (live or tombstoned) of a source.
  Result<std::vector<FileState>> LoadFileStates(const std::string& source);
  // Replaces the skipped-file list of `source` with `files`.
  Status ReplaceSkipped(const std::string& source, std::span<const SkippedFile> files);

  // --- reads ---
  Result<std::optional<Document>> Get(const std::string& id);
  Result<std::vector<Document>> GetByKeys(std::span<const int64_t> keys);
  // Live documents among `ids` (used to drop vector hits that SQLite no longer has).
  Result<std::vector<Document>> GetLive(std::span<const std::string> ids);
  // Runs an FTS5 MATCH expression. Syntax errors come back as InvalidArgument with FTS5's
  // explanation. `source` restricts to one source when non-empty.
  Result<std::vector<KeywordHit>> KeywordSearch(const std::string& fts_expression, int limit,
                                                const std::string& source = "",
                                                const std::string& mark_open = "**",
                                                const std::string& mark_close = "**");
  Result<StoreStats> Stats(int max_attempts);
  Result<std::vector<SkippedFile>> ListSkipped(const std::string& source = "");
  Result<std::vector<Document>> ListFailed(int limit);
  // Every row with what the vector store should or may hold for it.
  Result<std::vector<VectorExpectation>> ListVectorExpectations();
  // Ids of all rows (live or tombstoned).
  Result<int64_t> CountRows();

  // --- sync bookkeeping (used by SyncEngine and the retry worker) ---
  Result<std::vector<Document>> DueForSync(const DueQuery& query);
  // Claims documents for sending: stamps last_sync_attempt, and raises chunks_hwm to the chunk
  // count about to be sent, so that a crash between the send and its outcome never leaves
  // chunks that a later shrink or delete would not know to remove. Returns, per claim, whether
  // the row is still as it was read (same content_hash and liveness); only confirmed documents
  // may be sent.
  //
  // A claim also takes the document's send lease for this process until `lease_until_ms`;
  // a document leased by another live pass cannot be claimed (nor is it due) until that pass
  // records its outcome, so two versions of one document are never in flight at once.
  // (The default lease has already expired: tests that claim by hand block nothing.)
  Result<std::vector<bool>> ClaimForSend(std::span<const SendClaim> claims, int64_t lease_until_ms = 0);
  // Clears leases held by processes that no longer exist (crashed passes). Returns how many.
  Result<int> ReleaseDeadLeases();
  // Records outcomes in one transaction and releases this process's leases on those rows.
  // With `generation`, applies nothing (all superseded) when the active collection changed
  // since the caller prepared (meta collection_generation).
  Result<SyncApplyResult> ApplySyncOutcomes(std::span<const SyncOutcome> outcomes,
                                            std::optional<int64_t> generation = std::nullopt);
  Result<int64_t> BeginSyncRun(const std::string& kind);
  Status FinishSyncRun(const SyncRun& run);
  Result<std::optional<SyncRun>> LastSyncRun();
  Result<std::vector<SyncRun>> RecentSyncRuns(int limit);
  // Makes failed documents due again (attempts reset). `id` empty: all failed documents;
  // `only_exhausted`: only those at or above max_attempts. Returns how many.
  Result<int> ResetFailed(const std::string& id, bool only_exhausted, int max_attempts);
  // Marks every live document pending (re-index). Returns how many.
  Result<int> MarkAllPending();
  // Marks the given documents pending (verify --repair).
  Result<int> MarkPending(std::span<const std::string> ids);
  // The vector store lost everything (collection recreated): every live row becomes pending
  // with nothing synced, every tombstone is purged.
  Status ForgetVectorState();

  // --- building a replacement collection (embedder switch) ---
  Status ClearShadow();
  // Live documents with doc_key > after_key, by doc_key (bodies included).
  Result<std::vector<Document>> LivePage(int64_t after_key, int limit);
  // Live documents (doc_key > after_key, by doc_key) that the shadow collection does not hold
  // in their current version.
  Result<std::vector<Document>> ShadowBehind(int64_t after_key, int limit);
  Status RecordShadow(std::span<const SendClaim> sent);
  // Ids of every live row and its shadow chunk count (what the new collection must hold).
  Result<std::vector<std::pair<std::string, int>>> ShadowExpectations();
  // Makes the shadow collection the active one, in one transaction: rewrites every row's
  // synced state from shadow_sync (rows whose content moved on become pending), sets the
  // given meta keys, and empties shadow_sync.
  Status SwitchToShadow(const std::vector<std::pair<std::string, std::string>>& meta);

  // --- meta key/value ---
  Result<std::optional<std::string>> GetMeta(const std::string& key);
  Status SetMeta(const std::string& key, const std::string& value);
  Status DeleteMeta(const std::string& key);

  // --- integrity ---
  // PRAGMA integrity_check plus the FTS5 integrity-check against the documents table.
  Status CheckIntegrity();

 private:
  struct Impl;
  DocumentStore(std::string path, Clock* clock, std::unique_ptr<Impl> impl);

  std::string path_;
  Clock* clock_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kb
