// Scanner: walks one folder (a "source") and brings SQLite in step with it.
//
// Change detection is cheap first: a file whose mtime and size match its row is not read.
// Changed content is hashed; only documents whose hash changed are written (as pending), in
// batched transactions. Files that are gone are tombstoned. Files that cannot be indexed
// (invalid UTF-8, binary, too large, unreadable, symlink loops, vanished mid-scan) are
// recorded in `skipped` with a reason and never stop the scan; a document whose file became
// unreadable or invalid keeps its last indexed version.
//
// A file that moved (its content found at a new path, its old path gone) keeps its document:
// the row is renamed (same doc_key, created_at and history) instead of removed and re-added,
// and the next sync moves its chunks in the vector store without re-embedding them.
//
// ScanPaths applies the same rules to a given set of paths only (the folder watcher's changed
// files and folders), so that a watched edit and a full scan can never disagree.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "store/document_store.h"
#include "util/status.h"

namespace kb {

struct ScanOptions {
  std::string root;         // the folder to scan
  std::string source_name;  // default: the folder's base name
  std::vector<std::string> include = {"*.md", "*.markdown", "*.txt"};
  std::vector<std::string> exclude;
  int64_t max_file_bytes = 10 * 1024 * 1024;
  // Safety valve: refuse to tombstone more than this share of the source's live documents,
  // or anything at all when the folder is missing or empty, unless allow_mass_delete.
  double mass_delete_ratio = 0.9;
  bool allow_mass_delete = false;
  // Documents per write transaction: the first batch is small so that syncing can start at
  // once, later ones large (fewer FTS5 segment merges).
  size_t first_batch_docs = 256;
  size_t batch_docs = 2048;
  // ...and bytes of note text per transaction: a batch is held in memory, and SQLite holds
  // copies of it while writing (16 MiB cost ~40 MB of peak RSS; 4 MiB costs no speed).
  size_t batch_bytes = 4 * 1024 * 1024;
  // A whole-folder scan that wrote at least this many notes merges the keyword index after
  // (DocumentStore::MergeKeywordIndexAfter): keyword searches after a bulk index cost ~30% less.
  int64_t merge_index_after = DocumentStore::kBulkWriteNotes;
  // Called after each committed write batch (the sync pipeline may start on it).
  std::function<void()> on_batch_committed;
  // Called before a changed file is read (a seam for tests that race the scan).
  std::function<void(const std::string& rel_path)> before_read;
  // Called every few hundred files with the running totals.
  std::function<void(const struct ScanReport&)> on_progress;
};

struct ScanReport {
  std::string source;
  std::string root;
  int64_t files_seen = 0;  // files matching the include patterns
  int64_t added = 0;
  int64_t changed = 0;
  int64_t restored = 0;
  int64_t unchanged = 0;
  int64_t removed = 0;
  int64_t renamed = 0;  // documents that moved to a new path (kept, not removed + added)
  int64_t files_read = 0;
  int64_t bytes_read = 0;
  std::vector<SkippedFile> skipped;

  int64_t written() const { return added + changed + restored + removed + renamed; }
};

// Scans `options.root` into `store`. Returns Aborted when the safety valve trips (documents
// already written stay written; nothing is tombstoned), NotFound when the folder is missing
// and the source has no documents, or the store's error.
Result<ScanReport> ScanFolder(DocumentStore& store, const ScanOptions& options);

// Brings SQLite in step with the given paths of the folder `options.root` only, each relative
// to it: a file is indexed as ScanFolder would (same include/exclude, hidden-file, symlink,
// size, UTF-8 and binary rules, same skipped reasons, same ownership rule), a folder is walked
// as ScanFolder walks it, and a path that is gone (or no longer eligible) removes the
// documents at or under it. Renames are recognised among the given paths. The safety valve
// applies: Aborted, with nothing removed, when the folder is missing, has no entries left, or
// more than mass_delete_ratio of the source's documents would go. The skipped-file list is
// updated for the given paths only.
Result<ScanReport> ScanPaths(DocumentStore& store, const ScanOptions& options,
                             std::span<const std::string> rel_paths);

// Glob match as used by include/exclude: a pattern without '/' matches the base name, one
// with '/' the whole relative path ('*' may cross '/').
bool MatchesGlob(const std::string& pattern, const std::string& rel_path);

}  // namespace kb
