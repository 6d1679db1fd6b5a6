// The statements a RowSource runs, written once per source from its (validated) mapping, for
// SQLite or PostgreSQL. Every statement reads one page: keyset pagination over the id, or over
// (updated_at in Unix ms, id); values are parameters. The result columns are always, in order:
//   k (id), ti (title or NULL), b (body), u (updated_at as Unix ms or NULL), df (deleted flag
//   or NULL), da (deleted_at or NULL), then one column per metadata column.
// Outbox statements return: event id, note id, type, time (or NULL).
#pragma once

#include <string>

#include "kbindex/source_options.h"

namespace kb::sources {

enum class Dialect { kSqlite, kPostgres };

// Column positions in a row statement's result.
inline constexpr int kColKey = 0, kColTitle = 1, kColBody = 2, kColUpdated = 3, kColDeletedFlag = 4,
                     kColDeletedAt = 5, kColFirstMeta = 6;

struct SqlPlan {
  std::string probe;          // zero rows: checks the table and every mapped column
  std::string by_key_first;   // params: limit
  std::string by_key_after;   // params: after key, limit
  std::string updated_first;  // params: since_ms, limit
  std::string updated_after;  // params: since_ms, cursor u, cursor key, limit
  std::string items;          // sqlite: "... WHERE t.k IN (" to be completed; postgres: params: array
  std::string outbox_probe;
  std::string events;         // params: after, limit
  std::string events_upto;    // params: after, upto, limit
  std::string max_event;
};

// `updated_ms` is the dialect's expression turning s.<updated_at> into Unix milliseconds and
// `since_prefilter` an optional index-friendly condition on it (postgres timestamps; param 1);
// both are built by the caller, which knows the column's type.
SqlPlan BuildSqlPlan(const kbindex::DatabaseSource& source, Dialect dialect, const std::string& updated_ms,
                     const std::string& since_prefilter);

// SQLite: s.<column> as Unix ms whatever it holds (integers in `unit`, ISO-8601 text).
std::string SqliteUpdatedMs(const std::string& column, const std::string& unit);

}  // namespace kb::sources
