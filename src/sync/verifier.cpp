#include "sync/verifier.h"

#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "sync/chunk_records.h"

namespace kb {

using json = nlohmann::json;

Status ForEachRecord(VectorStore& vectors, const CollectionRef& c, bool with_metadata,
                     const std::function<void(const std::string&, const std::string&)>& fn) {
  constexpr int kPage = 5000;
  static const std::string kNone;
  for (int offset = 0;; offset += kPage) {
    GetRequest req;
    req.limit = kPage;
    req.offset = offset;
    req.include_metadatas = with_metadata;
    KB_ASSIGN_OR_RETURN(GetResult page, vectors.Get(c, req));
    for (size_t i = 0; i < page.ids.size(); ++i) {
      fn(page.ids[i], i < page.metadatas_json.size() ? page.metadatas_json[i] : kNone);
    }
    if (page.ids.size() < static_cast<size_t>(kPage)) return Status::Ok();
  }
}

Result<VerifyReport> Verify(DocumentStore& store, VectorStore& vectors, const CollectionRef& collection) {
  VerifyReport report;
  // Read Chroma first: a row synced after this read is then merely "unsynced" at worst, never
  // a false "missing" (verify may run while a sync pass is going on).
  std::unordered_map<std::string, std::string> present;  // chunk id -> content_hash
  KB_RETURN_IF_ERROR(ForEachRecord(vectors, collection, true, [&](const std::string& id, const std::string& meta) {
    std::string hash;
    json m = json::parse(meta, nullptr, false);
    if (m.is_object() && m.contains("content_hash") && m["content_hash"].is_string()) {
      hash = m["content_hash"].get<std::string>();
    }
    present.emplace(id, std::move(hash));
  }));
  report.vector_chunks = static_cast<int64_t>(present.size() - present.count(kProbeId));

  KB_ASSIGN_OR_RETURN(auto rows, store.ListVectorExpectations());
  report.rows = static_cast<int64_t>(rows.size());
  std::unordered_set<std::string> accounted;
  for (const VectorExpectation& r : rows) {
    if (r.sync_status != SyncStatus::kSynced) ++report.unsynced_rows;
    const int may = std::max(r.synced_chunks, r.chunks_hwm);
    for (int n = 0; n < may; ++n) accounted.insert(ChunkId(r.id, n));
    if (!r.live || r.sync_status != SyncStatus::kSynced || !r.synced_hash) continue;
    report.expected_chunks += r.synced_chunks;
    bool drift = false;
    for (int n = 0; n < r.synced_chunks; ++n) {
      const std::string id = ChunkId(r.id, n);
      auto it = present.find(id);
      if (it == present.end()) {
        report.missing.push_back(id);
        drift = true;
      } else if (it->second != *r.synced_hash) {
        report.stale.push_back(id);
        drift = true;
      }
    }
    if (drift) report.drifted_documents.push_back(r.id);
  }
  for (const auto& [id, hash] : present) {
    if (!accounted.count(id) && id != kProbeId) report.orphans.push_back(id);
  }
  // Chunks beyond synced_chunks of a synced row are accounted (hwm) but should be gone:
  // count them as extra vector chunks only; a sync of that row deletes them.
  return report;
}

Status RepairDrift(DocumentStore& store, VectorStore& vectors, const CollectionRef& collection,
                   const VerifyReport& report) {
  if (!report.orphans.empty()) KB_RETURN_IF_ERROR(vectors.Delete(collection, report.orphans));
  if (!report.drifted_documents.empty()) {
    KB_ASSIGN_OR_RETURN(int n, store.MarkPending(report.drifted_documents));
    (void)n;
  }
  return Status::Ok();
}

}  // namespace kb
