// Verifier: compares SQLite (the truth) with the vector store and reports drift:
// - missing: a chunk a synced document must have is not in Chroma;
// - stale:   a chunk is there but carries another content_hash than SQLite says was synced;
// - orphans: Chroma holds an id that no row accounts for.
// Chunks that may legitimately be there (sent but not yet recorded, or awaiting deletion) are
// neither missing nor orphans. Repair marks drifted documents pending, deletes orphans and
// lets a sync pass put things right. This is `kbindex verify` and the INV test helper.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "store/document_store.h"
#include "vector/vector_store.h"

namespace kb {

struct VerifyReport {
  int64_t rows = 0;
  int64_t unsynced_rows = 0;     // pending or failed (live or tombstone)
  int64_t expected_chunks = 0;   // chunks synced rows must have
  int64_t vector_chunks = 0;     // records in the collection
  std::vector<std::string> missing;
  std::vector<std::string> stale;
  std::vector<std::string> orphans;
  std::vector<std::string> drifted_documents;  // ids with missing or stale chunks

  bool consistent() const { return missing.empty() && stale.empty() && orphans.empty(); }
  // Fully converged: consistent, every row synced, and counts equal.
  bool converged() const { return consistent() && unsynced_rows == 0 && expected_chunks == vector_chunks; }
};

// Calls fn(id, metadata_json) for every record of `c`, reading it in pages; metadata_json is
// "" unless `with_metadata`.
Status ForEachRecord(VectorStore& vectors, const CollectionRef& c, bool with_metadata,
                     const std::function<void(const std::string& id, const std::string& metadata_json)>& fn);

// Reads every record id and content_hash of `collection` (paged) and compares.
Result<VerifyReport> Verify(DocumentStore& store, VectorStore& vectors, const CollectionRef& collection);

// Marks drifted documents pending and deletes orphan chunks. The caller then runs a sync pass.
Status RepairDrift(DocumentStore& store, VectorStore& vectors, const CollectionRef& collection,
                   const VerifyReport& report);

}  // namespace kb
