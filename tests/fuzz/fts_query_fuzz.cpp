// libFuzzer target: whatever a user types, the escaped FTS5 expression is accepted by a real
// FTS5 table (no syntax error ever reaches the user), and raw mode fails cleanly.
#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "search/fts_query.h"
#include "util/utf8.h"

namespace {

sqlite3* Db() {
  static sqlite3* db = [] {
    sqlite3* d = nullptr;
    sqlite3_open(":memory:", &d);
    sqlite3_exec(d,
                 "CREATE VIRTUAL TABLE t USING fts5(title, body, tokenize='unicode61 remove_diacritics 2');"
                 "INSERT INTO t VALUES ('NEAR the AND', 'quotes \"inside\" minus-signs stars* café 京都');",
                 nullptr, nullptr, nullptr);
    return d;
  }();
  return db;
}

int Match(const std::string& expr) {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(Db(), "SELECT rowid FROM t WHERE t MATCH ?", -1, &st, nullptr);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(st, 1, expr.data(), static_cast<int>(expr.size()), SQLITE_TRANSIENT);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  for (kb::FtsJoin join : {kb::FtsJoin::kAll, kb::FtsJoin::kAny}) {
    auto q = kb::BuildFtsQuery(input, join);
    if (!q.ok()) {
      if (kb::utf8::IsValid(input)) std::abort();  // only invalid UTF-8 may be refused
      continue;
    }
    if (!kb::utf8::IsValid(*q)) std::abort();
    if (q->empty()) continue;
    if (Match(*q) != SQLITE_OK) {
      std::fprintf(stderr, "FTS5 rejected the escaped query [%s] for input [%s]: %s\n", q->c_str(),
                   input.c_str(), sqlite3_errmsg(Db()));
      std::abort();
    }
  }
  (void)Match(input);  // raw FTS5 syntax: may fail, must not crash
  return 0;
}
