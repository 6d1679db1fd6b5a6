// kbindex: a local-first index of notes. SQLite (with FTS5 keyword search) is the source of
// truth; a ChromaDB collection is a derived semantic index that converges to it. Every note
// records how far Chroma has caught up with it (pending, synced, or failed with the reason),
// so nothing is ever silently lost or silently stale.
//
// This is the library a desktop application links (CMake: find_package(kbindex CONFIG),
// target kbindex::kbindex; pkg-config: kbindex). The kbindex command line is its first client.
//
//   auto db = kbindex::Database::Open(options);          // options: see kbindex/options.h
//   if (!db.ok()) { ... db.status().message() ... }
//   (*db)->IndexFolders({.folders = {"/home/me/notes"}});
//   auto hits = (*db)->Search({.query = "sourdough starter"});
//
// Errors are values (kbindex/status.h); nothing throws. A Database is safe to use from many
// threads at once: reads run concurrently, writes are serialised by SQLite (one short
// transaction each, never held across a network call), one sync pass runs at a time. Several
// processes may open the same database file. Callbacks (progress) run on kbindex's threads
// and must not call back into the same Database.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kbindex/export.h"
#include "kbindex/options.h"
#include "kbindex/status.h"
#include "kbindex/types.h"

namespace kb {
class DatabaseAccess;  // kbindex's own front-ends reach the implementation through it
}

namespace kbindex {

class KBINDEX_EXPORT Database {
 public:
  // Opens (creating when absent, with its folder) the database `options.db_path` and applies
  // schema migrations. Chroma is not contacted here: the first operation that needs it connects
  // (or starts the managed local server). InvalidArgument for bad options or a database
  // written by a newer kbindex; IOError when the file cannot be opened.
  static Result<std::unique_ptr<Database>> Open(const Options& options);

  // Stops the background worker (finishing its batch in hand) and the managed Chroma server
  // when this was its last user.
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // ---- notes pushed by the application (source "api")
  // Writes the note to SQLite (keyword-searchable at once, sync state pending) and nudges the
  // worker. Writing the same content again changes nothing. Conflict when `id` belongs to a
  // folder (edit the file instead); InvalidArgument for a bad id or body.
  Result<PutResult> Put(const NoteInput& note);
  // Removes the note from every search at once; Chroma forgets it on the next sync.
  // NotFound when there is no such live note; Conflict for a folder's note.
  Result<DeleteResult> Delete(const std::string& id);
  // The note with its sync state, or nullopt. The body is included when `with_body`.
  Result<std::optional<Note>> Get(const std::string& id, bool with_body = true);

  // ---- folders
  // Scans each folder into SQLite (changed files only; deleted files are removed, guarded by
  // the safety valve) and syncs to Chroma while the scan runs. Per-folder problems are in the
  // report (FolderReport::status); a Chroma that is unavailable leaves the notes pending
  // (IndexReport::sync_status). Fails as a whole only when SQLite does.
  Result<IndexReport> IndexFolders(const IndexRequest& request);
  // Files the scanner could not index, with the reason (`source` empty: all).
  Result<std::vector<SkippedFile>> Skipped(const std::string& source = "");

  // ---- watching folders
  // Follows the folders live (Linux inotify): an edited, added, renamed or deleted note goes
  // through the same scan as IndexFolders within a moment (a quiet period per file), then the
  // sync follows (the worker when it runs, else a pass of its own). It starts, and after lost
  // events reconciles, with a full scan (mtime+size: cheap); the safety valve applies, so an
  // unmounted or deleted folder removes nothing and is waited for. Runs in the background
  // until StopWatching (or destruction). NotFound for a folder that does not exist and was
  // never indexed; Conflict when this database is already watched (by any process).
  Status StartWatching(const WatchRequest& request = {});
  // Finishes the change in hand and the sync pass in progress, then stops. Idempotent.
  void StopWatching();
  // The watcher's state when it runs in this process (GetStats shows any process's).
  std::optional<WatchState> GetWatchState();
  // ---- database sources (Options::sources: another application's SQLite file or PostgreSQL)
  // Reads the source (full, incremental, outbox, or one item) into SQLite through the same
  // writes as a folder scan, then syncs. Problems with the source (unreachable, safety valve)
  // are in the report and leave everything indexed from it as it was. NotFound for a source
  // that is not configured.
  Result<SourceReport> IndexSource(const SourceIndexRequest& request);

  // ---- search
  // Keyword (bm25 over title and body), semantic (Chroma) or hybrid (both, fused). Only live
  // notes are returned. When Chroma is down, semantic and hybrid answer with keyword results
  // and `degraded` set. InvalidArgument for an invalid raw FTS5 query (with the reason).
  Result<SearchResults> Search(const SearchRequest& request);

  // ---- state
  // Counts by sync state, the last sync run, the embedder, and Chroma's reachability and
  // record count (asked with short timeouts: answers at once even when Chroma hangs).
  Result<Stats> GetStats();
  // Ok or degraded, with the reasons (SQLite, Chroma, worker).
  Health CheckHealth();
  // Failed notes, most recent first.
  Result<std::vector<Failure>> Failures(int limit = 100);
  // Notes the semantic index holds only in part (NoteSync::notice says why), by id.
  Result<std::vector<Note>> PartlyIndexed(int limit = 100);
  // Makes failed notes due again (attempts reset): one id, or every failed note when `id` is
  // empty. Returns how many. NotFound when `id` is not a failed note.
  Result<int> Retry(const std::string& id = "");

  // ---- keeping Chroma in step
  // One sync pass now: pending notes, and failed ones below the attempt limit.
  Result<SyncSummary> SyncNow(const std::atomic<bool>* cancel = nullptr);
  // Starts the background retry worker (a pass every interval, in batches). Conflict when
  // another worker already runs on this database (in this or another process).
  Status StartWorker(const WorkerOptions& options = {});
  // Finishes the batch in hand and stops the worker. Idempotent.
  void StopWorker();
  // The worker's state, when it runs in this process.
  std::optional<WorkerState> GetWorkerState();
  // One worker pass on the calling thread (`kbindex worker --once`): when Chroma does not
  // answer, touches nothing and says so (SyncSummary::unreachable).
  Result<SyncSummary> RunWorkerPass();
  // Re-embeds every note. In place over the same ids (the collection is never emptied), or,
  // when the embedder changes, into a new collection built beside the active one and swapped
  // in when complete. Search answers throughout.
  Result<ReindexReport> Reindex(const ReindexRequest& request = {});
  // Compares SQLite with Chroma (missing, stale and orphan chunks, SQLite and FTS5 integrity);
  // with `repair`, fixes the drift and syncs.
  Result<VerifyResult> Verify(const VerifyRequest& request = {});

  // Runs the index canary now (see IndexCheck): whether Chroma's vector index still answers.
  // Stats and Health include a verdict at most a minute old; Verify runs it too.
  Result<IndexCheck> CheckIndex();

  const Options& options() const;

 private:
  friend class kb::DatabaseAccess;
  struct Rep;  // the implementation (src/lib/database.cpp)
  explicit Database(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

// The library's version, e.g. "0.2.0".
KBINDEX_EXPORT const char* Version();

}  // namespace kbindex
