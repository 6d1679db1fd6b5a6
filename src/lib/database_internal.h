// For kbindex's own front-ends only (not installed): the Services behind a Database, so that
// `kbindex serve` can run the HTTP API on the very Database the CLI opened, and tests can
// inject an in-memory vector store.
#pragma once

#include <memory>

#include "app/services.h"
#include "kbindex/kbindex.h"

namespace kb {
namespace watch {
class FolderWatch;
}

class DatabaseAccess {
 public:
  static app::Services& ServicesOf(kbindex::Database& db);
  // A Database over already-built Services (tests: Services opened with a fake vector store).
  static std::unique_ptr<kbindex::Database> Wrap(std::unique_ptr<app::Services> services);
  // The running folder watcher of `db`, or nullptr (tests: pause its reader).
  static watch::FolderWatch* WatchOf(kbindex::Database& db);
};

}  // namespace kb
