#include "app/source_config.h"

#include <nlohmann/json.hpp>
#include <set>

#include "sources/sql_names.h"

namespace kb::app {

using json = nlohmann::json;

Status ParseDatabaseSources(const json& value, std::vector<kbindex::DatabaseSource>* out) {
  if (!value.is_array()) return Status::InvalidArgument("\"sources\" must be a list of objects");
  out->clear();
  int index = 0;
  for (const json& item : value) {
    ++index;
    const std::string where = "sources[" + std::to_string(index - 1) + "]";
    if (!item.is_object()) return Status::InvalidArgument(where + " must be an object");
    kbindex::DatabaseSource s;
    for (const auto& [key, v] : item.items()) {
      try {
        if (key == "name") s.name = v.get<std::string>();
        else if (key == "kind") s.kind = v.get<std::string>();
        else if (key == "path") s.path = v.get<std::string>();
        else if (key == "conninfo") s.conninfo = v.get<std::string>();
        else if (key == "conninfo_env") s.conninfo_env = v.get<std::string>();
        else if (key == "conninfo_file") s.conninfo_file = v.get<std::string>();
        else if (key == "table") s.table = v.get<std::string>();
        else if (key == "query") s.query = v.get<std::string>();
        else if (key == "id_column") s.id_column = v.get<std::string>();
        else if (key == "title_column") s.title_column = v.get<std::string>();
        else if (key == "body_column") s.body_column = v.get<std::string>();
        else if (key == "metadata_columns") s.metadata_columns = v.get<std::vector<std::string>>();
        else if (key == "updated_at_column") s.updated_at_column = v.get<std::string>();
        else if (key == "updated_at_unit") s.updated_at_unit = v.get<std::string>();
        else if (key == "deleted_column") s.deleted_column = v.get<std::string>();
        else if (key == "deleted_at_column") s.deleted_at_column = v.get<std::string>();
        else if (key == "mode") s.mode = v.get<std::string>();
        else if (key == "interval_s") s.interval_s = v.get<int>();
        else if (key == "overlap_s") s.overlap_s = v.get<int>();
        else if (key == "full_interval_s") s.full_interval_s = v.get<int>();
        else if (key == "batch_rows") s.batch_rows = v.get<int>();
        else if (key == "outbox_table") s.outbox_table = v.get<std::string>();
        else if (key == "outbox_event_id_column") s.outbox_event_id_column = v.get<std::string>();
        else if (key == "outbox_note_id_column") s.outbox_note_id_column = v.get<std::string>();
        else if (key == "outbox_type_column") s.outbox_type_column = v.get<std::string>();
        else if (key == "outbox_time_column") s.outbox_time_column = v.get<std::string>();
        else if (key == "connect_timeout_s") s.connect_timeout_s = v.get<int>();
        else if (key == "statement_timeout_ms") s.statement_timeout_ms = v.get<int>();
        else return Status::InvalidArgument(where + ": unknown setting '" + key + "'");
      } catch (const json::exception&) {
        // Not e.what(): it could quote the value, and a conninfo may hold a password.
        return Status::InvalidArgument(where + ": '" + key + "' has the wrong type");
      }
    }
    out->push_back(std::move(s));
  }
  return Status::Ok();
}

namespace {

Status CheckColumn(const std::string& source, const char* setting, const std::string& column, bool required) {
  if (column.empty()) {
    if (!required) return Status::Ok();
    return Status::InvalidArgument("source '" + source + "': " + setting + " is required");
  }
  if (!sources::IsIdentifier(column)) {
    return Status::InvalidArgument("source '" + source + "': " + setting + " '" + column +
                                   "' is not a plain column name (letters, digits, '_')");
  }
  return Status::Ok();
}

}  // namespace

Status ValidateDatabaseSource(const kbindex::DatabaseSource& s) {
  if (s.name.empty() || s.name.size() > 64) return Status::InvalidArgument("a source needs a name of 1 to 64 characters");
  for (char c : s.name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return Status::InvalidArgument("source name '" + s.name + "' may only contain letters, digits, '.', '_' and '-'");
    }
  }
  const std::string who = "source '" + s.name + "'";
  if (s.name == "api") return Status::InvalidArgument("source name 'api' is reserved for notes pushed through the API");
  if (s.kind == "sqlite") {
    if (s.path.empty()) return Status::InvalidArgument(who + ": a sqlite source needs \"path\"");
    if (!s.conninfo.empty() || !s.conninfo_env.empty() || !s.conninfo_file.empty()) {
      return Status::InvalidArgument(who + ": conninfo is for postgres sources");
    }
  } else if (s.kind == "postgres") {
    const int given = !s.conninfo.empty() + !s.conninfo_env.empty() + !s.conninfo_file.empty();
    if (given != 1) {
      return Status::InvalidArgument(who + ": a postgres source needs exactly one of conninfo, conninfo_env, conninfo_file");
    }
    if (!s.path.empty()) return Status::InvalidArgument(who + ": \"path\" is for sqlite sources");
  } else {
    return Status::InvalidArgument(who + ": kind must be sqlite or postgres (got '" + s.kind + "')");
  }
  if (s.table.empty() == s.query.empty()) return Status::InvalidArgument(who + ": give either \"table\" or \"query\"");
  if (!s.table.empty() && !sources::IsQualifiedName(s.table)) {
    return Status::InvalidArgument(who + ": table '" + s.table + "' is not a plain name (name or schema.name)");
  }
  if (!s.query.empty()) {
    if (Status st = sources::CheckQuery(s.query); !st.ok()) return st.WithContext(who);
  }
  KB_RETURN_IF_ERROR(CheckColumn(s.name, "id_column", s.id_column, true));
  KB_RETURN_IF_ERROR(CheckColumn(s.name, "body_column", s.body_column, true));
  KB_RETURN_IF_ERROR(CheckColumn(s.name, "title_column", s.title_column, false));
  KB_RETURN_IF_ERROR(CheckColumn(s.name, "updated_at_column", s.updated_at_column, false));
  KB_RETURN_IF_ERROR(CheckColumn(s.name, "deleted_column", s.deleted_column, false));
  KB_RETURN_IF_ERROR(CheckColumn(s.name, "deleted_at_column", s.deleted_at_column, false));
  for (const std::string& m : s.metadata_columns) KB_RETURN_IF_ERROR(CheckColumn(s.name, "metadata_columns", m, true));
  if (s.updated_at_unit != "auto" && s.updated_at_unit != "s" && s.updated_at_unit != "ms") {
    return Status::InvalidArgument(who + ": updated_at_unit must be auto, s or ms");
  }
  if (!s.mode.empty() && s.mode != "full" && s.mode != "incremental" && s.mode != "outbox") {
    return Status::InvalidArgument(who + ": mode must be full, incremental or outbox (got '" + s.mode + "')");
  }
  const std::string mode = DefaultMode(s);
  if (mode == "incremental" && s.updated_at_column.empty()) {
    return Status::InvalidArgument(who + ": incremental mode needs updated_at_column");
  }
  if (mode == "outbox" && s.outbox_table.empty()) return Status::InvalidArgument(who + ": outbox mode needs outbox_table");
  if (!s.outbox_table.empty()) {
    if (!sources::IsQualifiedName(s.outbox_table)) {
      return Status::InvalidArgument(who + ": outbox_table '" + s.outbox_table + "' is not a plain name");
    }
    KB_RETURN_IF_ERROR(CheckColumn(s.name, "outbox_event_id_column", s.outbox_event_id_column, true));
    KB_RETURN_IF_ERROR(CheckColumn(s.name, "outbox_note_id_column", s.outbox_note_id_column, true));
    KB_RETURN_IF_ERROR(CheckColumn(s.name, "outbox_type_column", s.outbox_type_column, true));
    KB_RETURN_IF_ERROR(CheckColumn(s.name, "outbox_time_column", s.outbox_time_column, false));
  }
  if (s.interval_s < 0 || s.overlap_s < 0 || s.full_interval_s < 0) {
    return Status::InvalidArgument(who + ": interval_s, overlap_s and full_interval_s must not be negative");
  }
  if (s.batch_rows < 1 || s.batch_rows > 100'000) return Status::InvalidArgument(who + ": batch_rows must be 1..100000");
  if (s.connect_timeout_s < 1 || s.connect_timeout_s > 600) {
    return Status::InvalidArgument(who + ": connect_timeout_s must be 1..600");
  }
  if (s.statement_timeout_ms < 100 || s.statement_timeout_ms > 3'600'000) {
    return Status::InvalidArgument(who + ": statement_timeout_ms must be 100..3600000");
  }
  return Status::Ok();
}

Status ValidateDatabaseSources(const std::vector<kbindex::DatabaseSource>& sources) {
  std::set<std::string> names;
  for (const auto& s : sources) {
    KB_RETURN_IF_ERROR(ValidateDatabaseSource(s));
    if (!names.insert(s.name).second) return Status::InvalidArgument("two sources are named '" + s.name + "'");
  }
  return Status::Ok();
}

std::string DefaultMode(const kbindex::DatabaseSource& s) {
  if (!s.mode.empty()) return s.mode;
  if (!s.outbox_table.empty()) return "outbox";
  if (!s.updated_at_column.empty()) return "incremental";
  return "full";
}

int PollIntervalSeconds(const kbindex::DatabaseSource& s) {
  if (s.interval_s > 0) return s.interval_s;
  return DefaultMode(s) == "full" ? 600 : 60;
}

}  // namespace kb::app
