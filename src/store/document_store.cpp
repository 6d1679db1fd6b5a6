// Opening the database (pragmas, migrations), sources, the meta table and the collection
// binding, and integrity checks. The other jobs of DocumentStore live in document_writes.cpp,
// document_reads.cpp, sync_state.cpp and shadow_sync.cpp.
#include "store/document_store.h"

#include <fcntl.h>
#include <algorithm>
#include <cstdio>
#include <utility>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "store/fts_functions.h"
#include "store/meta_keys.h"
#include "store/migrations.h"
#include "store/store_impl.h"

namespace kb {

const char* SyncStatusName(SyncStatus s) {
  switch (s) {
    case SyncStatus::kPending: return "pending";
    case SyncStatus::kSynced: return "synced";
    case SyncStatus::kFailed: return "failed";
  }
  return "pending";
}

DocumentStore::DocumentStore(std::string path, Clock* clock, std::unique_ptr<Impl> impl)
    : path_(std::move(path)), clock_(clock), impl_(std::move(impl)) {}

DocumentStore::~DocumentStore() {
  if (!impl_) return;
  {
    std::lock_guard lock(impl_->pool_mu);
    impl_->free_readers.clear();
    impl_->readers.clear();
  }
  if (impl_->read_only) return;
  try {
    // Keep the WAL from growing across runs; harmless if another process holds it.
    impl_->writer->stmts.clear();
    impl_->writer->db.exec("PRAGMA optimize");
  } catch (...) {
  }
}

namespace {

bool IsMemory(const std::string& path) {
  return path == ":memory:" || path.rfind("file::memory:", 0) == 0 || path.find("mode=memory") != std::string::npos;
}

// Runs `fn`, retrying while another process holds the database (up to `budget_ms`).
void RetryWhileBusy(int budget_ms, const std::function<void()>& fn) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(budget_ms, 1000));
  for (int attempt = 0;; ++attempt) {
    try {
      fn();
      return;
    } catch (const SQLite::Exception& e) {
      const int code = e.getErrorCode() & 0xff;
      if ((code != SQLITE_BUSY && code != SQLITE_LOCKED) || std::chrono::steady_clock::now() >= deadline) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(2 << std::min(attempt, 6), 100)));
    }
  }
}

}  // namespace

std::unique_ptr<Conn> OpenConnection(const std::string& path, bool writable, int busy_timeout_ms) {
  const int flags = writable ? SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX
                             : SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX;
  auto c = std::make_unique<Conn>(path, flags | SQLITE_OPEN_URI, busy_timeout_ms);
  if (int rc = RegisterFtsFunctions(c->db.getHandle()); rc != SQLITE_OK) {
    throw SQLite::Exception("cannot register the FTS5 functions", rc);
  }
  return c;
}

Result<std::unique_ptr<DocumentStore>> DocumentStore::Open(const std::string& path,
                                                           const StoreOptions& options) {
  Clock* clock = options.clock ? options.clock : Clock::Real();
  const bool memory = IsMemory(path);
  if (!memory) {
    // A new database is private to its user from the first byte (SQLite gives the -wal and
    // -shm files the database file's permissions).
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) ::close(fd);
  }
  std::unique_ptr<Conn> writer;
  bool read_only = false;
  std::string open_path = path;  // what the reader connections open too
  auto open = [&](const std::string& target, bool writable) {
    writer = OpenConnection(target, writable, options.busy_timeout_ms);
    read_only = sqlite3_db_readonly(writer->db.getHandle(), "main") == 1;
    RetryWhileBusy(3 * options.busy_timeout_ms, [&] {
      if (!read_only) {
        // journal_mode=WAL needs a brief write lock: retried like any write while busy.
        writer->db.exec("PRAGMA journal_mode=WAL");
        writer->db.exec("PRAGMA synchronous=NORMAL");
      }
      writer->db.exec("PRAGMA foreign_keys=ON");
      writer->db.exec("PRAGMA temp_store=MEMORY");
      // FTS5 merges re-read recent pages; the default 2 MB cache made them come from the kernel.
      // 8 MiB: 16 cost `index` ~10 MB more peak RSS; index time differed within the noise.
      writer->db.exec("PRAGMA cache_size=-8192");
      // A file that is not a database fails here rather than at the first query.
      (void)writer->db.execAndGet("PRAGMA user_version").getInt();
    });
    open_path = target;
  };
  try {
    try {
      open(path, true);
    } catch (const SQLite::Exception& e) {
      const int code = e.getErrorCode() & 0xff;
      if (memory || (code != SQLITE_READONLY && code != SQLITE_CANTOPEN && code != SQLITE_PERM)) throw;
      try {
        open(path, false);  // a file we may not write
      } catch (const SQLite::Exception&) {
        // ... in a folder we may not write either: WAL needs its -shm file, so read the file as
        // it is, without locking (nothing may write it anyway).
        std::string uri = "file:";
        for (char ch : path) {
          if (ch == '%' || ch == '?' || ch == '#') {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(ch));
            uri += buf;
          } else {
            uri += ch;
          }
        }
        open(uri + "?immutable=1", false);
      }
    }
  } catch (const SQLite::Exception& e) {
    return MapSqliteError(e, "opening database").WithContext(path);
  }
  if (read_only) {
    int version = -1;
    try {
      version = writer->db.execAndGet("PRAGMA user_version").getInt();
    } catch (const SQLite::Exception& e) {
      return MapSqliteError(e, "reading schema version").WithContext(path);
    }
    if (version != LatestSchemaVersion()) {
      return Status::IOError(path + " is read-only and was written by " +
                             (version < LatestSchemaVersion() ? "an older" : "a newer") +
                             " kbindex: it cannot be upgraded here; make it writable once");
    }
    spdlog::info("{} is read-only: searching works, writes will be refused", path);
  } else {
    Status st = ApplyMigrations(writer->db);
    if (!st.ok()) return st.WithContext(path);
  }
  auto impl = std::make_unique<Impl>(path, open_path, options.busy_timeout_ms, std::move(writer), read_only);
  impl->readers_unavailable = memory;
  impl->mmap_bytes = options.reader_mmap_bytes;
  impl->admission = std::make_unique<ReadAdmission>(
      options.concurrent_reads > 0 ? options.concurrent_reads
                                   : static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  return std::unique_ptr<DocumentStore>(new DocumentStore(path, clock, std::move(impl)));
}

