#include "sources/row_source.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "sources/postgres_source.h"
#include "sources/sqlite_source.h"

namespace kb::sources {

bool Truthy(const Value& v) {
  switch (v.type) {
    case Value::Type::kNull: return false;
    case Value::Type::kInt:
    case Value::Type::kBool: return v.i != 0;
    case Value::Type::kReal: return v.d != 0;
    default: {
      std::string t;
      for (char c : v.text) t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return !(t.empty() || t == "0" || t == "f" || t == "false" || t == "n" || t == "no");
    }
  }
}

Result<std::unique_ptr<RowSource>> MakeRowSource(const kbindex::DatabaseSource& source) {
  if (source.kind == "sqlite") return std::unique_ptr<RowSource>(std::make_unique<SqliteRowSource>(source));
  if (source.kind != "postgres") {
    return Status::InvalidArgument("source '" + source.name + "': kind must be sqlite or postgres");
  }
  std::string conninfo = source.conninfo;
  if (!source.conninfo_env.empty()) {
    const char* v = std::getenv(source.conninfo_env.c_str());
    if (!v || !*v) {
      return Status::InvalidArgument("source '" + source.name + "': the environment variable " + source.conninfo_env +
                                     " (conninfo_env) is not set");
    }
    conninfo = v;
  } else if (!source.conninfo_file.empty()) {
    std::ifstream in(source.conninfo_file);
    if (!in) {
      return Status::InvalidArgument("source '" + source.name + "': cannot read conninfo_file " + source.conninfo_file);
    }
    std::stringstream ss;
    ss << in.rdbuf();
    conninfo = ss.str();
    while (!conninfo.empty() && std::isspace(static_cast<unsigned char>(conninfo.back()))) conninfo.pop_back();
  }
  return std::unique_ptr<RowSource>(std::make_unique<PostgresRowSource>(source, conninfo));
}

}  // namespace kb::sources
