// Opening the database (pragmas, migrations), sources, the meta table and the collection
// binding, and integrity checks. The other jobs of DocumentStore live in document_writes.cpp,
// document_reads.cpp, sync_state.cpp and shadow_sync.cpp.
#include "store/document_store.h"

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

Result<CollectionMeta> DocumentStore::ReadCollectionMeta() {
  std::lock_guard lock(impl_->mu);
  CollectionMeta m;
  Status st = impl_->Run("reading the collection binding", false, [&] {
    m = CollectionMeta{};
    auto q = impl_->Stmt("SELECT key, value FROM meta WHERE key IN (?,?,?,?,?)");
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
  std::lock_guard lock(impl_->mu);
  bool forgot = false;
  bool conflict = false;
  Status st = impl_->Run("recording the collection binding", true, [&] {
    forgot = conflict = false;
    auto get = [&](const char* key) -> std::optional<std::string> {
      auto q = impl_->Stmt("SELECT value FROM meta WHERE key=?");
      q->bind(1, key);
      if (q->executeStep()) return q->getColumn(0).getString();
      return std::nullopt;
    };
    auto set = [&](const char* key, const std::string& value) {
      auto q = impl_->Stmt(
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
      ForgetVectorStateIn(impl_->db);
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