// ---------------------------------------------------------------- connections

Status DocumentStore::Impl::Write(const char* what, const std::function<void(Conn&)>& fn) {
  if (read_only) {
    return Status::IOError(std::string(what) + ": the database " + display_path +
                           " is read-only (file or folder not writable)");
  }
  std::lock_guard lock(writer->mu);
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::milliseconds(std::max(3 * busy_timeout_ms, 1000));
  int attempt = 0;
  for (;;) {
    try {
      SQLite::Transaction tx(writer->db, SQLite::TransactionBehavior::IMMEDIATE);
      fn(*writer);
      tx.commit();
      return Status::Ok();
    } catch (const SQLite::Exception& e) {
      const int code = e.getErrorCode() & 0xff;
      if ((code == SQLITE_BUSY || code == SQLITE_LOCKED) && clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(2 << std::min(attempt, 6), 100)));
        ++attempt;
        continue;
      }
      return MapSqliteError(e, what);
    } catch (const std::exception& e) {
      return Status::Internal(std::string(what) + ": " + e.what());
    }
  }
}

Conn* DocumentStore::Impl::AcquireReader() {
  std::unique_lock lock(pool_mu);
  for (;;) {
    if (readers_unavailable) return nullptr;
    if (!free_readers.empty()) {
      Conn* c = free_readers.back();
      free_readers.pop_back();
      return c;
    }
    if (readers.size() < max_readers) {
      try {
        auto c = OpenConnection(path, false, busy_timeout_ms);
        c->db.exec("PRAGMA cache_size=-4096");
        // Every write (a pushed note, a sync status) empties a reader's page cache; mapped, a
        // search does not copy its FTS5 pages in again with pread (a quarter of a keyword
        // search's time at 100,000 notes). SQLite caps the size at its compiled maximum.
        if (mmap_bytes > 0) c->db.exec("PRAGMA mmap_size=" + std::to_string(mmap_bytes));
        readers.push_back(std::move(c));
        return readers.back().get();
      } catch (const SQLite::Exception& e) {
        spdlog::warn("cannot open a reader connection ({}); reading through the writer", e.what());
        readers_unavailable = true;
        return nullptr;
      }
    }
    pool_cv.wait(lock);
  }
}

void DocumentStore::Impl::ReleaseReader(Conn* c) {
  {
    std::lock_guard lock(pool_mu);
    free_readers.push_back(c);
  }
  pool_cv.notify_one();
}

namespace {
// Stops a read that is past its budget (Timeout).
struct Budget {
  std::chrono::steady_clock::time_point deadline;
};
int OverBudget(void* p) { return std::chrono::steady_clock::now() > static_cast<Budget*>(p)->deadline ? 1 : 0; }
// Set while this thread holds a turn: a read nested in another needs no second one.
thread_local bool t_in_read = false;
}  // namespace

