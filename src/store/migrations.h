// Schema migrations: schema/NNN_*.sql compiled into the binary and applied in order at open,
// tracked with PRAGMA user_version.
#pragma once

#include <string>
#include <vector>

#include "util/status.h"

namespace SQLite {
class Database;
}

namespace kb {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

// All migrations known to this build, ascending by version (generated from schema/).
const std::vector<Migration>& Migrations();

// Newest schema version this build understands.
int LatestSchemaVersion();

// Brings `db` to LatestSchemaVersion(). Each step runs in its own IMMEDIATE transaction and
// re-reads user_version inside it, so concurrent openers apply each step exactly once.
// A database whose version is newer than this build fails with a clear message and is not
// touched.
Status ApplyMigrations(SQLite::Database& db);

}  // namespace kb
