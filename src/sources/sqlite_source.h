// SqliteRowSource: notes in another application's SQLite file (Joplin, Zotero, a Notes DB...).
//
// The file is opened read-only (URI mode=ro) while the application keeps writing it: every
// read is one short statement, so in WAL mode the writer is never blocked, and in rollback
// mode only for the length of one page. A locked file is waited for up to the statement
// timeout (busy timeout), then the read fails as Busy; a statement running past the timeout is
// interrupted (Timeout). A missing file is Unavailable (an unmounted disk must not look like a
// source whose notes were all deleted).
#pragma once

#include <memory>
#include <string>

#include "sources/row_source.h"
#include "sources/sql_plan.h"

struct sqlite3;
struct sqlite3_stmt;

namespace kb::sources {

class SqliteRowSource : public RowSource {
 public:
  explicit SqliteRowSource(kbindex::DatabaseSource source);
  ~SqliteRowSource() override;
  SqliteRowSource(const SqliteRowSource&) = delete;
  SqliteRowSource& operator=(const SqliteRowSource&) = delete;

  std::string Describe() const override;
  Status Open() override;
  Result<std::vector<Row>> ReadByKey(const std::optional<RowKey>& after, int limit) override;
  Result<std::vector<Row>> ReadUpdatedSince(int64_t since_ms, const std::optional<std::pair<int64_t, RowKey>>& after,
                                            int limit) override;
  Result<std::vector<Row>> ReadItems(std::span<const std::string> ids) override;
  Result<std::vector<Event>> ReadEvents(int64_t after, std::optional<int64_t> upto, int limit) override;
  Result<int64_t> MaxEventId() override;

 private:
  class Stmt;
  void Close();
  Status Error(int rc, const std::string& what) const;
  Result<std::vector<Row>> ReadRows(Stmt& st);

  const kbindex::DatabaseSource src_;
  SqlPlan plan_;
  sqlite3* db_ = nullptr;
  int64_t deadline_ms_ = 0;  // the running statement's deadline (progress handler)
};

}  // namespace kb::sources