Status DocumentStore::Impl::Read(const char* what, const std::function<void(Conn&)>& fn, int budget_ms) {
  std::optional<uint64_t> turn;
  if (!t_in_read) {
    turn = admission->Enter();
    t_in_read = true;
  }
  Conn* reader = AcquireReader();
  Conn& c = reader ? *reader : *writer;
  std::unique_lock lock(c.mu);
  Budget budget{std::chrono::steady_clock::now() + std::chrono::milliseconds(budget_ms)};
  if (budget_ms > 0) sqlite3_progress_handler(c.db.getHandle(), 1000, &OverBudget, &budget);
  Status st;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(3 * busy_timeout_ms, 1000));
  for (int attempt = 0;; ++attempt) {
    try {
      // One snapshot for all the statements of this read.
      const bool own_tx = sqlite3_get_autocommit(c.db.getHandle()) != 0;
      if (own_tx) c.db.exec("BEGIN");
      try {
        fn(c);
      } catch (...) {
        if (own_tx && sqlite3_get_autocommit(c.db.getHandle()) == 0) c.db.exec("ROLLBACK");
        throw;
      }
      if (own_tx) c.db.exec("COMMIT");
      st = Status::Ok();
      break;
    } catch (const SQLite::Exception& e) {
      const int code = e.getErrorCode() & 0xff;
      if (code == SQLITE_INTERRUPT && budget_ms > 0) {
        st = Status::Timeout(std::string(what) + " took longer than " + std::to_string(budget_ms) +
                             " ms and was stopped; make the query more specific");
        break;
      }
      if ((code == SQLITE_BUSY || code == SQLITE_LOCKED) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(2 << std::min(attempt, 6), 100)));
        continue;
      }
      st = MapSqliteError(e, what);
      break;
    } catch (const std::exception& e) {
      st = Status::Internal(std::string(what) + ": " + e.what());
      break;
    }
  }
  if (budget_ms > 0) sqlite3_progress_handler(c.db.getHandle(), 0, nullptr, nullptr);
  lock.unlock();
  if (reader) ReleaseReader(reader);
  if (turn) {
    admission->Leave(*turn);
    t_in_read = false;
  }
  return st;
}

