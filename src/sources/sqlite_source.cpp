#include "sources/sqlite_source.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <cstring>

#include "sources/sql_names.h"

namespace kb::sources {
namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// file:<path>?mode=ro with the characters URIs reserve escaped.
std::string ReadOnlyUri(const std::string& path) {
  std::string uri = "file:";
  for (unsigned char c : path) {
    if (c == '?' || c == '#' || c == '%' || c < 0x20 || c >= 0x7f) {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      uri += buf;
    } else {
      uri += static_cast<char>(c);
    }
  }
  return uri + "?mode=ro";
}

// "123" (and "-5"), the canonical decimal form of an int64: such ids are bound as integers.
bool CanonicalInt(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  try {
    size_t used = 0;
    const long long v = std::stoll(s, &used);
    if (used != s.size() || std::to_string(v) != s) return false;
    *out = v;
    return true;
  } catch (...) {
    return false;
  }
}

Value ColumnValue(sqlite3_stmt* st, int i) {
  Value v;
  switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
      v.type = Value::Type::kInt;
      v.i = sqlite3_column_int64(st, i);
      v.text = std::to_string(v.i);
      break;
    case SQLITE_FLOAT:
      v.type = Value::Type::kReal;
      v.d = sqlite3_column_double(st, i);
      v.text = reinterpret_cast<const char*>(sqlite3_column_text(st, i));
      break;
    case SQLITE_TEXT:
      v.type = Value::Type::kText;
      v.text.assign(reinterpret_cast<const char*>(sqlite3_column_text(st, i)),
                    static_cast<size_t>(sqlite3_column_bytes(st, i)));
      break;
    case SQLITE_BLOB: {
      v.type = Value::Type::kBlob;
      const void* p = sqlite3_column_blob(st, i);
      const int n = sqlite3_column_bytes(st, i);
      if (p && n > 0) v.text.assign(static_cast<const char*>(p), static_cast<size_t>(n));
      break;
    }
    default: break;
  }
  return v;
}

}  // namespace

