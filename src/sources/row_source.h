// RowSource: reading notes out of another application's database. One implementation per kind
// of database (sqlite_source.h, postgres_source.h); everything after the read (mapping a row to
// a document, writing it, syncing it) is the same for all of them and lives above this floor.
//
// The contract every implementation keeps:
//   - Read-only. A SQLite file is opened with mode=ro; a PostgreSQL session runs with
//     default_transaction_read_only. Nothing is ever written to the source.
//   - Short reads, no long transactions: every call is one statement (its own snapshot), so the
//     application that owns the database is never blocked for longer than one page. Pages are
//     keyset-paginated (never OFFSET), so memory is bounded by one page whatever the table size.
//   - Values are always bound as parameters; the only SQL text taken from the configuration is
//     validated identifiers (sql_names.h) and the owner's own query, run as a subquery.
//   - Typed errors: Unavailable when the database cannot be reached (file missing, connection
//     refused or lost mid-read), Timeout when a statement ran past its limit, Busy when a SQLite
//     file stayed locked past the busy timeout, InvalidArgument when the mapping does not fit
//     the database (no such table or column). Messages never contain credentials.
//   - A RowSource is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "kbindex/source_options.h"
#include "util/status.h"

namespace kb::sources {

// A column value as read. Text holds text and (for kBlob) raw bytes; numbers are also kept as
// text in the form the database printed them.
struct Value {
  enum class Type { kNull, kInt, kReal, kText, kBlob, kBool, kJson };
  Type type = Type::kNull;
  int64_t i = 0;
  double d = 0;
  std::string text;

  bool is_null() const { return type == Type::kNull; }
};

// Where keyset pagination stands: the id of the last row read, as the database typed it (so
// that the next page compares it exactly as the database compares the id column).
using RowKey = Value;

// One row of the notes table, by role.
struct Row {
  std::optional<RowKey> key;  // nullopt: the id column was NULL
  Value title;
  Value body;
  std::vector<std::pair<std::string, Value>> metadata;  // in metadata_columns order
  std::optional<int64_t> updated_ms;  // normalised to Unix milliseconds; nullopt when NULL
  bool deleted = false;               // the deleted flag is set, or deleted_at is not NULL
};

// One outbox event.
struct Event {
  int64_t id = 0;
  std::optional<std::string> note_id;  // nullopt when NULL
  std::string type;                    // NoteCreated | NoteUpdated | NoteDeleted | NoteRestored | ...
  std::optional<std::string> at;       // the time column, as the database printed it
};

class RowSource {
 public:
  virtual ~RowSource() = default;

  // "postgres host=... port=... dbname=... user=..., table notes": where the rows come from,
  // without credentials. Safe to log and show.
  virtual std::string Describe() const = 0;

  // Connects (or opens the file) and checks that the mapped table and columns exist (one
  // zero-row query). Unavailable when the database cannot be reached; InvalidArgument when the
  // mapping does not fit it. Called again after an error reconnects.
  virtual Status Open() = 0;

  // Up to `limit` rows whose key is greater than `after` (every row when nullopt), ascending by
  // key. Deleted rows are included (Row::deleted). Fewer than `limit` rows: the end.
  virtual Result<std::vector<Row>> ReadByKey(const std::optional<RowKey>& after, int limit) = 0;

  // Up to `limit` rows with updated_ms >= since_ms, ascending by (updated_ms, key), after the
  // cursor (updated_ms, key) of the previous page when given. Rows whose updated_at is NULL
  // are never returned (only full reads see them).
  virtual Result<std::vector<Row>> ReadUpdatedSince(int64_t since_ms,
                                                    const std::optional<std::pair<int64_t, RowKey>>& after,
                                                    int limit) = 0;

  // The rows with these ids (given as text), in no particular order; ids without a row are
  // simply absent.
  virtual Result<std::vector<Row>> ReadItems(std::span<const std::string> ids) = 0;

  // Outbox events with after < id <= upto (upto: no upper bound when nullopt), ascending by id,
  // at most `limit`.
  virtual Result<std::vector<Event>> ReadEvents(int64_t after, std::optional<int64_t> upto, int limit) = 0;

  // The largest event id in the outbox (0 when it is empty).
  virtual Result<int64_t> MaxEventId() = 0;
};

// A deleted flag's value: true, any non-zero number, or text other than "", "0", "f", "false",
// "n", "no" (any case). NULL is false.
bool Truthy(const Value& v);

// Builds the RowSource a configured source describes (not yet opened). InvalidArgument when the
// configuration is unusable (e.g. conninfo_env names an unset variable).
Result<std::unique_ptr<RowSource>> MakeRowSource(const kbindex::DatabaseSource& source);

}  // namespace kb::sources