Result<SourceInfo> DocumentStore::EnsureFolderSource(const std::string& root,
                                                     const std::string& preferred_name) {
  SourceInfo out;
  const int64_t now = clock_->NowMs();
  Status st = impl_->Write("registering source", [&](Conn& c) {
    {
      auto q = c.Stmt(
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
      auto q = c.Stmt("SELECT 1 FROM sources WHERE name=?");
      q->bind(1, name);
      if (!q->executeStep()) break;
      name = base + "-" + std::to_string(n);
    }
    auto ins = c.Stmt("INSERT INTO sources(name, kind, root, created_at) VALUES (?, 'folder', ?, ?)");
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
  const int64_t now = clock_->NowMs();
  return impl_->Write("registering API source", [&](Conn& c) {
    auto q = c.Stmt(
        "INSERT INTO sources(name, kind, root, created_at) VALUES (?, 'api', NULL, ?) "
        "ON CONFLICT(name) DO NOTHING");
    q->bind(1, name);
    q->bind(2, now);
    q->exec();
  });
}

Result<std::vector<SourceInfo>> DocumentStore::ListSources() {
  std::vector<SourceInfo> out;
  Status st = impl_->Read("listing sources", [&](Conn& c) {
    out.clear();
    auto q = c.Stmt(
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

Status DocumentStore::MarkScanned(const std::string& source) {
  const int64_t now = clock_->NowMs();
  return impl_->Write("recording scan", [&](Conn& c) {
    auto q = c.Stmt("UPDATE sources SET last_scan_at=? WHERE name=?");
    q->bind(1, now);
    q->bind(2, source);
    q->exec();
  });
}

Result<CollectionMeta> DocumentStore::ReadCollectionMeta() {
  CollectionMeta m;
  Status st = impl_->Read("reading the collection binding", [&](Conn& c) {
    m = CollectionMeta{};
    auto q = c.Stmt("SELECT key, value FROM meta WHERE key IN (?,?,?,?,?)");
    q->bind(1, meta::kEmbedder);
    q->bind(2, meta::kCollection);
    q->bind(3, meta::kCollectionId);
    q->bind(4, meta::kCollectionBase);
    q->bind(5, meta::kCollectionGeneration);
    while (q->executeStep()) {
      const std::string key = q->getColumn(0).getString();
      std::string value = q->getColumn(1).getString();
      if (key == meta::kEmbedder) m.embedder = std::move(value);
      else if (key == meta::kCollection) m.collection = std::move(value);
      else if (key == meta::kCollectionId) m.collection_id = std::move(value);
      else if (key == meta::kCollectionBase) m.collection_base = std::move(value);
      else m.generation = std::stoll(value);
    }
  });
  if (!st.ok()) return st;
  return m;
}

Result<bool> DocumentStore::RecordCollectionBinding(const CollectionBindingRecord& r) {
  bool forgot = false;
  bool conflict = false;
  Status st = impl_->Write("recording the collection binding", [&](Conn& c) {
    forgot = conflict = false;
    auto get = [&](const char* key) -> std::optional<std::string> {
      auto q = c.Stmt("SELECT value FROM meta WHERE key=?");
      q->bind(1, key);
      if (q->executeStep()) return q->getColumn(0).getString();
      return std::nullopt;
    };
    auto set = [&](const char* key, const std::string& value) {
      auto q = c.Stmt(
          "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value");
      q->bind(1, key);
      q->bind(2, value);
      q->exec();
    };
    const auto generation = get(meta::kCollectionGeneration);
    const auto active = get(meta::kCollection);
    if ((generation ? std::stoll(*generation) : 0) != r.expected_generation ||
        (active && *active != r.collection)) {
      conflict = true;
      return;
    }
    const auto known_id = get(meta::kCollectionId);
    if (known_id && *known_id != r.collection_id) {
      ForgetVectorStateIn(c.db);
      forgot = true;
    }
    if (!known_id || *known_id != r.collection_id) set(meta::kCollectionId, r.collection_id);
    if (!active) set(meta::kCollection, r.collection);
    if (!get(meta::kCollectionBase)) set(meta::kCollectionBase, r.collection_base);
    if (!get(meta::kEmbedder)) {
      set(meta::kEmbedder, r.embedder);
      if (r.embedder_dims > 0) set(meta::kEmbedderDims, std::to_string(r.embedder_dims));
    }
  });
  if (!st.ok()) return st;
  if (conflict) return Status::Conflict("the active collection changed meanwhile (an embedder switch)");
  return forgot;
}

Result<std::optional<std::string>> DocumentStore::GetMeta(const std::string& key) {
  KB_ASSIGN_OR_RETURN(auto values, GetMetas(std::span<const std::string>(&key, 1)));
  return std::move(values[0]);
}

Result<std::vector<std::optional<std::string>>> DocumentStore::GetMetas(std::span<const std::string> keys) {
  std::vector<std::optional<std::string>> out;
  Status st = impl_->Read("reading meta", [&](Conn& c) {
    out.assign(keys.size(), std::nullopt);
    for (size_t i = 0; i < keys.size(); ++i) {
      auto q = c.Stmt("SELECT value FROM meta WHERE key=?");
      q->bind(1, keys[i]);
      if (q->executeStep()) out[i] = q->getColumn(0).getString();
    }
  });
  if (!st.ok()) return st;
  return out;
}

Status DocumentStore::SetMeta(const std::string& key, const std::string& value) {
  return impl_->Write("writing meta", [&](Conn& c) {
    auto q = c.Stmt(
        "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
        "value=excluded.value");
    q->bind(1, key);
    q->bind(2, value);
    q->exec();
  });
}

Status DocumentStore::DeleteMeta(const std::string& key) {
  return impl_->Write("writing meta", [&](Conn& c) {
    auto q = c.Stmt("DELETE FROM meta WHERE key=?");
    q->bind(1, key);
    q->exec();
  });
}

Status DocumentStore::CheckIntegrity() {
  std::string result;
  Status st = impl_->Read("integrity check", [&](Conn& c) {
    result.clear();
    SQLite::Statement q(c.db, "PRAGMA integrity_check");
    while (q.executeStep()) {
      if (!result.empty()) result += "; ";
      result += q.getColumn(0).getString();
    }
  });
  if (!st.ok()) return st;
  if (result != "ok") return Status::Corruption("PRAGMA integrity_check: " + result);
  if (impl_->read_only) return Status::Ok();  // the FTS5 check is a command only a writer may run
  st = impl_->Write("FTS5 integrity check", [&](Conn& c) {
    c.db.exec("INSERT INTO documents_fts(documents_fts, rank) VALUES ('integrity-check', 1)");
  });
  if (!st.ok()) return Status::Corruption("FTS5 index does not match documents: " + st.message());
  return Status::Ok();
}

Status DocumentStore::OptimizeKeywordIndex() {
  return impl_->Write("merging the keyword index", [&](Conn& c) {
    c.db.exec("INSERT INTO documents_fts(documents_fts) VALUES ('optimize')");
  });
}

void DocumentStore::MergeKeywordIndexAfter(int64_t notes_written, int64_t bulk) {
  if (notes_written < bulk) return;
  if (Status st = OptimizeKeywordIndex(); !st.ok()) {
    spdlog::warn("keyword index not merged after writing {} notes: {}", notes_written, st.ToString());
  }
}

Result<int64_t> DocumentStore::KeywordIndexSegments() {
  int64_t n = 0;
  Status st = impl_->Read("counting keyword index segments", [&](Conn& c) {
    n = c.db.execAndGet("SELECT count(DISTINCT segid) FROM documents_fts_idx").getInt64();
  });
  if (!st.ok()) return st;
  return n;
}

}  // namespace kb
