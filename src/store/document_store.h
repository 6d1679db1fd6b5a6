// DocumentStore: the SQLite source of truth. Every SQL statement of kbindex lives behind this
// class (documents + FTS5, sources, skipped files, sync runs, meta).
//
// Concurrency: one DocumentStore may be shared by threads. Writes go through one connection, one
// at a time; reads go through a pool of read-only connections (each read one snapshot), so a
// reader never waits on a writer or on another reader. Several processes may open the same
// file: the database runs in WAL mode with a busy timeout, every write is one short BEGIN
// IMMEDIATE transaction retried while the database is busy, and no transaction is ever held
// across a call out of this class.
//
// A database file that cannot be written (permissions, read-only media) is opened read-only:
// every read works, every write fails with IOError saying so.
// Errors: every method returns a Status; SQLite exceptions never escape.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/records.h"
#include "util/clock.h"
#include "util/status.h"

namespace kb {

struct StoreOptions {
  int busy_timeout_ms = 10'000;
  Clock* clock = nullptr;  // nullptr: the real clock
  int64_t reader_mmap_bytes = 0;  // PRAGMA mmap_size of the reader connections (<= 0: off)
  int concurrent_reads = 0;       // reads that run at once, the rest wait their turn (0: one per core, at least 2)
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
  Result<std::vector<SourceInfo>> ListSources();
  Status MarkScanned(const std::string& source);

  // --- writes from scanners and the API (each call is one transaction) ---
  // Inserts or updates each document; a row whose content_hash is unchanged keeps its sync
  // state (only file mtime/size are refreshed). Changed rows become pending with attempts reset.
  // A document belongs to the source that first wrote it: a write of the same id from another
  // source changes nothing and comes back as kConflict (a folder scan never overwrites an API
  // note, nor the API a file's document).
  Result<std::vector<PutOutcome>> PutDocuments(std::span<const DocumentInput> docs);
  // Moves documents to a new id and path (files renamed or moved inside their folder): per
  // rename, true when applied. Applied only while the old row is live, belongs to the same
  // source and still has the content hash of the new file, and no row has the new id (else
  // false and nothing is written: the caller writes the file as a new document). The row keeps
  // its doc_key, created_at and history; it becomes pending, and the chunks the vector store
  // may hold under the old id are recorded (document_moves) for the next sync to move.
  Result<std::vector<bool>> RenameDocuments(std::span<const RenameInput> renames);
  // Records a new mtime/size for files whose content turned out unchanged.
  Status UpdateFileStats(std::span<const FileState> states, const std::string& source);
  // Tombstones live documents (gone from keyword search at once, pending a vector-store
  // delete). A document that never reached the vector store is purged outright.
  // Returns how many live documents were removed.
  Result<int> Tombstone(std::span<const std::string> ids);
  // Per-path state of every row (live or tombstoned) of a source.
  Result<std::vector<FileState>> LoadFileStates(const std::string& source);
  // Per-path state of the rows of `source` at, or under (as folders), the given paths.
  Result<std::vector<FileState>> LoadFileStatesUnder(const std::string& source,
                                                     std::span<const std::string> paths);
  // Live documents of `source`.
  Result<int64_t> CountLive(const std::string& source);
  // Replaces the skipped-file list of `source` with `files`.
  Status ReplaceSkipped(const std::string& source, std::span<const SkippedFile> files);
  // Replaces the skipped files of `source` at or under the given paths with `files`.
  Status ReplaceSkippedUnder(const std::string& source, std::span<const std::string> paths,
                             std::span<const SkippedFile> files);

  // --- reads ---
  Result<std::optional<Document>> Get(const std::string& id);
  // Live documents among `ids` (used to drop vector hits that SQLite no longer has), with
  // their text unless `with_text` is false (it makes their snippets).
  Result<std::vector<Document>> GetLive(std::span<const std::string> ids, bool with_text = true);
  // Runs an FTS5 MATCH expression: the `limit` best matches (bm25, title weighted 5x) with a
  // snippet each. Its cost is bounded by the query, not by a note's size (see fts_functions.h)
  // nor by the number of notes: of a query matching more than kMaxRankedMatches notes, the
  // newest kMaxRankedMatches are ranked. With `budget_ms` > 0 it is stopped after that long
  // (Timeout). Syntax errors come back as InvalidArgument with FTS5's explanation. `source`
  // restricts to one source when non-empty.
  static constexpr int kMaxRankedMatches = 300;
  Result<std::vector<KeywordHit>> KeywordSearch(const std::string& fts_expression, int limit,
                                                const std::string& source = "",
                                                const std::string& mark_open = "**",
                                                const std::string& mark_close = "**", int budget_ms = 0);
  // A cheap read that fails when the database cannot be read (health).
  Status Ping();
  Result<StoreStats> Stats(int max_attempts);
  Result<std::vector<SkippedFile>> ListSkipped(const std::string& source = "");
  Result<std::vector<Document>> ListFailed(int limit);
  // Synced documents the vector store holds only in part (sync_notice set), by id. No bodies.
  Result<std::vector<Document>> ListPartial(int limit);
  // Every row with what the vector store should or may hold for it.
  Result<std::vector<VectorExpectation>> ListVectorExpectations();
  // Former ids of renamed documents whose chunks may still be in the vector store: of the
  // given rows (newest first per row), or of every row when `keys` is empty.
  Result<std::vector<DocumentMove>> ListMoves(std::span<const int64_t> keys = {});

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
  // Tombstones removed from the vector store by passes started at or after `since_ms`.
  Result<int64_t> DeletedSince(int64_t since_ms);
  Result<std::vector<SyncRun>> RecentSyncRuns(int limit);
  // Makes failed documents due again (attempts reset). `id` empty: all failed documents;
  // `only_exhausted`: only those at or above max_attempts. Returns how many.
  Result<int> ResetFailed(const std::string& id, bool only_exhausted, int max_attempts);
  // Marks every live document pending (re-index). Returns how many.
  Result<int> MarkAllPending();
  // Marks the given documents pending (verify --repair).
  Result<int> MarkPending(std::span<const std::string> ids);

