#include "store/document_store.h"
#include "store/meta_keys.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "store/migrations.h"

namespace kb {

const char* SyncStatusName(SyncStatus s) {
  switch (s) {
    case SyncStatus::kPending: return "pending";
    case SyncStatus::kSynced: return "synced";
    case SyncStatus::kFailed: return "failed";
  }
  return "pending";
}

namespace {

SyncStatus ParseSyncStatus(const std::string& s) {
  if (s == "synced") return SyncStatus::kSynced;
  if (s == "failed") return SyncStatus::kFailed;
  return SyncStatus::kPending;
}

Status MapSqliteError(const SQLite::Exception& e, const char* what) {
  const int code = e.getErrorCode() & 0xff;
  std::string msg = std::string(what) + ": " + e.what();
  switch (code) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Busy(msg + " (another kbindex process held the database too long)");
    case SQLITE_FULL: return Status::IOError(msg + " (disk or quota full)");
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_NOLFS:
      return Status::IOError(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(msg);
    default: return Status::Internal(msg);
  }
}

// Column helpers that map NULL to nullopt.
std::optional<int64_t> OptInt(const SQLite::Column& c) {
  return c.isNull() ? std::nullopt : std::optional<int64_t>(c.getInt64());
}
std::optional<std::string> OptText(const SQLite::Column& c) {
  return c.isNull() ? std::nullopt : std::optional<std::string>(c.getString());
}

template <typename T>
void BindOpt(SQLite::Statement& st, int index, const std::optional<T>& v) {
  if (v) {
    st.bind(index, *v);
  } else {
    st.bind(index);
  }
}

// Every column of a Document; the text comes from document_text (absent for tombstones).
// Use as: std::string("SELECT ") + kDocumentColumns + kDocumentFrom + " WHERE ...".
constexpr const char* kDocumentColumns =
    "d.doc_key, d.id, d.source, d.path, d.title, coalesce(t.body, ''), d.metadata, d.content_hash, "
    "d.file_mtime_ns, d.file_size, d.created_at, d.updated_at, d.deleted_at, d.sync_status, "
    "d.sync_attempts, d.last_sync_attempt, d.sync_error, d.synced_hash, d.synced_chunks, d.chunks_hwm";
constexpr const char* kDocumentFrom =
    " FROM documents d LEFT JOIN document_text t ON t.doc_key = d.doc_key";

Document ReadDocument(SQLite::Statement& st) {
  Document d;
  d.key = st.getColumn(0).getInt64();
  d.id = st.getColumn(1).getString();
  d.source = st.getColumn(2).getString();
  d.path = OptText(st.getColumn(3));
  d.title = st.getColumn(4).getString();
  d.body = st.getColumn(5).getString();
  d.metadata_json = st.getColumn(6).getString();
  d.content_hash = st.getColumn(7).getString();
  d.file_mtime_ns = OptInt(st.getColumn(8));
  d.file_size = OptInt(st.getColumn(9));
  d.created_at = st.getColumn(10).getInt64();
  d.updated_at = st.getColumn(11).getInt64();
  d.deleted_at = OptInt(st.getColumn(12));
  d.sync_status = ParseSyncStatus(st.getColumn(13).getString());
  d.sync_attempts = st.getColumn(14).getInt();
  d.last_sync_attempt = OptInt(st.getColumn(15));
  d.sync_error = OptText(st.getColumn(16));
  d.synced_hash = OptText(st.getColumn(17));
  d.synced_chunks = st.getColumn(18).getInt();
  d.chunks_hwm = st.getColumn(19).getInt();
  return d;
}

SyncRun ReadSyncRun(SQLite::Statement& st) {
  SyncRun r;
  r.id = st.getColumn(0).getInt64();
  r.kind = st.getColumn(1).getString();
  r.started_at = st.getColumn(2).getInt64();
  r.finished_at = OptInt(st.getColumn(3));
  r.attempted = st.getColumn(4).getInt64();
  r.synced = st.getColumn(5).getInt64();
  r.failed = st.getColumn(6).getInt64();
  r.deleted = st.getColumn(7).getInt64();
  r.batches = st.getColumn(8).getInt64();
  r.error = OptText(st.getColumn(9));
  return r;
}
constexpr const char* kSyncRunColumns =
    "id, kind, started_at, finished_at, attempted, synced, failed, deleted, batches, error";

}  // namespace

struct TextRow {
  int64_t doc_key;
  const std::string* title;
  const std::string* body;
};

struct DocumentStore::Impl {
  Impl(const std::string& path, int busy_timeout)
      : db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX,
           busy_timeout),
        busy_timeout_ms(busy_timeout) {}

  // A cached prepared statement that is reset (bindings cleared) when the use ends, so that
  // no statement keeps a read snapshot open between calls.
  class Use {
   public:
    explicit Use(SQLite::Statement& st) : st_(st) {}
    ~Use() {
      try {
        st_.reset();
      } catch (...) {
      }
      st_.clearBindings();
    }
    SQLite::Statement* operator->() { return &st_; }
    SQLite::Statement& operator*() { return st_; }

   private:
    SQLite::Statement& st_;
  };

  Use Stmt(const std::string& sql) {
    auto it = stmts.find(sql);
    if (it == stmts.end()) {
      it = stmts.emplace(sql, std::make_unique<SQLite::Statement>(db, sql)).first;
    }
    return Use(*it->second);
  }

