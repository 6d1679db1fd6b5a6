// Reads: documents, keyword search, stats and the lists behind `failures`, `skipped` and verify.
#include "store/document_store.h"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "store/fts_functions.h"
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
  // kb_rank keeps the best `limit` rows with their matches (TopRows): their snippets are made
  // from their text, without a second walk of the matches.
  std::string rank_sql =
      "SELECT kb_rank(documents_fts, 5.0, 1.0, "
      "(SELECT min(doc_key) FROM document_text), (SELECT max(doc_key) FROM document_text), z.sz) "
      "FROM documents_fts LEFT JOIN documents_fts_docsize z ON z.id = documents_fts.rowid";
  if (!source.empty()) rank_sql += " CROSS JOIN documents d ON d.doc_key = documents_fts.rowid";
  rank_sql += " WHERE documents_fts MATCH ?";
  if (!source.empty()) rank_sql += " AND d.source = ?";
  rank_sql += " ORDER BY documents_fts.rowid DESC LIMIT ?";
  static const std::string kHitSql =
      "SELECT d.id, d.title, d.path, d.source, d.sync_status, CASE ? WHEN 0 THEN t.title ELSE t.body END "
      "FROM documents d JOIN document_text t ON t.doc_key = d.doc_key "
      "WHERE d.doc_key = ? AND d.deleted_at IS NULL";
  SnippetMarks marks;
  marks.open = mark_open;
  marks.close = mark_close;
  Status st = impl_->Read(
      "keyword search",
      [&](Conn& c) {
        out.clear();
        TopRows top(static_cast<size_t>(std::max(limit, 0)));
        {
          TopRows::Collecting collecting(top);
          auto q = c.Stmt(rank_sql);
          int i = 1;
          q->bind(i++, fts_expression);
          if (!source.empty()) q->bind(i++, source);
          q->bind(i++, kMaxRankedMatches);
          while (q->executeStep()) {
          }
        }
        std::vector<RankedRow> ranked = top.Take();
        if (ranked.empty()) return;
        const FtsTokenizer* tokenizer = c.Tokenizer();
        if (tokenizer == nullptr) throw std::runtime_error("the keyword index's tokenizer is not available");
        for (RankedRow& row : ranked) {
          const int col = ChooseSnippetColumn(row.matches);
          auto q = c.Stmt(kHitSql);
          q->bind(1, col);
          q->bind(2, static_cast<int64_t>(row.rowid));
          if (!q->executeStep()) continue;
          KeywordHit h;
          h.id = q->getColumn(0).getString();
          h.title = q->getColumn(1).getString();
          h.path = OptText(q->getColumn(2));
          h.source = q->getColumn(3).getString();
          h.sync_status = ParseSyncStatus(q->getColumn(4).getString());
          const SQLite::Column text = q->getColumn(5);
          const auto* chars = static_cast<const char*>(text.getBlob());
          const std::string_view view(chars ? chars : "", static_cast<size_t>(text.getBytes()));
          const auto c_index = static_cast<size_t>(col);
          if (int rc = MakeSnippet(std::move(row.matches.by_column[c_index]), view, row.matches.column_tokens[c_index],
                                   *tokenizer, marks, &h.snippet);
              rc != SQLITE_OK) {
            throw std::runtime_error("making a snippet: " + std::string(sqlite3_errstr(rc)));
          }
          h.score = row.score;
          out.push_back(std::move(h));
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
