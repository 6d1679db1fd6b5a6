// PostgresRowSource: notes in a PostgreSQL database, read with libpq.
//
// The session is read-only (default_transaction_read_only), UTC (so timestamps without a time
// zone read as UTC), UTF-8, with a server-side statement_timeout and, on our side, a deadline
// a little past it (a server that accepts and never answers cannot hold a run forever); TCP
// keepalives notice a peer that vanished. Pages are keyset-paginated single statements, so
// nothing is held open on the server between pages and 100,000 rows never sit in memory.
//
// Credentials: the conninfo (which may carry a password) is only handed to libpq. Describe()
// and every error message are built without it, and messages are scrubbed of the password
// anyway, in case a server or libpq ever echoes it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sources/row_source.h"
#include "sources/sql_plan.h"

struct pg_conn;
struct pg_result;

namespace kb::sources {

// The conninfo without its password: "host=... port=... dbname=... user=...", or a placeholder
// when it does not parse (its text is then not shown at all).
std::string RedactConninfo(const std::string& conninfo);

class PostgresRowSource : public RowSource {
 public:
  PostgresRowSource(kbindex::DatabaseSource source, std::string conninfo);
  ~PostgresRowSource() override;
  PostgresRowSource(const PostgresRowSource&) = delete;
  PostgresRowSource& operator=(const PostgresRowSource&) = delete;

  std::string Describe() const override;
  Status Open() override;
  Result<std::vector<Row>> ReadByKey(const std::optional<RowKey>& after, int limit) override;
  Result<std::vector<Row>> ReadUpdatedSince(int64_t since_ms, const std::optional<std::pair<int64_t, RowKey>>& after,
                                            int limit) override;
  Result<std::vector<Row>> ReadItems(std::span<const std::string> ids) override;
  Result<std::vector<Event>> ReadEvents(int64_t after, std::optional<int64_t> upto, int limit) override;
  Result<int64_t> MaxEventId() override;

 private:
  struct ResultDeleter {
    void operator()(pg_result* r) const;
  };
  using PgResult = std::unique_ptr<pg_result, ResultDeleter>;

  void Close();
  // After connecting: reads the types of the id and updated_at columns, writes the statements,
  // and checks that every mapped table and column exists.
  Status CheckMapping();
  // Runs one statement with text parameters (nullopt: NULL) and waits for it with a deadline.
  Result<PgResult> Exec(const std::string& sql, const std::vector<std::optional<std::string>>& params,
                        const char* what);
  Status ConnectionError(const std::string& what) const;
  std::string Scrub(std::string message) const;
  Result<std::vector<Row>> ReadRows(const std::string& sql, const std::vector<std::optional<std::string>>& params);
  Value ColumnValue(pg_result* res, int row, int col) const;

  const kbindex::DatabaseSource src_;
  const std::string conninfo_;
  std::string describe_;
  std::string password_;  // only to scrub messages
  bool parsed_ = false;
  pg_conn* conn_ = nullptr;
  SqlPlan plan_;
  bool key_is_int_ = false;
};

}  // namespace kb::sources
