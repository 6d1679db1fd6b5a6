// Reads: documents, keyword search, stats and the lists behind `failures`, `skipped` and verify.
#include "store/document_store.h"

#include <algorithm>
#include <optional>
#include <unordered_map>

#include "store/store_impl.h"

namespace kb {

Result<std::optional<Document>> DocumentStore::Get(const std::string& id) {
  std::optional<Document> out;
  Status st = impl_->Read("reading document", [&](Conn& c) {
    out.reset();
    auto q = c.Stmt(std::string("SELECT ") + kDocumentColumns + kDocumentFrom + " WHERE d.id=?");
    q->bind(1, id);
    if (q->executeStep()) out = ReadDocument(*q);
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<Document>> DocumentStore::GetLive(std::span<const std::string> ids, bool with_text) {
  std::vector<Document> out;
  static const std::string sql =
      std::string("SELECT ") + kDocumentColumns + kDocumentFrom + " WHERE d.id=? AND d.deleted_at IS NULL";
  static const std::string sql_no_text = std::string("SELECT ") + kDocumentColumnsNoBody + kDocumentFromNoBody +
                                         " WHERE d.id=? AND d.deleted_at IS NULL";
  Status st = impl_->Read("reading documents", [&](Conn& c) {
    out.clear();
    for (const std::string& id : ids) {
      auto q = c.Stmt(with_text ? sql : sql_no_text);
      q->bind(1, id);
      if (q->executeStep()) out.push_back(ReadDocument(*q));
    }
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<KeywordHit>> DocumentStore::KeywordSearch(const std::string& fts_expression,
                                                             int limit, const std::string& source,
                                                             const std::string& mark_open,
                                                             const std::string& mark_close, int budget_ms) {
  std::vector<KeywordHit> out;
  // Rank the newest kMaxRankedMatches matches at most, title matches weighing five times body
  // matches: ranking is what costs, and a query made only of words most notes hold would
  // otherwise rank every note. Any query with a word rarer than that is ranked in full. The
  // FTS5 table drives the loop, newest first, so the scan stops at the cap; it holds live
  // notes only (tombstones have no text row), so documents is joined only to filter a source.
  // Snippets are made for the top `limit` only.
  std::string rank_sql =
      "SELECT documents_fts.rowid, kb_rank(documents_fts, 5.0, 1.0, "
      "(SELECT min(doc_key) FROM document_text), (SELECT max(doc_key) FROM document_text), z.sz) "
      "FROM documents_fts LEFT JOIN documents_fts_docsize z ON z.id = documents_fts.rowid";
  if (!source.empty()) rank_sql += " CROSS JOIN documents d ON d.doc_key = documents_fts.rowid";
  rank_sql += " WHERE documents_fts MATCH ?";
  if (!source.empty()) rank_sql += " AND d.source = ?";
  rank_sql += " ORDER BY documents_fts.rowid DESC LIMIT ?";
  // One statement for all the snippets: the matches between the lowest and the highest chosen
  // rowid (at most the ones just ranked) are walked, and only the chosen rows are snippeted
  // (the unary + keeps SQLite from handing the IN list to FTS5, which would re-run the query
  // once per value).
  static const std::string kHitSql =
      "SELECT documents_fts.rowid, d.id, d.title, d.path, d.source, d.sync_status, "
      "kb_snippet(documents_fts, ?, ?, '…', 24) "
      "FROM documents_fts CROSS JOIN documents d ON d.doc_key = documents_fts.rowid "
      "WHERE documents_fts MATCH ? AND documents_fts.rowid BETWEEN ? AND ? "
      "AND +documents_fts.rowid IN (SELECT value FROM json_each(?)) AND d.deleted_at IS NULL";
  Status st = impl_->Read(
      "keyword search",
      [&](Conn& c) {
        out.clear();
        std::vector<std::pair<int64_t, double>> ranked;
        {
          auto q = c.Stmt(rank_sql);
          int i = 1;
          q->bind(i++, fts_expression);
          if (!source.empty()) q->bind(i++, source);
          q->bind(i++, kMaxRankedMatches);
          while (q->executeStep()) ranked.emplace_back(q->getColumn(0).getInt64(), -q->getColumn(1).getDouble());
        }
        // Best first; on a tie the newer note.
        const auto better = [](const auto& a, const auto& b) {
          return a.second != b.second ? a.second > b.second : a.first > b.first;
        };
        const size_t top = std::min(ranked.size(), static_cast<size_t>(std::max(limit, 0)));
        std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(top), ranked.end(), better);
        ranked.resize(top);
        if (ranked.empty()) return;
        std::unordered_map<int64_t, size_t> slot;
        std::string keys = "[";
        int64_t low = ranked.front().first, high = low;
        for (size_t i = 0; i < ranked.size(); ++i) {
          const int64_t key = ranked[i].first;
          slot.emplace(key, i);
          keys += (i ? "," : "") + std::to_string(key);
          low = std::min(low, key);
          high = std::max(high, key);
        }
        keys += ']';
        std::vector<std::optional<KeywordHit>> hits(ranked.size());
        auto q = c.Stmt(kHitSql);
        q->bind(1, mark_open);
        q->bind(2, mark_close);
        q->bind(3, fts_expression);
        q->bind(4, low);
        q->bind(5, high);
        q->bind(6, keys);
        while (q->executeStep()) {
          auto it = slot.find(q->getColumn(0).getInt64());
          if (it == slot.end()) continue;
          KeywordHit h;
          h.id = q->getColumn(1).getString();
          h.title = q->getColumn(2).getString();
          h.path = OptText(q->getColumn(3));
          h.source = q->getColumn(4).getString();
          h.sync_status = ParseSyncStatus(q->getColumn(5).getString());
          h.snippet = q->getColumn(6).getString();
          h.score = ranked[it->second].second;
          hits[it->second] = std::move(h);
        }
        for (auto& h : hits) {
          if (h) out.push_back(std::move(*h));
        }
      },
      budget_ms);
  if (!st.ok()) {
    // A generic SQLite error from a MATCH is the query's fault (FTS5 syntax), not ours.
    if (st.code() == Status::Code::kInternal) {
      const std::string& m = st.message();
      const auto colon = m.find(": ");
      return Status::InvalidArgument("invalid search query: " +
                                     (colon == std::string::npos ? m : m.substr(colon + 2)));
    }
    return st;
  }
  return out;
}

Status DocumentStore::Ping() {
  return impl_->Read("checking the database", [&](Conn& c) { (void)c.db.execAndGet("SELECT 1").getInt(); });
}

Result<StoreStats> DocumentStore::Stats(int max_attempts) {
  StoreStats s;
  Status st = impl_->Read("reading stats", [&](Conn& c) {
    s = StoreStats{};
    // Each count reads what it counts through an index (schema 009): stats are polled.
    // Every row is pending, synced or failed, so synced is what the others leave (Read gives
    // all the counts one snapshot).
    int64_t rows = 0;
    {
      auto q = c.Stmt("SELECT count(*) FROM documents");
      if (q->executeStep()) rows = q->getColumn(0).getInt64();
    }
    {
      auto q = c.Stmt("SELECT count(*) FROM documents WHERE deleted_at IS NOT NULL");
      if (q->executeStep()) s.tombstoned = q->getColumn(0).getInt64();
    }
    {
      auto q = c.Stmt(
          "SELECT count(*) FILTER (WHERE sync_status='pending'), "
          "count(*) FILTER (WHERE sync_status='failed'), "
          "count(*) FILTER (WHERE sync_status='failed' AND sync_attempts >= ?), min(updated_at) "
          "FROM documents WHERE sync_status <> 'synced'");
      q->bind(1, max_attempts);
      if (q->executeStep()) {
        s.pending = q->getColumn(0).getInt64();
        s.failed = q->getColumn(1).getInt64();
        s.exhausted = q->getColumn(2).getInt64();
        s.oldest_pending_at = OptInt(q->getColumn(3));
      }
    }
    {
      auto q = c.Stmt("SELECT count(*) FROM documents WHERE sync_notice IS NOT NULL AND deleted_at IS NULL");
      if (q->executeStep()) s.partial = q->getColumn(0).getInt64();
    }
    s.live = rows - s.tombstoned;
    s.synced = rows - s.pending - s.failed;
    {
      auto k = c.Stmt("SELECT count(*) FROM skipped");
      if (k->executeStep()) s.skipped = k->getColumn(0).getInt64();
    }
    {
      auto r = c.Stmt(std::string("SELECT ") + kSyncRunColumns +
                           " FROM sync_runs ORDER BY id DESC LIMIT 1");
      if (r->executeStep()) s.last_sync_run = ReadSyncRun(*r);
    }
  });
  if (!st.ok()) return st;
  return s;
}

Result<std::vector<SkippedFile>> DocumentStore::ListSkipped(const std::string& source) {
  std::vector<SkippedFile> out;
  Status st = impl_->Read("listing skipped files", [&](Conn& c) {
    out.clear();
    auto q = c.Stmt(
        "SELECT source, path, reason, detail, file_size, file_mtime_ns, seen_at FROM skipped "
        "WHERE ?='' OR source=? ORDER BY source, path");
    q->bind(1, source);
    q->bind(2, source);
    while (q->executeStep()) {
      out.push_back(SkippedFile{q->getColumn(0).getString(), q->getColumn(1).getString(),
                                q->getColumn(2).getString(), q->getColumn(3).getString(),
                                OptInt(q->getColumn(4)), OptInt(q->getColumn(5)),
                                q->getColumn(6).getInt64()});
    }
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<Document>> DocumentStore::ListFailed(int limit) {
  std::vector<Document> out;
  Status st = impl_->Read("listing failures", [&](Conn& c) {
    out.clear();
    auto q = c.Stmt(std::string("SELECT ") + kDocumentColumns + kDocumentFrom +
                         " WHERE d.sync_status='failed' ORDER BY d.last_sync_attempt DESC, d.doc_key LIMIT ?");
    q->bind(1, limit);
    while (q->executeStep()) out.push_back(ReadDocument(*q));
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<Document>> DocumentStore::ListPartial(int limit) {
  std::vector<Document> out;
  Status st = impl_->Read("listing partly indexed documents", [&](Conn& c) {
    out.clear();
    auto q = c.Stmt(std::string("SELECT ") + kDocumentColumnsNoBody + kDocumentFromNoBody +
                    " WHERE d.sync_notice IS NOT NULL AND d.deleted_at IS NULL ORDER BY d.id LIMIT ?");
    q->bind(1, limit);
    while (q->executeStep()) out.push_back(ReadDocument(*q));
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<VectorExpectation>> DocumentStore::ListVectorExpectations() {
  std::vector<VectorExpectation> out;
  Status st = impl_->Read("listing vector expectations", [&](Conn& c) {
    out.clear();
    auto q = c.Stmt(
        "SELECT id, deleted_at IS NULL, sync_status, synced_hash, synced_chunks, chunks_hwm "
        "FROM documents");
    while (q->executeStep()) {
      out.push_back(VectorExpectation{q->getColumn(0).getString(), q->getColumn(1).getInt() != 0,
                                      ParseSyncStatus(q->getColumn(2).getString()),
                                      OptText(q->getColumn(3)), q->getColumn(4).getInt(),
                                      q->getColumn(5).getInt()});
    }
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace kb
