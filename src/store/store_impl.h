// DocumentStore::Impl and the row helpers shared by the store's .cpp files (one per job:
// document_store.cpp opens and keeps meta, document_writes.cpp, document_reads.cpp,
// sync_state.cpp, shadow_sync.cpp). Private to src/store/.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "store/document_store.h"
#include "store/fts_functions.h"
#include "store/read_admission.h"

namespace kb {

inline SyncStatus ParseSyncStatus(const std::string& s) {
  if (s == "synced") return SyncStatus::kSynced;
  if (s == "failed") return SyncStatus::kFailed;
  return SyncStatus::kPending;
}

inline Status MapSqliteError(const SQLite::Exception& e, const char* what) {
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
inline std::optional<int64_t> OptInt(const SQLite::Column& c) {
  return c.isNull() ? std::nullopt : std::optional<int64_t>(c.getInt64());
}
inline std::optional<std::string> OptText(const SQLite::Column& c) {
  return c.isNull() ? std::nullopt : std::optional<std::string>(c.getString());
}

template <typename T>
inline void BindOpt(SQLite::Statement& st, int index, const std::optional<T>& v) {
  if (v) {
    st.bind(index, *v);
  } else {
    st.bind(index);
  }
}

// Every column of a Document; the text comes from document_text (absent for tombstones).
// Use as: std::string("SELECT ") + kDocumentColumns + kDocumentFrom + " WHERE ...".
inline constexpr const char* kDocumentColumns =
    "d.doc_key, d.id, d.source, d.path, d.title, coalesce(t.body, ''), d.metadata, d.content_hash, "
    "d.file_mtime_ns, d.file_size, d.created_at, d.updated_at, d.deleted_at, d.sync_status, "
    "d.sync_attempts, d.last_sync_attempt, d.sync_error, d.synced_hash, d.synced_chunks, d.chunks_hwm, "
    "d.sync_notice";
inline constexpr const char* kDocumentFrom =
    " FROM documents d LEFT JOIN document_text t ON t.doc_key = d.doc_key";
// The same columns without the note's text (an empty body), for reads that do not need it.
inline constexpr const char* kDocumentColumnsNoBody =
    "d.doc_key, d.id, d.source, d.path, d.title, '', d.metadata, d.content_hash, "
    "d.file_mtime_ns, d.file_size, d.created_at, d.updated_at, d.deleted_at, d.sync_status, "
    "d.sync_attempts, d.last_sync_attempt, d.sync_error, d.synced_hash, d.synced_chunks, d.chunks_hwm, "
    "d.sync_notice";
inline constexpr const char* kDocumentFromNoBody = " FROM documents d";

inline Document ReadDocument(SQLite::Statement& st) {
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
  d.sync_notice = OptText(st.getColumn(20));
  return d;
}

inline SyncRun ReadSyncRun(SQLite::Statement& st) {
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
// The vector store lost everything (its collection was recreated): live rows become pending
// with nothing synced, tombstones are purged. Runs inside the caller's transaction.
inline void ForgetVectorStateIn(SQLite::Database& db) {
  db.exec("DELETE FROM documents WHERE deleted_at IS NOT NULL");
  db.exec("DELETE FROM document_moves");
  db.exec(
      "UPDATE documents SET sync_status='pending', sync_attempts=0, last_sync_attempt=NULL, "
      "sync_error=NULL, synced_hash=NULL, synced_chunks=0, chunks_hwm=0");
}

inline constexpr const char* kSyncRunColumns =
    "id, kind, started_at, finished_at, attempted, synced, failed, deleted, batches, error";

struct TextRow {
  int64_t doc_key;
  const std::string* title;
  const std::string* body;
};

// A statement from a connection's cache, reset (bindings cleared) when the use ends, so that no
// statement keeps a read snapshot open between calls.
class StmtUse {
 public:
  explicit StmtUse(SQLite::Statement& st) : st_(st) {}
  ~StmtUse() {
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

// One SQLite connection and its prepared statements. Used by one thread at a time.
struct Conn {
  Conn(const std::string& path, int flags, int busy_timeout) : db(path, flags, busy_timeout) {}

  StmtUse Stmt(const std::string& sql) {
    auto it = stmts.find(sql);
    if (it == stmts.end()) it = stmts.emplace(sql, std::make_unique<SQLite::Statement>(db, sql)).first;
    return StmtUse(*it->second);
  }

  // Writes note texts (inserting or replacing) many rows per statement: FTS5 flushes its
  // pending terms at every statement boundary, so one row per statement made a new index
  // segment per note and doubled the cost of indexing. A statement holds up to kRows rows and
  // kBytes of text (a big note goes alone): SQLite and FTS5 hold several transient copies of
  // every text of a statement, ~6x a 10 MiB note, and three such notes together were 150 MB.
  void WriteTexts(const std::vector<TextRow>& rows) {
    constexpr size_t kRows = 128;
    constexpr size_t kBytes = 2u << 20;
    auto sql_for = [](size_t n) {
      std::string sql = "INSERT INTO document_text(doc_key, title, body) VALUES ";
      for (size_t i = 0; i < n; ++i) sql += i ? ",(?,?,?)" : "(?,?,?)";
      return sql + " ON CONFLICT(doc_key) DO UPDATE SET title=excluded.title, body=excluded.body";
    };
    static const std::string kFull = sql_for(kRows);
    for (size_t start = 0; start < rows.size();) {
      size_t n = 0, bytes = 0;
      while (start + n < rows.size() && n < kRows) {
        const size_t b = rows[start + n].title->size() + rows[start + n].body->size();
        if (n > 0 && bytes + b > kBytes) break;
        bytes += b;
        ++n;
      }
      std::optional<SQLite::Statement> partial;
      SQLite::Statement* st;
      std::optional<StmtUse> use;
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
      start += n;
    }
  }

  // The keyword index's tokenizer (schema: documents_fts), opened on first use; null when
  // FTS5 cannot give it.
  const FtsTokenizer* Tokenizer() {
    if (!tokenizer) tokenizer = FtsTokenizer::Open(db.getHandle(), "unicode61", {"remove_diacritics", "2"});
    return tokenizer.get();
  }

  std::mutex mu;
  SQLite::Database db;  // declared before stmts and the tokenizer: they are destroyed first
  std::unordered_map<std::string, std::unique_ptr<SQLite::Statement>> stmts;
  std::unique_ptr<FtsTokenizer> tokenizer;
};

// One writer connection, and a pool of read-only connections so that readers never wait on the
// writer, nor on each other for longer than ReadAdmission::kHold (WAL lets them read while a
// write is in progress). An in-memory database has no second connection: everything goes
// through the writer.
struct DocumentStore::Impl {
  Impl(std::string display_path_in, std::string path_in, int busy_timeout, std::unique_ptr<Conn> writer_in,
       bool read_only_in)
      : display_path(std::move(display_path_in)),
        path(std::move(path_in)),
        busy_timeout_ms(busy_timeout),
        read_only(read_only_in),
        writer(std::move(writer_in)) {}

  // Runs `fn` on the writer inside one BEGIN IMMEDIATE transaction, retrying while the database
  // is busy for up to three busy timeouts. `fn` must be safe to run again.
  Status Write(const char* what, const std::function<void(Conn&)>& fn);
  // Runs `fn` on a reader (one consistent snapshot). With `budget_ms` > 0, SQLite is
  // interrupted when the read takes longer: Timeout.
  Status Read(const char* what, const std::function<void(Conn&)>& fn, int budget_ms = 0);

  Conn* AcquireReader();
  void ReleaseReader(Conn* c);
  void InterruptReaders();

  const std::string display_path;  // as the caller named it
  const std::string path;          // what connections open (a URI for an immutable file)
  const int busy_timeout_ms;
  const bool read_only;
  std::unique_ptr<Conn> writer;
  size_t max_readers = 8;
  std::unique_ptr<ReadAdmission> admission;
  int64_t mmap_bytes = 0;  // PRAGMA mmap_size of each reader
  std::mutex pool_mu;
  std::condition_variable pool_cv;
  std::vector<std::unique_ptr<Conn>> readers;
  std::vector<Conn*> free_readers;
  bool readers_unavailable = false;  // in-memory, or a reader could not be opened
};

// Records `files` as skipped for `source` (replacing what a path had), on `c` inside a write.
void InsertSkipped(Conn& c, const std::string& source, std::span<const SkippedFile> files);

// Opens one connection as kbindex uses it: functions registered, and (when it may write) the
// pragmas. Throws SQLite::Exception.
std::unique_ptr<Conn> OpenConnection(const std::string& path, bool writable, int busy_timeout_ms);

}  // namespace kb