  // Runs `fn` (inside one BEGIN IMMEDIATE transaction when `write`), retrying while the
  // database is busy for up to three busy timeouts. `fn` must be safe to run again.
  Status Run(const char* what, bool write, const std::function<void()>& fn) {
    using clock = std::chrono::steady_clock;
    const auto deadline =
        clock::now() + std::chrono::milliseconds(std::max(3 * busy_timeout_ms, 1000));
    int attempt = 0;
    for (;;) {
      try {
        if (write) {
          SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
          fn();
          tx.commit();
        } else {
          fn();
        }
        return Status::Ok();
      } catch (const SQLite::Exception& e) {
        const int code = e.getErrorCode() & 0xff;
        if ((code == SQLITE_BUSY || code == SQLITE_LOCKED) && clock::now() < deadline) {
          std::this_thread::sleep_for(std::chrono::milliseconds(std::min(2 << attempt, 100)));
          ++attempt;
          continue;
        }
        return MapSqliteError(e, what);
      } catch (const std::exception& e) {
        return Status::Internal(std::string(what) + ": " + e.what());
      }
    }
  }

  // Writes note texts (inserting or replacing) many rows per statement: FTS5 flushes its
  // pending terms at every statement boundary, so one row per statement made a new index
  // segment per note and doubled the cost of indexing.
  void WriteTexts(const std::vector<TextRow>& rows) {
    constexpr size_t kRows = 128;
    auto sql_for = [](size_t n) {
      std::string sql = "INSERT INTO document_text(doc_key, title, body) VALUES ";
      for (size_t i = 0; i < n; ++i) sql += i ? ",(?,?,?)" : "(?,?,?)";
      return sql + " ON CONFLICT(doc_key) DO UPDATE SET title=excluded.title, body=excluded.body";
    };
    static const std::string kFull = sql_for(kRows);
    for (size_t start = 0; start < rows.size(); start += kRows) {
      const size_t n = std::min(kRows, rows.size() - start);
      std::optional<SQLite::Statement> partial;
      SQLite::Statement* st;
      std::optional<Use> use;
      if (n == kRows) {
        use.emplace(Stmt(kFull));
        st = &**use;
      } else {
        partial.emplace(db, sql_for(n));
        st = &*partial;
      }
      for (size_t i = 0; i < n; ++i) {
        const TextRow& r = rows[start + i];
        st->bind(static_cast<int>(3 * i + 1), r.doc_key);
        st->bindNoCopy(static_cast<int>(3 * i + 2), *r.title);
        st->bindNoCopy(static_cast<int>(3 * i + 3), *r.body);
      }
      st->exec();
    }
  }

  std::mutex mu;
  SQLite::Database db;  // declared before stmts: statements are destroyed first
  std::unordered_map<std::string, std::unique_ptr<SQLite::Statement>> stmts;
  int busy_timeout_ms;
};

DocumentStore::DocumentStore(std::string path, Clock* clock, std::unique_ptr<Impl> impl)
    : path_(std::move(path)), clock_(clock), impl_(std::move(impl)) {}

DocumentStore::~DocumentStore() {
  if (!impl_) return;
  try {
    // Keep the WAL from growing across runs; harmless if another process holds it.
    impl_->stmts.clear();
    impl_->db.exec("PRAGMA optimize");
  } catch (...) {
  }
}

Result<std::unique_ptr<DocumentStore>> DocumentStore::Open(const std::string& path,
                                                           const StoreOptions& options) {
  Clock* clock = options.clock ? options.clock : Clock::Real();
  std::unique_ptr<Impl> impl;
  try {
    impl = std::make_unique<Impl>(path, options.busy_timeout_ms);
  } catch (const SQLite::Exception& e) {
    return Status::IOError("cannot open database " + path + ": " + e.what());
  }
  Status st = impl->Run("opening database", false, [&] {
    // journal_mode=WAL needs a brief write lock: it is retried like any write while busy.
    impl->db.exec("PRAGMA journal_mode=WAL");
    impl->db.exec("PRAGMA synchronous=NORMAL");
    impl->db.exec("PRAGMA foreign_keys=ON");
    impl->db.exec("PRAGMA temp_store=MEMORY");
    // FTS5 merges re-read recent pages; the default 2 MB cache made them come from the kernel.
    impl->db.exec("PRAGMA cache_size=-16384");
  });
  if (!st.ok()) return st.WithContext(path);
  // A file that is not a database fails here rather than at the first query.
  st = impl->Run("reading schema version", false,
                 [&] { (void)impl->db.execAndGet("PRAGMA user_version").getInt(); });
  if (!st.ok()) return st.WithContext(path);
  st = ApplyMigrations(impl->db);
  if (!st.ok()) return st.WithContext(path);
  return std::unique_ptr<DocumentStore>(new DocumentStore(path, clock, std::move(impl)));
}

// ---------------------------------------------------------------- sources

Result<SourceInfo> DocumentStore::EnsureFolderSource(const std::string& root,
                                                     const std::string& preferred_name) {
  std::lock_guard lock(impl_->mu);
  SourceInfo out;
  const int64_t now = clock_->NowMs();
  Status st = impl_->Run("registering source", true, [&] {
    {
      auto q = impl_->Stmt(
          "SELECT name, created_at, last_scan_at FROM sources WHERE kind='folder' AND root=?");
      q->bind(1, root);
      if (q->executeStep()) {
        out.name = q->getColumn(0).getString();
        out.created_at = q->getColumn(1).getInt64();
        out.last_scan_at = OptInt(q->getColumn(2));
        out.kind = "folder";
        out.root = root;
        return;
      }
    }
    std::string base = preferred_name.empty() ? "notes" : preferred_name;
    std::string name = base;
    for (int n = 2;; ++n) {
      auto q = impl_->Stmt("SELECT 1 FROM sources WHERE name=?");
      q->bind(1, name);
      if (!q->executeStep()) break;
      name = base + "-" + std::to_string(n);
    }
    auto ins = impl_->Stmt("INSERT INTO sources(name, kind, root, created_at) VALUES (?, 'folder', ?, ?)");
    ins->bind(1, name);
    ins->bind(2, root);
    ins->bind(3, now);
    ins->exec();
    out = SourceInfo{name, "folder", root, now, std::nullopt, 0};
  });
  if (!st.ok()) return st;
  return out;
}