  // --- building a replacement collection (embedder switch) ---
  Status ClearShadow();
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

  // --- the collection binding (see SyncEngine) ---
  Result<CollectionMeta> ReadCollectionMeta();
  // In one transaction: checks that the collection generation is still expected_generation and
  // the active collection still `collection` (else Conflict: the caller reads again), records
  // the collection id (and, where none is recorded yet, the active name, base name and
  // embedder). When a different id was recorded, the collection was recreated behind our back:
  // every row's vector state is forgotten (live rows pending, tombstones purged), and the
  // result is true.
  Result<bool> RecordCollectionBinding(const CollectionBindingRecord& record);

  // --- database sources (app::IndexSource; source_state.cpp) ---
  // Registers a database source of `kind` ("sqlite" | "postgres"), or updates its kind.
  // Conflict when the name belongs to a folder or to the API.
  Status EnsureDatabaseSource(const std::string& name, const std::string& kind);
  // Id, content hash and liveness of every row of `source`.
  Result<std::vector<IdState>> LoadIdStates(const std::string& source);
  // Adds (or replaces) skipped entries of `source` and drops the entries of `cleared` paths.
  Status UpdateSkipped(const std::string& source, std::span<const SkippedFile> add,
                       std::span<const std::string> cleared);
  // Progress and last run of one source (empty values when it never ran), or of all.
  Result<SourceProgress> GetSourceProgress(const std::string& source);
  Result<std::vector<SourceProgress>> ListSourceProgress();
  // Records how far a source has been applied. Only after the documents it covers committed:
  // then a crash can make a run read something again, never skip it.
  Status SaveSourceProgress(const std::string& source, const SourceProgressUpdate& update);
  // Records the outcome of a run (error kept until a run succeeds).
  Status RecordSourceRun(const std::string& source, const SourceRunRecord& run);
  // One run per source at a time, across processes: takes the source's lease for `token` until
  // `until_ms` when it is free, expired, or held by a process that no longer exists (true), or
  // not (false). Taking it again with the same token extends it.
  Result<bool> AcquireSourceLease(const std::string& source, const std::string& token, int64_t until_ms);
  Status ReleaseSourceLease(const std::string& source, const std::string& token);
  // Documents and skipped entries per source, with each source's kind.
  Result<std::vector<SourceCounts>> CountBySource();

  // --- meta key/value ---
  Result<std::optional<std::string>> GetMeta(const std::string& key);
  // Several keys read together (one snapshot); the values in the order of `keys`.
  Result<std::vector<std::optional<std::string>>> GetMetas(std::span<const std::string> keys);
  Status SetMeta(const std::string& key, const std::string& value);
  Status DeleteMeta(const std::string& key);

  // --- integrity ---
  // PRAGMA integrity_check plus the FTS5 integrity-check against the documents table.
  Status CheckIntegrity();

  // --- keyword index upkeep ---
  // Merges the FTS5 index into one segment. A bulk write leaves a dozen segments, and every
  // keyword search walks every segment for every word; merged, walking a query's matches costs
  // half (a whole keyword search through the API ~30% less).
  // It rewrites the index (2.5 s and a few MB at 100,000 notes) in one write transaction, so it
  // belongs after a bulk write, not after each note (FTS5's own merging keeps a trickle of
  // small segments in check). A no-op when the index is already one segment.
  Status OptimizeKeywordIndex();
  // A write of at least this many notes is a bulk write.
  static constexpr int64_t kBulkWriteNotes = 1000;
  // What every bulk writer (folder scan, database source run) calls when it is done: merges
  // when `notes_written` reached `bulk`. A failure is logged, not returned: search works either
  // way, it only costs speed.
  void MergeKeywordIndexAfter(int64_t notes_written, int64_t bulk = kBulkWriteNotes);
  // How many segments the FTS5 index has now.
  Result<int64_t> KeywordIndexSegments();

 private:
  struct Impl;
  DocumentStore(std::string path, Clock* clock, std::unique_ptr<Impl> impl);

  std::string path_;
  Clock* clock_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kb
