#include "sources/sql_plan.h"

#include "sources/sql_names.h"

namespace kb::sources {
namespace {

// Numbers as Unix ms: seconds or milliseconds, or (auto) milliseconds from 1e11 on, which no
// second count reaches before the year 5000 and every millisecond count after 1973 does.
std::string NumberToMs(const std::string& c, const std::string& unit) {
  if (unit == "ms") return c;
  if (unit == "s") return "(" + c + ") * 1000";
  return "(CASE WHEN abs(" + c + ") >= 100000000000 THEN " + c + " ELSE (" + c + ") * 1000 END)";
}

}  // namespace

std::string SqliteUpdatedMs(const std::string& column, const std::string& unit) {
  const std::string c = "s." + Quote(column);
  return "(CASE WHEN typeof(" + c + ") IN ('integer', 'real') THEN CAST(" + NumberToMs(c, unit) +
         " AS INTEGER) WHEN typeof(" + c + ") = 'text' THEN CAST(round((julianday(" + c +
         ") - 2440587.5) * 86400000.0) AS INTEGER) END)";
}

SqlPlan BuildSqlPlan(const kbindex::DatabaseSource& src, Dialect dialect, const std::string& updated_ms,
                     const std::string& since_prefilter) {
  const bool pg = dialect == Dialect::kPostgres;
  auto p = [&](int n) { return (pg ? "$" : "?") + std::to_string(n); };
  auto col = [](const std::string& c) { return "s." + Quote(c); };
  const std::string from = src.table.empty() ? "(" + src.query + ") AS s" : Quote(src.table) + " AS s";

  std::string cols = col(src.id_column) + " AS k, ";
  cols += (src.title_column.empty() ? std::string("NULL") : col(src.title_column)) + " AS ti, ";
  cols += col(src.body_column) + " AS b, ";
  cols += (src.updated_at_column.empty() ? std::string("NULL") : updated_ms) + " AS u, ";
  cols += (src.deleted_column.empty() ? std::string("NULL") : col(src.deleted_column)) + " AS df, ";
  cols += (src.deleted_at_column.empty() ? std::string("NULL") : col(src.deleted_at_column)) + " AS da";
  std::string outer = "t.k, t.ti, t.b, t.u, t.df, t.da";
  for (size_t i = 0; i < src.metadata_columns.size(); ++i) {
    cols += ", " + col(src.metadata_columns[i]) + " AS m" + std::to_string(i);
    outer += ", t.m" + std::to_string(i);
  }
  auto inner = [&](const std::string& where) {
    return "(SELECT " + cols + " FROM " + from + (where.empty() ? "" : " WHERE " + where) + ") AS t";
  };
  const std::string select = "SELECT " + outer + " FROM ";

  SqlPlan plan;
  plan.probe = select + inner("") + " LIMIT 0";
  plan.by_key_first = select + inner("") + " WHERE t.k IS NOT NULL ORDER BY t.k LIMIT " + p(1);
  plan.by_key_after = select + inner("") + " WHERE t.k > " + p(1) + " ORDER BY t.k LIMIT " + p(2);
  if (!src.updated_at_column.empty()) {
    const std::string pre = since_prefilter;  // uses param 1 (since_ms)
    plan.updated_first = select + inner(pre) + " WHERE t.k IS NOT NULL AND t.u >= " + p(1) +
                         " ORDER BY t.u, t.k LIMIT " + p(2);
    plan.updated_after = select + inner(pre) + " WHERE t.k IS NOT NULL AND t.u >= " + p(1) + " AND (t.u > " + p(2) +
                         " OR (t.u = " + p(2) + " AND t.k > " + p(3) + ")) ORDER BY t.u, t.k LIMIT " + p(4);
  }
  plan.items = select + inner("") + (pg ? " WHERE t.k = ANY(" + p(1) + ")" : " WHERE t.k IN (");

  if (!src.outbox_table.empty()) {
    auto e = [](const std::string& c) { return "e." + Quote(c); };
    const std::string ecols = e(src.outbox_event_id_column) + ", " + e(src.outbox_note_id_column) + ", " +
                              e(src.outbox_type_column) + ", " +
                              (src.outbox_time_column.empty() ? std::string("NULL") : e(src.outbox_time_column));
    const std::string efrom = " FROM " + Quote(src.outbox_table) + " AS e";
    const std::string id = e(src.outbox_event_id_column);
    plan.outbox_probe = "SELECT " + ecols + efrom + " LIMIT 0";
    plan.events = "SELECT " + ecols + efrom + " WHERE " + id + " > " + p(1) + " ORDER BY " + id + " LIMIT " + p(2);
    plan.events_upto = "SELECT " + ecols + efrom + " WHERE " + id + " > " + p(1) + " AND " + id + " <= " + p(2) +
                       " ORDER BY " + id + " LIMIT " + p(3);
    plan.max_event = "SELECT coalesce(max(" + id + "), 0)" + efrom;
  }
  return plan;
}

}  // namespace kb::sources
