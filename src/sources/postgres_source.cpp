#include "sources/postgres_source.h"

#include <libpq-fe.h>
#include <poll.h>

#include <chrono>
#include <cstring>

#include "sources/sql_names.h"

namespace kb::sources {
namespace {

// Type OIDs (pg_type.dat) of the columns we read specially.
constexpr Oid kBool = 16, kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kJson = 114, kFloat4 = 700,
              kFloat8 = 701, kNumeric = 1700, kDate = 1082, kTimestamp = 1114, kTimestampTz = 1184, kJsonb = 3802;

bool IsIntType(Oid t) { return t == kInt8 || t == kInt2 || t == kInt4; }

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The parsed options of a conninfo, or nullptr when it does not parse.
struct ConnOptions {
  PQconninfoOption* opts = nullptr;
  explicit ConnOptions(const std::string& conninfo) {
    char* err = nullptr;
    opts = PQconninfoParse(conninfo.c_str(), &err);
    if (err) PQfreemem(err);  // may quote the text: never shown
  }
  ~ConnOptions() {
    if (opts) PQconninfoFree(opts);
  }
  ConnOptions(const ConnOptions&) = delete;
  ConnOptions& operator=(const ConnOptions&) = delete;
  std::string Get(const char* key) const {
    for (PQconninfoOption* o = opts; o && o->keyword; ++o) {
      if (std::strcmp(o->keyword, key) == 0 && o->val) return o->val;
    }
    return "";
  }
};

void IgnoreNotice(void*, const char*) {}

std::string ArrayLiteral(std::span<const std::string> ids) {
  std::string out = "{";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : ids[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

bool IsCanonicalInt(const std::string& s) {
  if (s.empty() || s.size() > 20) return false;
  try {
    size_t used = 0;
    const long long v = std::stoll(s, &used);
    return used == s.size() && std::to_string(v) == s;
  } catch (...) {
    return false;
  }
}

}  // namespace

std::string RedactConninfo(const std::string& conninfo) {
  ConnOptions o(conninfo);
  if (!o.opts) return "(a conninfo that does not parse; not shown, it may hold a password)";
  std::string out;
  for (const char* key : {"host", "hostaddr", "port", "dbname", "user", "sslmode"}) {
    const std::string v = o.Get(key);
    if (v.empty()) continue;
    if (!out.empty()) out += ' ';
    out += std::string(key) + "=" + v;
  }
  if (!o.Get("password").empty()) out += out.empty() ? "password=***" : " password=***";
  return out.empty() ? "(libpq defaults)" : out;
}

void PostgresRowSource::ResultDeleter::operator()(pg_result* r) const { PQclear(r); }

PostgresRowSource::PostgresRowSource(kbindex::DatabaseSource source, std::string conninfo)
    : src_(std::move(source)), conninfo_(std::move(conninfo)) {
  ConnOptions o(conninfo_);
  parsed_ = o.opts != nullptr;
  if (parsed_) password_ = o.Get("password");
  std::string where;
  if (parsed_) {
    for (const char* key : {"host", "port", "dbname", "user"}) {
      const std::string v = o.Get(key);
      if (!v.empty()) where += std::string(where.empty() ? "" : " ") + key + "=" + v;
    }
  }
  describe_ = "postgres " + (where.empty() ? std::string("(libpq defaults)") : where) +
              (src_.table.empty() ? ", query" : ", table " + src_.table);
}

PostgresRowSource::~PostgresRowSource() { Close(); }

void PostgresRowSource::Close() {
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
}

std::string PostgresRowSource::Describe() const { return describe_; }

std::string PostgresRowSource::Scrub(std::string m) const {
  if (password_.size() >= 3) {
    for (size_t at = m.find(password_); at != std::string::npos; at = m.find(password_, at + 3)) {
      m.replace(at, password_.size(), "***");
    }
  }
  for (size_t at = m.find("password="); at != std::string::npos; at = m.find("password=", at + 12)) {
    size_t end = at + 9;
    while (end < m.size() && !std::isspace(static_cast<unsigned char>(m[end]))) ++end;
    m.replace(at + 9, end - at - 9, "***");
  }
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  for (char& c : m) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  return m;
}

Status PostgresRowSource::ConnectionError(const std::string& what) const {
  return Status::Unavailable("source '" + src_.name + "' (" + describe_ + "): " + what + ": " +
                             Scrub(conn_ ? PQerrorMessage(conn_) : "no connection") +
                             "; nothing indexed from it is changed");
}

Status PostgresRowSource::Open() {
  Close();
  if (!parsed_) {
    return Status::InvalidArgument("source '" + src_.name +
                                   "': the conninfo does not parse (its text is not shown: it may hold a password)");
  }
  ConnOptions o(conninfo_);
  // Our settings come after the user's conninfo (expanded from "dbname"), so they win; the
  // user's own "options" are kept in front of ours.
  std::string options = o.Get("options");
  options += (options.empty() ? "" : " ") + std::string("-c default_transaction_read_only=on -c TimeZone=UTC") +
             " -c statement_timeout=" + std::to_string(src_.statement_timeout_ms);
  const std::string connect_timeout = std::to_string(src_.connect_timeout_s);
  const char* keys[] = {"dbname", "connect_timeout", "client_encoding", "application_name", "options", "keepalives",
                        "keepalives_idle", "keepalives_interval", "keepalives_count", nullptr};
  const char* values[] = {conninfo_.c_str(), connect_timeout.c_str(), "UTF8", "kbindex", options.c_str(), "1", "10",
                          "5", "3", nullptr};
  conn_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    Status s = ConnectionError("cannot connect");
    Close();
    return s;
  }
  PQsetNoticeProcessor(conn_, IgnoreNotice, nullptr);
  // A SQL_ASCII database holds bytes, not text: converting them to UTF-8 on the server would fail
  // a whole page on one bad row. Read them as they are; each row's text is checked on our side
  // (a row that is not UTF-8 is skipped with its reason).
  if (const char* enc = PQparameterStatus(conn_, "server_encoding"); enc && std::strcmp(enc, "SQL_ASCII") == 0) {
    PQsetClientEncoding(conn_, "SQL_ASCII");
  }

  Status checked = CheckMapping();
  if (!checked.ok()) Close();
  return checked;
}

Status PostgresRowSource::CheckMapping() {
  // How updated_at becomes Unix ms depends on its type: ask the server.
  std::string updated_ms, prefilter;
  if (!src_.updated_at_column.empty()) {
    const std::string from = src_.table.empty() ? "(" + src_.query + ") AS s" : Quote(src_.table) + " AS s";
    KB_ASSIGN_OR_RETURN(PgResult r, Exec("SELECT s." + Quote(src_.updated_at_column) + " FROM " + from + " LIMIT 0", {},
                                         "reading the notes table"));
    const Oid t = PQftype(r.get(), 0);
    const std::string c = "s." + Quote(src_.updated_at_column);
    if (t == kTimestamp || t == kTimestampTz || t == kDate) {
      updated_ms = "floor(extract(epoch FROM " + c + ") * 1000)::int8";
      prefilter = c + " >= to_timestamp($1::float8 / 1000)";  // the same test, but an index can serve it
    } else if (IsIntType(t) || t == kNumeric || t == kFloat4 || t == kFloat8) {
      const std::string& unit = src_.updated_at_unit;
      const std::string ms = unit == "ms"  ? c
                             : unit == "s" ? "(" + c + ") * 1000"
                                           : "(CASE WHEN abs(" + c + ") >= 100000000000 THEN " + c + " ELSE (" + c +
                                                 ") * 1000 END)";
      updated_ms = "floor(" + ms + ")::int8";
    } else {
      return Status::InvalidArgument("source '" + src_.name + "': updated_at_column '" + src_.updated_at_column +
                                     "' must be a timestamp, a date or a number of seconds or milliseconds");
    }
  }
  plan_ = BuildSqlPlan(src_, Dialect::kPostgres, updated_ms, prefilter);
  {
    KB_ASSIGN_OR_RETURN(PgResult r, Exec(plan_.probe, {}, "reading the notes table"));
    key_is_int_ = IsIntType(PQftype(r.get(), kColKey));
  }
  if (!plan_.outbox_probe.empty()) {
    KB_ASSIGN_OR_RETURN(PgResult r, Exec(plan_.outbox_probe, {}, "reading the outbox table"));
    if (!IsIntType(PQftype(r.get(), 0))) {
      return Status::InvalidArgument("source '" + src_.name + "': outbox event ids (" + src_.outbox_event_id_column +
                                     ") must be integers");
    }
  }
  return Status::Ok();
}

Result<PostgresRowSource::PgResult> PostgresRowSource::Exec(const std::string& sql,
                                                            const std::vector<std::optional<std::string>>& params,
                                                            const char* what) {
  if (!conn_) KB_RETURN_IF_ERROR(Open());
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  if (!PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                         nullptr, 0)) {
    Status s = ConnectionError(what);
    Close();
    return s;
  }
  // Our own deadline, a little past the server's statement_timeout: a server that stopped
  // answering (or a network that dropped) cannot hold the run.
  const int64_t deadline = SteadyMs() + src_.statement_timeout_ms + 5'000;
  while (PQisBusy(conn_)) {
    const int64_t left = deadline - SteadyMs();
    pollfd pfd{PQsocket(conn_), POLLIN, 0};
    const int n = left > 0 ? ::poll(&pfd, 1, static_cast<int>(left)) : 0;
    if (n == 0) {
      if (PGcancel* cancel = PQgetCancel(conn_)) {
        char buf[256];
        PQcancel(cancel, buf, sizeof buf);
        PQfreeCancel(cancel);
      }
      Close();
      return Status::Timeout("source '" + src_.name + "' (" + describe_ + "): " + what + ": no answer within " +
                             std::to_string(src_.statement_timeout_ms + 5'000) + " ms");
    }
    if (n < 0 && errno == EINTR) continue;
    if (!PQconsumeInput(conn_)) {
      Status s = ConnectionError(what);
      Close();
      return s;
    }
  }
  PgResult result;
  while (PGresult* r = PQgetResult(conn_)) {
    if (!result || PQresultStatus(r) == PGRES_FATAL_ERROR) {
      result.reset(r);
    } else {
      PQclear(r);
    }
  }
  if (!result || PQstatus(conn_) == CONNECTION_BAD) {
    Status s = ConnectionError(what);
    Close();
    return s;
  }
  if (PQresultStatus(result.get()) == PGRES_TUPLES_OK || PQresultStatus(result.get()) == PGRES_COMMAND_OK) {
    return result;
  }
  const char* state = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
  const std::string code = state ? state : "";
  const std::string msg = "source '" + src_.name + "' (" + describe_ + "): " + what + ": " +
                          Scrub(PQresultErrorMessage(result.get()));
  if (code.starts_with("08") || code.starts_with("57P")) {
    Close();
    return Status::Unavailable(msg);
  }
  if (code == "57014") return Status::Timeout(msg + " (statement_timeout_ms)");
  if (code.starts_with("42")) return Status::InvalidArgument(msg + " (check the table and column names of the source)");
  if (code.starts_with("22")) return Status::InvalidArgument(msg);
  if (code.starts_with("53") || code.starts_with("40") || code.starts_with("55")) return Status::RemoteTransient(msg);
  return Status::Internal(msg);
}

Value PostgresRowSource::ColumnValue(pg_result* res, int row, int col) const {
  Value v;
  if (PQgetisnull(res, row, col)) return v;
  const char* text = PQgetvalue(res, row, col);
  const Oid t = PQftype(res, col);
  if (t == kBytea) {
    size_t n = 0;
    unsigned char* bytes = PQunescapeBytea(reinterpret_cast<const unsigned char*>(text), &n);
    v.type = Value::Type::kBlob;
    if (bytes) {
      v.text.assign(reinterpret_cast<const char*>(bytes), n);
      PQfreemem(bytes);
    }
    return v;
  }
  v.text.assign(text, static_cast<size_t>(PQgetlength(res, row, col)));
  if (IsIntType(t)) {
    v.type = Value::Type::kInt;
    v.i = std::strtoll(text, nullptr, 10);
  } else if (t == kFloat4 || t == kFloat8 || t == kNumeric) {
    v.type = Value::Type::kReal;
    v.d = std::strtod(text, nullptr);
  } else if (t == kBool) {
    v.type = Value::Type::kBool;
    v.i = text[0] == 't' ? 1 : 0;
  } else if (t == kJson || t == kJsonb) {
    v.type = Value::Type::kJson;
  } else {
    v.type = Value::Type::kText;
  }
  return v;
}

Result<std::vector<Row>> PostgresRowSource::ReadRows(const std::string& sql,
                                                     const std::vector<std::optional<std::string>>& params) {
  KB_ASSIGN_OR_RETURN(PgResult res, Exec(sql, params, "reading rows"));
  std::vector<Row> rows;
  const int n = PQntuples(res.get());
  rows.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    Row r;
    Value key = ColumnValue(res.get(), i, kColKey);
    if (!key.is_null()) r.key = std::move(key);
    if (!src_.title_column.empty()) r.title = ColumnValue(res.get(), i, kColTitle);
    r.body = ColumnValue(res.get(), i, kColBody);
    if (!PQgetisnull(res.get(), i, kColUpdated)) r.updated_ms = std::strtoll(PQgetvalue(res.get(), i, kColUpdated), nullptr, 10);
    r.deleted = Truthy(ColumnValue(res.get(), i, kColDeletedFlag)) || !PQgetisnull(res.get(), i, kColDeletedAt);
    for (size_t m = 0; m < src_.metadata_columns.size(); ++m) {
      r.metadata.emplace_back(src_.metadata_columns[m], ColumnValue(res.get(), i, kColFirstMeta + static_cast<int>(m)));
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

Result<std::vector<Row>> PostgresRowSource::ReadByKey(const std::optional<RowKey>& after, int limit) {
  if (!conn_) KB_RETURN_IF_ERROR(Open());
  if (after) return ReadRows(plan_.by_key_after, {after->text, std::to_string(limit)});
  return ReadRows(plan_.by_key_first, {std::to_string(limit)});
}

Result<std::vector<Row>> PostgresRowSource::ReadUpdatedSince(int64_t since_ms,
                                                             const std::optional<std::pair<int64_t, RowKey>>& after,
                                                             int limit) {
  if (src_.updated_at_column.empty()) return Status::InvalidArgument("source '" + src_.name + "' has no updated_at_column");
  if (!conn_) KB_RETURN_IF_ERROR(Open());
  if (after) {
    return ReadRows(plan_.updated_after, {std::to_string(since_ms), std::to_string(after->first), after->second.text,
                                          std::to_string(limit)});
  }
  return ReadRows(plan_.updated_first, {std::to_string(since_ms), std::to_string(limit)});
}

Result<std::vector<Row>> PostgresRowSource::ReadItems(std::span<const std::string> ids) {
  if (!conn_) KB_RETURN_IF_ERROR(Open());
  std::vector<std::string> usable;
  for (const std::string& id : ids) {
    // An integer id column has no row for "abc": asking would be an error, not an absence.
    if (!key_is_int_ || IsCanonicalInt(id)) usable.push_back(id);
  }
  std::vector<Row> out;
  constexpr size_t kPerStatement = 1000;
  for (size_t start = 0; start < usable.size(); start += kPerStatement) {
    const size_t n = std::min(kPerStatement, usable.size() - start);
    KB_ASSIGN_OR_RETURN(auto rows, ReadRows(plan_.items, {ArrayLiteral(std::span(usable).subspan(start, n))}));
    for (auto& r : rows) out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<Event>> PostgresRowSource::ReadEvents(int64_t after, std::optional<int64_t> upto, int limit) {
  if (src_.outbox_table.empty()) return Status::InvalidArgument("source '" + src_.name + "' has no outbox_table");
  if (!conn_) KB_RETURN_IF_ERROR(Open());
  std::vector<std::optional<std::string>> params{std::to_string(after)};
  if (upto) params.emplace_back(std::to_string(*upto));
  params.emplace_back(std::to_string(limit));
  KB_ASSIGN_OR_RETURN(PgResult res, Exec(upto ? plan_.events_upto : plan_.events, params, "reading the outbox"));
  std::vector<Event> events;
  for (int i = 0; i < PQntuples(res.get()); ++i) {
    Event e;
    e.id = std::strtoll(PQgetvalue(res.get(), i, 0), nullptr, 10);
    if (!PQgetisnull(res.get(), i, 1)) e.note_id = PQgetvalue(res.get(), i, 1);
    e.type = PQgetvalue(res.get(), i, 2);
    if (!PQgetisnull(res.get(), i, 3)) e.at = PQgetvalue(res.get(), i, 3);
    events.push_back(std::move(e));
  }
  return events;
}

Result<int64_t> PostgresRowSource::MaxEventId() {
  if (src_.outbox_table.empty()) return Status::InvalidArgument("source '" + src_.name + "' has no outbox_table");
  if (!conn_) KB_RETURN_IF_ERROR(Open());
  KB_ASSIGN_OR_RETURN(PgResult res, Exec(plan_.max_event, {}, "reading the outbox"));
  return static_cast<int64_t>(std::strtoll(PQgetvalue(res.get(), 0, 0), nullptr, 10));
}

}  // namespace kb::sources