Status DocumentStore::EnsureApiSource(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  const int64_t now = clock_->NowMs();
  return impl_->Run("registering API source", true, [&] {
    auto q = impl_->Stmt(
        "INSERT INTO sources(name, kind, root, created_at) VALUES (?, 'api', NULL, ?) "
        "ON CONFLICT(name) DO NOTHING");
    q->bind(1, name);
    q->bind(2, now);
    q->exec();
  });
}

Result<std::vector<SourceInfo>> DocumentStore::ListSources() {
  std::lock_guard lock(impl_->mu);
  std::vector<SourceInfo> out;
  Status st = impl_->Run("listing sources", false, [&] {
    out.clear();
    auto q = impl_->Stmt(
        "SELECT s.name, s.kind, s.root, s.created_at, s.last_scan_at, "
        "(SELECT count(*) FROM documents d WHERE d.source = s.name AND d.deleted_at IS NULL) "
        "FROM sources s ORDER BY s.name");
    while (q->executeStep()) {
      out.push_back(SourceInfo{q->getColumn(0).getString(), q->getColumn(1).getString(),
                               OptText(q->getColumn(2)), q->getColumn(3).getInt64(),
                               OptInt(q->getColumn(4)), q->getColumn(5).getInt64()});
    }
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::optional<SourceInfo>> DocumentStore::GetSource(const std::string& name) {
  KB_ASSIGN_OR_RETURN(auto all, ListSources());
  for (auto& s : all) {
    if (s.name == name) return std::optional<SourceInfo>(std::move(s));
  }
  return std::optional<SourceInfo>();
}

Status DocumentStore::MarkScanned(const std::string& source) {
  std::lock_guard lock(impl_->mu);
  const int64_t now = clock_->NowMs();
  return impl_->Run("recording scan", true, [&] {
    auto q = impl_->Stmt("UPDATE sources SET last_scan_at=? WHERE name=?");
    q->bind(1, now);
    q->bind(2, source);
    q->exec();
  });
}

// ---------------------------------------------------------------- writes

Result<std::vector<PutOutcome>> DocumentStore::PutDocuments(std::span<const DocumentInput> docs) {
  std::lock_guard lock(impl_->mu);
  std::vector<PutOutcome> out;
  const int64_t now = clock_->NowMs();
  Status st = impl_->Run("writing documents", true, [&] {
    out.clear();
    out.reserve(docs.size());
    std::vector<TextRow> texts;
    for (const DocumentInput& d : docs) {
      int64_t key = 0;
      std::string old_hash;
      bool exists = false, live = false;
      {
        auto q = impl_->Stmt("SELECT doc_key, content_hash, deleted_at IS NULL FROM documents WHERE id=?");
        q->bind(1, d.id);
        if (q->executeStep()) {
          exists = true;
          key = q->getColumn(0).getInt64();
          old_hash = q->getColumn(1).getString();
          live = q->getColumn(2).getInt() != 0;
        }
      }
      if (!exists) {
        {
          auto q = impl_->Stmt(
              "INSERT INTO documents(id, source, path, title, metadata, content_hash, "
              "file_mtime_ns, file_size, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)");
          q->bind(1, d.id);
          q->bind(2, d.source);
          BindOpt(*q, 3, d.path);
          q->bindNoCopy(4, d.title);
          q->bindNoCopy(5, d.metadata_json);
          q->bind(6, d.content_hash);
          BindOpt(*q, 7, d.file_mtime_ns);
          BindOpt(*q, 8, d.file_size);
          q->bind(9, now);
          q->bind(10, now);
          q->exec();
        }
        texts.push_back(TextRow{impl_->db.getLastInsertRowid(), &d.title, &d.body});
        out.push_back(PutOutcome::kInserted);
      } else if (live && old_hash == d.content_hash) {
        auto q = impl_->Stmt(
            "UPDATE documents SET file_mtime_ns=?, file_size=? WHERE doc_key=? AND "
            "(file_mtime_ns IS NOT ? OR file_size IS NOT ?)");
        BindOpt(*q, 1, d.file_mtime_ns);
        BindOpt(*q, 2, d.file_size);
        q->bind(3, key);
        BindOpt(*q, 4, d.file_mtime_ns);
        BindOpt(*q, 5, d.file_size);
        q->exec();
        out.push_back(PutOutcome::kUnchanged);
      } else {
        {
          auto q = impl_->Stmt(
              "UPDATE documents SET source=?, path=?, title=?, metadata=?, content_hash=?, "
              "file_mtime_ns=?, file_size=?, updated_at=?, deleted_at=NULL, sync_status='pending', "
              "sync_attempts=0, last_sync_attempt=NULL, sync_error=NULL WHERE doc_key=?");
          q->bind(1, d.source);
          BindOpt(*q, 2, d.path);
          q->bindNoCopy(3, d.title);
          q->bindNoCopy(4, d.metadata_json);
          q->bind(5, d.content_hash);
          BindOpt(*q, 6, d.file_mtime_ns);
          BindOpt(*q, 7, d.file_size);
          q->bind(8, now);
          q->bind(9, key);
          q->exec();
        }
        texts.push_back(TextRow{key, &d.title, &d.body});
        out.push_back(live ? PutOutcome::kChanged : PutOutcome::kRestored);
      }
    }
    impl_->WriteTexts(texts);
  });
  if (!st.ok()) return st;
  return out;
}

Status DocumentStore::UpdateFileStats(std::span<const FileState> states, const std::string& source) {
  if (states.empty()) return Status::Ok();
  std::lock_guard lock(impl_->mu);
  return impl_->Run("updating file stats", true, [&] {
    for (const FileState& s : states) {
      auto q = impl_->Stmt(
          "UPDATE documents SET file_mtime_ns=?, file_size=? WHERE source=? AND path=? AND "
          "content_hash=?");
      q->bind(1, s.mtime_ns);
      q->bind(2, s.size);
      q->bind(3, source);
      q->bind(4, s.path);
      q->bind(5, s.content_hash);
      q->exec();
    }
  });
}

Result<int> DocumentStore::Tombstone(std::span<const std::string> ids) {
  std::lock_guard lock(impl_->mu);
  int removed = 0;
  const int64_t now = clock_->NowMs();
  Status st = impl_->Run("tombstoning documents", true, [&] {
    removed = 0;
    for (const std::string& id : ids) {
      // Never sent to the vector store: nothing to delete there, drop the row now.
      auto del = impl_->Stmt(
          "DELETE FROM documents WHERE id=? AND deleted_at IS NULL AND chunks_hwm=0 AND "
          "synced_chunks=0");
      del->bind(1, id);
      int n = del->exec();
      if (n == 0) {
        auto q = impl_->Stmt(
            "UPDATE documents SET deleted_at=?, updated_at=?, sync_status='pending', "
            "sync_attempts=0, last_sync_attempt=NULL, sync_error=NULL "
            "WHERE id=? AND deleted_at IS NULL");
        q->bind(1, now);
        q->bind(2, now);
        q->bind(3, id);
        n = q->exec();
        if (n > 0) {
          // Out of keyword search at once (the FTS trigger follows the text row).
          auto t = impl_->Stmt("DELETE FROM document_text WHERE doc_key=(SELECT doc_key FROM documents WHERE id=?)");
          t->bind(1, id);
          t->exec();
        }
      }
      removed += n;
    }
  });
  if (!st.ok()) return st;
  return removed;
}

Result<std::vector<FileState>> DocumentStore::LoadFileStates(const std::string& source) {
  std::lock_guard lock(impl_->mu);
  std::vector<FileState> out;
  Status st = impl_->Run("loading file states", false, [&] {
    out.clear();
    auto q = impl_->Stmt(
        "SELECT path, content_hash, coalesce(file_mtime_ns,-1), coalesce(file_size,-1), "
        "deleted_at IS NULL FROM documents WHERE source=? AND path IS NOT NULL");
    q->bind(1, source);
    while (q->executeStep()) {
      out.push_back(FileState{q->getColumn(0).getString(), q->getColumn(1).getString(),
                              q->getColumn(2).getInt64(), q->getColumn(3).getInt64(),
                              q->getColumn(4).getInt() != 0});
    }
  });
  if (!st.ok()) return st;
  return out;
}

Status DocumentStore::ReplaceSkipped(const std::string& source, std::span<const SkippedFile> files) {
  std::lock_guard lock(impl_->mu);
  return impl_->Run("recording skipped files", true, [&] {
    {
      auto q = impl_->Stmt("DELETE FROM skipped WHERE source=?");
      q->bind(1, source);
      q->exec();
    }
    for (const SkippedFile& f : files) {
      auto q = impl_->Stmt(
          "INSERT OR REPLACE INTO skipped(source, path, reason, detail, file_size, "
          "file_mtime_ns, seen_at) VALUES (?,?,?,?,?,?,?)");
      q->bind(1, source);
      q->bind(2, f.path);
      q->bind(3, f.reason);
      q->bind(4, f.detail);
      BindOpt(*q, 5, f.file_size);
      BindOpt(*q, 6, f.file_mtime_ns);
      q->bind(7, f.seen_at);
      q->exec();
    }
  });
}

// ---------------------------------------------------------------- reads

Result<std::optional<Document>> DocumentStore::Get(const std::string& id) {
  std::lock_guard lock(impl_->mu);
  std::optional<Document> out;
  Status st = impl_->Run("reading document", false, [&] {
    out.reset();
    auto q = impl_->Stmt(std::string("SELECT ") + kDocumentColumns + kDocumentFrom + " WHERE d.id=?");
    q->bind(1, id);
    if (q->executeStep()) out = ReadDocument(*q);
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<Document>> DocumentStore::GetByKeys(std::span<const int64_t> keys) {
  std::lock_guard lock(impl_->mu);
  std::vector<Document> out;
  Status st = impl_->Run("reading documents", false, [&] {
    out.clear();
    for (int64_t key : keys) {
      auto q = impl_->Stmt(std::string("SELECT ") + kDocumentColumns + kDocumentFrom +
                           " WHERE d.doc_key=?");
      q->bind(1, key);
      if (q->executeStep()) out.push_back(ReadDocument(*q));
    }
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<Document>> DocumentStore::GetLive(std::span<const std::string> ids) {
  std::lock_guard lock(impl_->mu);
  std::vector<Document> out;
  Status st = impl_->Run("reading documents", false, [&] {
    out.clear();
    for (const std::string& id : ids) {
      auto q = impl_->Stmt(std::string("SELECT ") + kDocumentColumns + kDocumentFrom +
                           " WHERE d.id=? AND d.deleted_at IS NULL");
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
                                                             const std::string& mark_close) {
  std::lock_guard lock(impl_->mu);
  std::vector<KeywordHit> out;
  // Title matches weigh more than body matches.
  std::string sql =
      "SELECT d.id, d.title, d.path, d.source, "
      "snippet(documents_fts, -1, ?, ?, '…', 24), bm25(documents_fts, 5.0, 1.0) AS score, "
      "d.sync_status FROM documents_fts JOIN documents d ON d.doc_key = documents_fts.rowid "
      "WHERE documents_fts MATCH ? AND d.deleted_at IS NULL";
  if (!source.empty()) sql += " AND d.source = ?";
  sql += " ORDER BY score LIMIT ?";
  Status st = impl_->Run("keyword search", false, [&] {
      out.clear();
      auto q = impl_->Stmt(sql);
      int i = 1;
      q->bind(i++, mark_open);
      q->bind(i++, mark_close);
      q->bind(i++, fts_expression);
      if (!source.empty()) q->bind(i++, source);
      q->bind(i++, limit);
      while (q->executeStep()) {
        KeywordHit h;
        h.id = q->getColumn(0).getString();
        h.title = q->getColumn(1).getString();
        h.path = OptText(q->getColumn(2));
        h.source = q->getColumn(3).getString();
        h.snippet = q->getColumn(4).getString();
        h.score = -q->getColumn(5).getDouble();
        h.sync_status = ParseSyncStatus(q->getColumn(6).getString());
        out.push_back(std::move(h));
      }
    });
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

Result<StoreStats> DocumentStore::Stats(int max_attempts) {
  std::lock_guard lock(impl_->mu);
  StoreStats s;
  Status st = impl_->Run("reading stats", false, [&] {
    s = StoreStats{};
    auto q = impl_->Stmt(
        "SELECT count(*) FILTER (WHERE deleted_at IS NULL), "
        "count(*) FILTER (WHERE deleted_at IS NOT NULL), "
        "count(*) FILTER (WHERE sync_status='synced'), "
        "count(*) FILTER (WHERE sync_status='pending'), "
        "count(*) FILTER (WHERE sync_status='failed'), "
        "count(*) FILTER (WHERE sync_status='failed' AND sync_attempts >= ?), "
        "min(updated_at) FILTER (WHERE sync_status <> 'synced') FROM documents");
    q->bind(1, max_attempts);
    if (q->executeStep()) {
      s.live = q->getColumn(0).getInt64();
      s.tombstoned = q->getColumn(1).getInt64();
      s.synced = q->getColumn(2).getInt64();
      s.pending = q->getColumn(3).getInt64();
      s.failed = q->getColumn(4).getInt64();
      s.exhausted = q->getColumn(5).getInt64();
      s.oldest_pending_at = OptInt(q->getColumn(6));
    }
    {
      auto k = impl_->Stmt("SELECT count(*) FROM skipped");
      if (k->executeStep()) s.skipped = k->getColumn(0).getInt64();
    }
    {
      auto r = impl_->Stmt(std::string("SELECT ") + kSyncRunColumns +
                           " FROM sync_runs ORDER BY id DESC LIMIT 1");
      if (r->executeStep()) s.last_sync_run = ReadSyncRun(*r);
    }
  });
  if (!st.ok()) return st;
  return s;
}

Result<std::vector<SkippedFile>> DocumentStore::ListSkipped(const std::string& source) {
  std::lock_guard lock(impl_->mu);
  std::vector<SkippedFile> out;
  Status st = impl_->Run("listing skipped files", false, [&] {
    out.clear();
    auto q = impl_->Stmt(
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
  std::lock_guard lock(impl_->mu);
  std::vector<Document> out;
  Status st = impl_->Run("listing failures", false, [&] {
    out.clear();
    auto q = impl_->Stmt(std::string("SELECT ") + kDocumentColumns + kDocumentFrom +
                         " WHERE d.sync_status='failed' ORDER BY d.last_sync_attempt DESC, d.doc_key LIMIT ?");
    q->bind(1, limit);
    while (q->executeStep()) out.push_back(ReadDocument(*q));
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<VectorExpectation>> DocumentStore::ListVectorExpectations() {
  std::lock_guard lock(impl_->mu);
  std::vector<VectorExpectation> out;
  Status st = impl_->Run("listing vector expectations", false, [&] {
    out.clear();
    auto q = impl_->Stmt(
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

Result<int64_t> DocumentStore::CountRows() {
  std::lock_guard lock(impl_->mu);
  int64_t n = 0;
  Status st = impl_->Run("counting documents", false, [&] {
    auto q = impl_->Stmt("SELECT count(*) FROM documents");
    if (q->executeStep()) n = q->getColumn(0).getInt64();
  });
  if (!st.ok()) return st;
  return n;
}

// ---------------------------------------------------------------- sync bookkeeping

Result<std::vector<Document>> DocumentStore::DueForSync(const DueQuery& dq) {
  std::lock_guard lock(impl_->mu);
  std::vector<Document> out;
  const int64_t now = clock_->NowMs();
  std::string sql = std::string("SELECT ") + kDocumentColumns + kDocumentFrom +
                    " WHERE d.sync_status <> 'synced' AND d.sync_attempts < ? AND "
                    "(d.sync_status = 'pending'";
  if (dq.include_failed) {
    sql += " OR (d.sync_status = 'failed'";
    if (dq.respect_backoff) {
      // Exponential backoff: base * 2^(attempts-1), capped.
      sql +=
          " AND (d.last_sync_attempt IS NULL OR d.last_sync_attempt + "
          "min(? * (1 << min(max(d.sync_attempts - 1, 0), 30)), ?) <= ?)";
    }
    sql += ")";
  }
  sql += ")";
  if (dq.attempted_before) sql += " AND (d.last_sync_attempt IS NULL OR d.last_sync_attempt < ?)";
  sql += " AND (d.sync_lease_pid IS NULL OR d.sync_lease_until < ?)";
  sql += " ORDER BY coalesce(d.last_sync_attempt, d.updated_at), d.doc_key LIMIT ?";
  Status st = impl_->Run("selecting documents to sync", false, [&] {
    out.clear();
    auto q = impl_->Stmt(sql);
    int i = 1;
    q->bind(i++, dq.max_attempts);
    if (dq.include_failed && dq.respect_backoff) {
      q->bind(i++, dq.backoff_base_ms);
      q->bind(i++, dq.backoff_max_ms);
      q->bind(i++, now);
    }
    if (dq.attempted_before) q->bind(i++, *dq.attempted_before);
    q->bind(i++, now);
    q->bind(i++, dq.limit);
    while (q->executeStep()) out.push_back(ReadDocument(*q));
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<bool>> DocumentStore::ClaimForSend(std::span<const SendClaim> claims,
                                                      int64_t lease_until_ms) {
  std::vector<bool> out;
  if (claims.empty()) return out;
  std::lock_guard lock(impl_->mu);
  const int64_t now = clock_->NowMs();
  const int64_t pid = ::getpid();
  Status st = impl_->Run("recording documents in flight", true, [&] {
    out.assign(claims.size(), false);
    for (size_t i = 0; i < claims.size(); ++i) {
      const SendClaim& c = claims[i];
      if (c.deleted_at) {
        auto q = impl_->Stmt(
            "UPDATE documents SET last_sync_attempt=?, sync_lease_pid=?, sync_lease_until=? "
            "WHERE doc_key=? AND deleted_at=? AND (sync_lease_pid IS NULL OR sync_lease_until < ?)");
        q->bind(1, now);
        q->bind(2, pid);
        q->bind(3, lease_until_ms);
        q->bind(4, c.key);
        q->bind(5, *c.deleted_at);
        q->bind(6, now);
        out[i] = q->exec() > 0;
      } else {
        auto q = impl_->Stmt(
            "UPDATE documents SET chunks_hwm=max(chunks_hwm, ?), last_sync_attempt=?, "
            "sync_lease_pid=?, sync_lease_until=? WHERE doc_key=? AND content_hash=? AND "
            "deleted_at IS NULL AND (sync_lease_pid IS NULL OR sync_lease_until < ?)");
        q->bind(1, c.chunks);
        q->bind(2, now);
        q->bind(3, pid);
        q->bind(4, lease_until_ms);
        q->bind(5, c.key);
        q->bind(6, c.content_hash);
        q->bind(7, now);
        out[i] = q->exec() > 0;
      }
    }
  });
  if (!st.ok()) return st;
  return out;
}

Result<int> DocumentStore::ReleaseDeadLeases() {
  std::lock_guard lock(impl_->mu);
  std::vector<int64_t> pids;
  Status st = impl_->Run("reading leases", false, [&] {
    pids.clear();
    auto q = impl_->Stmt("SELECT DISTINCT sync_lease_pid FROM documents WHERE sync_lease_pid IS NOT NULL");
    while (q->executeStep()) pids.push_back(q->getColumn(0).getInt64());
  });
  if (!st.ok()) return st;
  std::vector<int64_t> dead;
  for (int64_t pid : pids) {
    if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) dead.push_back(pid);
  }
  int n = 0;
  if (dead.empty()) return n;
  st = impl_->Run("releasing leases of dead processes", true, [&] {
    n = 0;
    for (int64_t pid : dead) {
      auto q = impl_->Stmt("UPDATE documents SET sync_lease_pid=NULL, sync_lease_until=NULL WHERE sync_lease_pid=?");
      q->bind(1, pid);
      n += q->exec();
    }
  });
  if (!st.ok()) return st;
  return n;
}

Result<SyncApplyResult> DocumentStore::ApplySyncOutcomes(std::span<const SyncOutcome> outcomes,
                                                        std::optional<int64_t> generation) {
  std::lock_guard lock(impl_->mu);
  SyncApplyResult r;
  const int64_t now = clock_->NowMs();
  const int64_t pid = ::getpid();
  Status st = impl_->Run("recording sync results", true, [&] {
    r = SyncApplyResult{};
    for (const SyncOutcome& o : outcomes) {
      auto q = impl_->Stmt(
          "UPDATE documents SET sync_lease_pid=NULL, sync_lease_until=NULL WHERE doc_key=? AND sync_lease_pid=?");
      q->bind(1, o.key);
      q->bind(2, pid);
      q->exec();
    }
    if (generation) {
      auto g = impl_->Stmt("SELECT value FROM meta WHERE key=?");
      g->bind(1, meta::kCollectionGeneration);
      const int64_t current = g->executeStep() ? std::stoll(g->getColumn(0).getString()) : 0;
      if (current != *generation) {
        r.superseded = static_cast<int>(outcomes.size());  // sent to a collection no longer active
        return;
      }
    }
    for (const SyncOutcome& o : outcomes) {
      int n = 0;
      switch (o.kind) {
        case SyncOutcome::Kind::kSynced: {
          auto q = impl_->Stmt(
              "UPDATE documents SET sync_status='synced', synced_hash=content_hash, "
              "synced_chunks=?, chunks_hwm=?, sync_attempts=0, sync_error=NULL, "
              "last_sync_attempt=? WHERE doc_key=? AND content_hash=? AND deleted_at IS NULL");
          q->bind(1, o.chunks);
          q->bind(2, o.chunks);
          q->bind(3, now);
          q->bind(4, o.key);
          q->bind(5, o.sent_hash);
          n = q->exec();
          r.synced += n;
          break;
        }
        case SyncOutcome::Kind::kFailed: {
          auto q = impl_->Stmt(
              "UPDATE documents SET sync_status='failed', sync_attempts=sync_attempts+1, "
              "last_sync_attempt=?, sync_error=? WHERE doc_key=? AND content_hash=? AND "
              "(deleted_at IS NULL) = ?");
          q->bind(1, now);
          q->bind(2, o.error);
          q->bind(3, o.key);
          q->bind(4, o.sent_hash);
          q->bind(5, o.deleted_at ? 0 : 1);
          n = q->exec();
          r.failed += n;
          break;
        }
        case SyncOutcome::Kind::kPurged: {
          auto q = impl_->Stmt("DELETE FROM documents WHERE doc_key=? AND deleted_at=?");
          q->bind(1, o.key);
          q->bind(2, o.deleted_at.value_or(-1));
          n = q->exec();
          r.purged += n;
          break;
        }
      }
      if (n == 0) ++r.superseded;
    }
  });
  if (!st.ok()) return st;
  return r;
}

Result<int64_t> DocumentStore::BeginSyncRun(const std::string& kind) {
  std::lock_guard lock(impl_->mu);
  int64_t id = 0;
  const int64_t now = clock_->NowMs();
  Status st = impl_->Run("starting sync run", true, [&] {
    auto q = impl_->Stmt("INSERT INTO sync_runs(kind, started_at) VALUES (?, ?)");
    q->bind(1, kind);
    q->bind(2, now);
    q->exec();
    id = impl_->db.getLastInsertRowid();
  });
  if (!st.ok()) return st;
  return id;
}

Status DocumentStore::FinishSyncRun(const SyncRun& run) {
  std::lock_guard lock(impl_->mu);
  const int64_t now = clock_->NowMs();
  return impl_->Run("finishing sync run", true, [&] {
    auto q = impl_->Stmt(
        "UPDATE sync_runs SET finished_at=?, attempted=?, synced=?, failed=?, deleted=?, "
        "batches=?, error=? WHERE id=?");
    q->bind(1, run.finished_at.value_or(now));
    q->bind(2, run.attempted);
    q->bind(3, run.synced);
    q->bind(4, run.failed);
    q->bind(5, run.deleted);
    q->bind(6, run.batches);
    BindOpt(*q, 7, run.error);
    q->bind(8, run.id);
    q->exec();
  });
}

Result<std::optional<SyncRun>> DocumentStore::LastSyncRun() {
  KB_ASSIGN_OR_RETURN(auto runs, RecentSyncRuns(1));
  if (runs.empty()) return std::optional<SyncRun>();
  return std::optional<SyncRun>(runs.front());
}

Result<std::vector<SyncRun>> DocumentStore::RecentSyncRuns(int limit) {
  std::lock_guard lock(impl_->mu);
  std::vector<SyncRun> out;
  Status st = impl_->Run("reading sync runs", false, [&] {
    out.clear();
    auto q = impl_->Stmt(std::string("SELECT ") + kSyncRunColumns +
                         " FROM sync_runs ORDER BY id DESC LIMIT ?");
    q->bind(1, limit);
    while (q->executeStep()) out.push_back(ReadSyncRun(*q));
  });
  if (!st.ok()) return st;
  return out;
}

Result<int> DocumentStore::ResetFailed(const std::string& id, bool only_exhausted,
                                       int max_attempts) {
  std::lock_guard lock(impl_->mu);
  int n = 0;
  Status st = impl_->Run("resetting failed documents", true, [&] {
    auto q = impl_->Stmt(
        "UPDATE documents SET sync_status='pending', sync_attempts=0, last_sync_attempt=NULL "
        "WHERE sync_status='failed' AND (?='' OR id=?) AND (?=0 OR sync_attempts >= ?)");
    q->bind(1, id);
    q->bind(2, id);
    q->bind(3, only_exhausted ? 1 : 0);
    q->bind(4, max_attempts);
    n = q->exec();
  });
  if (!st.ok()) return st;
  return n;
}

Result<int> DocumentStore::MarkAllPending() {
  std::lock_guard lock(impl_->mu);
  int n = 0;
  Status st = impl_->Run("marking documents pending", true, [&] {
    n = impl_->db.exec(
        "UPDATE documents SET sync_status='pending', sync_attempts=0, last_sync_attempt=NULL, "
        "sync_error=NULL WHERE deleted_at IS NULL");
  });
  if (!st.ok()) return st;
  return n;
}

Result<int> DocumentStore::MarkPending(std::span<const std::string> ids) {
  std::lock_guard lock(impl_->mu);
  int n = 0;
  Status st = impl_->Run("marking documents pending", true, [&] {
    n = 0;
    for (const std::string& id : ids) {
      auto q = impl_->Stmt(
          "UPDATE documents SET sync_status='pending', sync_attempts=0, last_sync_attempt=NULL, "
          "sync_error=NULL WHERE id=?");
      q->bind(1, id);
      n += q->exec();
    }
  });
  if (!st.ok()) return st;
  return n;
}

Status DocumentStore::ForgetVectorState() {
  std::lock_guard lock(impl_->mu);
  return impl_->Run("resetting vector state", true, [&] {
    impl_->db.exec("DELETE FROM documents WHERE deleted_at IS NOT NULL");
    impl_->db.exec(
        "UPDATE documents SET sync_status='pending', sync_attempts=0, last_sync_attempt=NULL, "
        "sync_error=NULL, synced_hash=NULL, synced_chunks=0, chunks_hwm=0");
  });
}

// ---------------------------------------------------------------- shadow build

Status DocumentStore::ClearShadow() {
  std::lock_guard lock(impl_->mu);
  return impl_->Run("clearing shadow state", true, [&] { impl_->db.exec("DELETE FROM shadow_sync"); });
}

Result<std::vector<Document>> DocumentStore::LivePage(int64_t after_key, int limit) {
  std::lock_guard lock(impl_->mu);
  std::vector<Document> out;
  Status st = impl_->Run("reading documents", false, [&] {
    out.clear();
    auto q = impl_->Stmt(std::string("SELECT ") + kDocumentColumns + kDocumentFrom +
                         " WHERE d.doc_key > ? AND d.deleted_at IS NULL ORDER BY d.doc_key LIMIT ?");
    q->bind(1, after_key);
    q->bind(2, limit);
    while (q->executeStep()) out.push_back(ReadDocument(*q));
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<Document>> DocumentStore::ShadowBehind(int64_t after_key, int limit) {
  std::lock_guard lock(impl_->mu);
  std::vector<Document> out;
  Status st = impl_->Run("reading documents", false, [&] {
    out.clear();
    auto q = impl_->Stmt(std::string("SELECT ") + kDocumentColumns + kDocumentFrom +
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
  std::lock_guard lock(impl_->mu);
  return impl_->Run("recording shadow state", true, [&] {
    for (const SendClaim& s : sent) {
      auto q = impl_->Stmt(
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
  std::lock_guard lock(impl_->mu);
  std::vector<std::pair<std::string, int>> out;
  Status st = impl_->Run("reading shadow state", false, [&] {
    out.clear();
    auto q = impl_->Stmt(
        "SELECT d.id, coalesce(s.chunks, 0) FROM documents d LEFT JOIN shadow_sync s ON "
        "s.doc_key = d.doc_key");
    while (q->executeStep()) out.emplace_back(q->getColumn(0).getString(), q->getColumn(1).getInt());
  });
  if (!st.ok()) return st;
  return out;
}

Status DocumentStore::SwitchToShadow(const std::vector<std::pair<std::string, std::string>>& meta) {
  std::lock_guard lock(impl_->mu);
  return impl_->Run("switching collections", true, [&] {
    // Rows the new collection has in their current version are synced there; others pending.
    impl_->db.exec(
        "UPDATE documents SET "
        "synced_hash = (SELECT s.content_hash FROM shadow_sync s WHERE s.doc_key = documents.doc_key), "
        "synced_chunks = coalesce((SELECT s.chunks FROM shadow_sync s WHERE s.doc_key = documents.doc_key), 0), "
        "chunks_hwm = coalesce((SELECT s.chunks FROM shadow_sync s WHERE s.doc_key = documents.doc_key), 0), "
        "sync_attempts = 0, sync_error = NULL, last_sync_attempt = NULL, "
        "sync_status = CASE WHEN deleted_at IS NULL AND content_hash = (SELECT s.content_hash FROM "
        "shadow_sync s WHERE s.doc_key = documents.doc_key) THEN 'synced' ELSE 'pending' END");
    // Tombstones the new collection never had need no remote delete.
    impl_->db.exec("DELETE FROM documents WHERE deleted_at IS NOT NULL AND chunks_hwm = 0");
    for (const auto& [k, v] : meta) {
      auto q = impl_->Stmt(
          "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value");
      q->bind(1, k);
      q->bind(2, v);
      q->exec();
    }
    impl_->db.exec("DELETE FROM shadow_sync");
  });
}

// ---------------------------------------------------------------- meta

Result<std::optional<std::string>> DocumentStore::GetMeta(const std::string& key) {
  std::lock_guard lock(impl_->mu);
  std::optional<std::string> out;
  Status st = impl_->Run("reading meta", false, [&] {
    out.reset();
    auto q = impl_->Stmt("SELECT value FROM meta WHERE key=?");
    q->bind(1, key);
    if (q->executeStep()) out = q->getColumn(0).getString();
  });
  if (!st.ok()) return st;
  return out;
}

Status DocumentStore::SetMeta(const std::string& key, const std::string& value) {
  std::lock_guard lock(impl_->mu);
  return impl_->Run("writing meta", true, [&] {
    auto q = impl_->Stmt(
        "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
        "value=excluded.value");
    q->bind(1, key);
    q->bind(2, value);
    q->exec();
  });
}

Status DocumentStore::DeleteMeta(const std::string& key) {
  std::lock_guard lock(impl_->mu);
  return impl_->Run("writing meta", true, [&] {
    auto q = impl_->Stmt("DELETE FROM meta WHERE key=?");
    q->bind(1, key);
    q->exec();
  });
}

// ---------------------------------------------------------------- integrity

Status DocumentStore::CheckIntegrity() {
  std::lock_guard lock(impl_->mu);
  std::string result;
  Status st = impl_->Run("integrity check", false, [&] {
    result.clear();
    SQLite::Statement q(impl_->db, "PRAGMA integrity_check");
    while (q.executeStep()) {
      if (!result.empty()) result += "; ";
      result += q.getColumn(0).getString();
    }
  });
  if (!st.ok()) return st;
  if (result != "ok") return Status::Corruption("PRAGMA integrity_check: " + result);
  st = impl_->Run("FTS5 integrity check", false, [&] {
    impl_->db.exec("INSERT INTO documents_fts(documents_fts, rank) VALUES ('integrity-check', 1)");
  });
  if (!st.ok()) return Status::Corruption("FTS5 index does not match documents: " + st.message());
  return Status::Ok();
}

}  // namespace kb
