#include "store/migrations.h"

#include <SQLiteCpp/SQLiteCpp.h>

namespace kb {

int LatestSchemaVersion() {
  const auto& all = Migrations();
  return all.empty() ? 0 : all.back().version;
}

Status ApplyMigrations(SQLite::Database& db) {
  const int latest = LatestSchemaVersion();
  auto too_new = [&](int v) {
    return Status::InvalidArgument(
        "database schema version " + std::to_string(v) + " is newer than this kbindex supports (" +
        std::to_string(latest) + "); it was written by a newer kbindex - upgrade kbindex to open it");
  };
  try {
    const int current = db.execAndGet("PRAGMA user_version").getInt();
    if (current > latest) return too_new(current);
    if (current == latest) return Status::Ok();
    for (const Migration& m : Migrations()) {
      SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
      const int v = db.execAndGet("PRAGMA user_version").getInt();
      if (v > latest) return too_new(v);
      if (v >= m.version) continue;  // another process got here first
      db.exec(m.sql);
      db.exec("PRAGMA user_version = " + std::to_string(m.version));
      tx.commit();
    }
  } catch (const SQLite::Exception& e) {
    return Status::IOError(std::string("applying schema migrations: ") + e.what());
  }
  return Status::Ok();
}

}  // namespace kb