// A prepared statement, finalized at scope exit.
class SqliteRowSource::Stmt {
 public:
  Stmt(SqliteRowSource& owner, const std::string& sql) : owner_(owner) {
    rc_ = sqlite3_prepare_v2(owner.db_, sql.c_str(), static_cast<int>(sql.size()), &st_, nullptr);
    owner_.deadline_ms_ = SteadyMs() + owner_.src_.statement_timeout_ms;
  }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  int prepare_rc() const { return rc_; }
  sqlite3_stmt* get() { return st_; }
  void Bind(int i, int64_t v) { sqlite3_bind_int64(st_, i, v); }
  void Bind(int i, const std::string& v) {
    sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void BindKey(int i, const RowKey& k) {
    switch (k.type) {
      case Value::Type::kInt: Bind(i, k.i); break;
      case Value::Type::kReal: sqlite3_bind_double(st_, i, k.d); break;
      case Value::Type::kBlob:
        sqlite3_bind_blob(st_, i, k.text.data(), static_cast<int>(k.text.size()), SQLITE_TRANSIENT);
        break;
      default: Bind(i, k.text); break;
    }
  }

 private:
  SqliteRowSource& owner_;
  sqlite3_stmt* st_ = nullptr;
  int rc_ = SQLITE_OK;
};

SqliteRowSource::SqliteRowSource(kbindex::DatabaseSource source) : src_(std::move(source)) {
  plan_ = BuildSqlPlan(src_, Dialect::kSqlite,
                       src_.updated_at_column.empty() ? "" : SqliteUpdatedMs(src_.updated_at_column, src_.updated_at_unit),
                       "");
}

SqliteRowSource::~SqliteRowSource() { Close(); }

void SqliteRowSource::Close() {
  if (db_) sqlite3_close_v2(db_);
  db_ = nullptr;
}

std::string SqliteRowSource::Describe() const {
  return "sqlite " + src_.path + (src_.table.empty() ? ", query" : ", table " + src_.table);
}

Status SqliteRowSource::Error(int rc, const std::string& what) const {
  const std::string msg = "source '" + src_.name + "' (" + Describe() + "): " + what + ": " +
                          (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_CANTOPEN: return Status::Unavailable(msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Status::Busy(msg + " (the application held the database locked)");
    case SQLITE_INTERRUPT:
      return Status::Timeout(msg + " (ran past statement_timeout_ms = " + std::to_string(src_.statement_timeout_ms) + ")");
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT: return Status::Corruption(msg);
    case SQLITE_IOERR: return Status::IOError(msg);
    case SQLITE_ERROR: return Status::InvalidArgument(msg + " (check the table and column names of the source)");
    default: return Status::Internal(msg);
  }
}

Status SqliteRowSource::Open() {
  Close();
  struct stat st {};
  if (::stat(src_.path.c_str(), &st) != 0) {
    return Status::Unavailable("source '" + src_.name + "': the database file " + src_.path + " cannot be reached: " +
                               std::strerror(errno) + " (unmounted or moved?); nothing indexed from it is changed");
  }
  const std::string uri = ReadOnlyUri(src_.path);
  const int rc = sqlite3_open_v2(uri.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status s = Error(rc, "cannot open");
    Close();
    return s.code() == Status::Code::kInvalidArgument ? Status::Unavailable(s.message()) : s;
  }
  sqlite3_busy_timeout(db_, src_.statement_timeout_ms);
  // Interrupts a statement that runs past its deadline (checked every 10k VM steps).
  sqlite3_progress_handler(
      db_, 10000, [](void* self) { return SteadyMs() > static_cast<SqliteRowSource*>(self)->deadline_ms_ ? 1 : 0; },
      this);
  for (const std::string* sql : {&plan_.probe, &plan_.outbox_probe}) {
    if (sql->empty()) continue;
    Stmt q(*this, *sql);
    int step = q.prepare_rc();
    if (step == SQLITE_OK) step = sqlite3_step(q.get());
    if (step != SQLITE_DONE && step != SQLITE_ROW) {
      Status s = Error(step, sql == &plan_.probe ? "reading the notes table" : "reading the outbox table");
      Close();
      return s;
    }
  }
  return Status::Ok();
}

Result<std::vector<Row>> SqliteRowSource::ReadRows(Stmt& st) {
  if (st.prepare_rc() != SQLITE_OK) return Error(st.prepare_rc(), "preparing a read");
  std::vector<Row> rows;
  const int n_meta = static_cast<int>(src_.metadata_columns.size());
  for (;;) {
    const int rc = sqlite3_step(st.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return Error(rc, "reading rows");
    Row r;
    Value key = ColumnValue(st.get(), kColKey);
    if (!key.is_null()) r.key = std::move(key);
    if (!src_.title_column.empty()) r.title = ColumnValue(st.get(), kColTitle);
    r.body = ColumnValue(st.get(), kColBody);
    if (sqlite3_column_type(st.get(), kColUpdated) != SQLITE_NULL) r.updated_ms = sqlite3_column_int64(st.get(), kColUpdated);
    r.deleted = Truthy(ColumnValue(st.get(), kColDeletedFlag)) ||
                sqlite3_column_type(st.get(), kColDeletedAt) != SQLITE_NULL;
    for (int m = 0; m < n_meta; ++m) {
      r.metadata.emplace_back(src_.metadata_columns[static_cast<size_t>(m)], ColumnValue(st.get(), kColFirstMeta + m));
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

Result<std::vector<Row>> SqliteRowSource::ReadByKey(const std::optional<RowKey>& after, int limit) {
  if (!db_) KB_RETURN_IF_ERROR(Open());
  Stmt st(*this, after ? plan_.by_key_after : plan_.by_key_first);
  if (after) {
    st.BindKey(1, *after);
    st.Bind(2, static_cast<int64_t>(limit));
  } else {
    st.Bind(1, static_cast<int64_t>(limit));
  }
  return ReadRows(st);
}

Result<std::vector<Row>> SqliteRowSource::ReadUpdatedSince(int64_t since_ms,
                                                           const std::optional<std::pair<int64_t, RowKey>>& after,
                                                           int limit) {
  if (src_.updated_at_column.empty()) return Status::InvalidArgument("source '" + src_.name + "' has no updated_at_column");
  if (!db_) KB_RETURN_IF_ERROR(Open());
  Stmt st(*this, after ? plan_.updated_after : plan_.updated_first);
  st.Bind(1, since_ms);
  if (after) {
    st.Bind(2, after->first);
    st.BindKey(3, after->second);
    st.Bind(4, static_cast<int64_t>(limit));
  } else {
    st.Bind(2, static_cast<int64_t>(limit));
  }
  return ReadRows(st);
}

Result<std::vector<Row>> SqliteRowSource::ReadItems(std::span<const std::string> ids) {
  if (!db_) KB_RETURN_IF_ERROR(Open());
  std::vector<Row> out;
  constexpr size_t kPerStatement = 500;  // well below SQLite's parameter limit
  for (size_t start = 0; start < ids.size(); start += kPerStatement) {
    const size_t n = std::min(kPerStatement, ids.size() - start);
    std::string sql = plan_.items;
    for (size_t i = 0; i < n; ++i) sql += (i ? ", ?" : "?") + std::to_string(i + 1);
    sql += ")";
    Stmt st(*this, sql);
    for (size_t i = 0; i < n; ++i) {
      // "42" is bound as 42: an INTEGER id column compares equal either way, an id computed by a
      // query (no column affinity) only when the types match.
      int64_t v = 0;
      if (CanonicalInt(ids[start + i], &v)) {
        st.Bind(static_cast<int>(i + 1), v);
      } else {
        st.Bind(static_cast<int>(i + 1), ids[start + i]);
      }
    }
    KB_ASSIGN_OR_RETURN(auto rows, ReadRows(st));
    for (auto& r : rows) out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<Event>> SqliteRowSource::ReadEvents(int64_t after, std::optional<int64_t> upto, int limit) {
  if (src_.outbox_table.empty()) return Status::InvalidArgument("source '" + src_.name + "' has no outbox_table");
  if (!db_) KB_RETURN_IF_ERROR(Open());
  Stmt st(*this, upto ? plan_.events_upto : plan_.events);
  st.Bind(1, after);
  if (upto) {
    st.Bind(2, *upto);
    st.Bind(3, static_cast<int64_t>(limit));
  } else {
    st.Bind(2, static_cast<int64_t>(limit));
  }
  if (st.prepare_rc() != SQLITE_OK) return Error(st.prepare_rc(), "preparing the outbox read");
  std::vector<Event> events;
  for (;;) {
    const int rc = sqlite3_step(st.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return Error(rc, "reading the outbox");
    if (sqlite3_column_type(st.get(), 0) != SQLITE_INTEGER) {
      return Status::InvalidArgument("source '" + src_.name + "': outbox event ids must be integers");
    }
    Event e;
    e.id = sqlite3_column_int64(st.get(), 0);
    Value note = ColumnValue(st.get(), 1);
    if (!note.is_null()) e.note_id = note.text;
    e.type = ColumnValue(st.get(), 2).text;
    Value at = ColumnValue(st.get(), 3);
    if (!at.is_null()) e.at = at.text;
    events.push_back(std::move(e));
  }
  return events;
}

Result<int64_t> SqliteRowSource::MaxEventId() {
  if (src_.outbox_table.empty()) return Status::InvalidArgument("source '" + src_.name + "' has no outbox_table");
  if (!db_) KB_RETURN_IF_ERROR(Open());
  Stmt st(*this, plan_.max_event);
  if (st.prepare_rc() != SQLITE_OK) return Error(st.prepare_rc(), "preparing the outbox read");
  const int rc = sqlite3_step(st.get());
  if (rc != SQLITE_ROW) return Error(rc, "reading the outbox");
  return static_cast<int64_t>(sqlite3_column_int64(st.get(), 0));
}

}  // namespace kb::sources
