// Building a replacement collection beside the active one (embedder switch, rebuild).
#include "store/document_store.h"

#include "store/store_impl.h"

namespace kb {

Status DocumentStore::ClearShadow() {
  return impl_->Write("clearing shadow state", [&](Conn& c) { c.db.exec("DELETE FROM shadow_sync"); });
}

Result<std::vector<Document>> DocumentStore::ShadowBehind(int64_t after_key, int limit) {
  std::vector<Document> out;
  Status st = impl_->Read("reading documents", [&](Conn& c) {
    out.clear();
    auto q = c.Stmt(std::string("SELECT ") + kDocumentColumns + kDocumentFrom +
                         " WHERE d.doc_key > ? AND d.deleted_at IS NULL AND NOT EXISTS ("
                         "SELECT 1 FROM shadow_sync s WHERE s.doc_key = d.doc_key AND s.content_hash = "
                         "d.content_hash) ORDER BY d.doc_key LIMIT ?");
    q->bind(1, after_key);
    q->bind(2, limit);
    while (q->executeStep()) out.push_back(ReadDocument(*q));
  });
  if (!st.ok()) return st;
  return out;
}

Status DocumentStore::RecordShadow(std::span<const SendClaim> sent) {
  if (sent.empty()) return Status::Ok();
  return impl_->Write("recording shadow state", [&](Conn& c) {
    for (const SendClaim& s : sent) {
      auto q = c.Stmt(
          "INSERT INTO shadow_sync(doc_key, content_hash, chunks) VALUES (?,?,?) ON CONFLICT(doc_key) "
          "DO UPDATE SET content_hash=excluded.content_hash, chunks=excluded.chunks");
      q->bind(1, s.key);
      q->bind(2, s.content_hash);
      q->bind(3, s.chunks);
      q->exec();
    }
  });
}

Result<std::vector<std::pair<std::string, int>>> DocumentStore::ShadowExpectations() {
  std::vector<std::pair<std::string, int>> out;
  Status st = impl_->Read("reading shadow state", [&](Conn& c) {
    out.clear();
    auto q = c.Stmt(
        "SELECT d.id, coalesce(s.chunks, 0) FROM documents d LEFT JOIN shadow_sync s ON "
        "s.doc_key = d.doc_key");
    while (q->executeStep()) out.emplace_back(q->getColumn(0).getString(), q->getColumn(1).getInt());
  });
  if (!st.ok()) return st;
  return out;
}

Status DocumentStore::SwitchToShadow(const std::vector<std::pair<std::string, std::string>>& meta) {
  return impl_->Write("switching collections", [&](Conn& c) {
    // Rows the new collection has in their current version are synced there; others pending.
    c.db.exec(
        "UPDATE documents SET "
        "synced_hash = (SELECT s.content_hash FROM shadow_sync s WHERE s.doc_key = documents.doc_key), "
        "synced_chunks = coalesce((SELECT s.chunks FROM shadow_sync s WHERE s.doc_key = documents.doc_key), 0), "
        "chunks_hwm = coalesce((SELECT s.chunks FROM shadow_sync s WHERE s.doc_key = documents.doc_key), 0), "
        "sync_attempts = 0, sync_error = NULL, last_sync_attempt = NULL, "
        "sync_status = CASE WHEN deleted_at IS NULL AND content_hash = (SELECT s.content_hash FROM "
        "shadow_sync s WHERE s.doc_key = documents.doc_key) THEN 'synced' ELSE 'pending' END");
    // Tombstones the new collection never had need no remote delete.
    c.db.exec("DELETE FROM documents WHERE deleted_at IS NOT NULL AND chunks_hwm = 0");
    for (const auto& [k, v] : meta) {
      auto q = c.Stmt(
          "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value");
      q->bind(1, k);
      q->bind(2, v);
      q->exec();
    }
    c.db.exec("DELETE FROM shadow_sync");
  });
}

}  // namespace kb
