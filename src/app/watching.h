// Use cases behind the folder watcher (src/watch/): a set of changed paths of a watched folder
// goes through the very scanner `index` uses (ScanPaths: same rules, same skipped reasons,
// same ownership rule, same safety valve), a reconcile is the normal full scan, and what the
// watcher is doing is published in the database for stats and health in any process.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "app/services.h"
#include "kbindex/types.h"

namespace kb::app {

// Brings the given paths (files or folders, relative to `folder`) into the index. Renames
// among them keep their document. Never removes more than the safety valve allows (the
// report's status says why). Nudges the worker when documents were written.
kbindex::FolderReport ApplyFolderChanges(Services& s, const std::string& folder,
                                         const std::string& source_name,
                                         const std::vector<std::string>& rel_paths);

// A full scan of one folder (unchanged files cost a stat), the safety valve included.
kbindex::FolderReport ReconcileFolder(Services& s, const std::string& folder, const std::string& source_name);

// Records the watcher's state in the database (meta), for GetStats/CheckHealth elsewhere.
Status PublishWatchState(Services& s, const kbindex::WatchState& state);
// The last published state; `running` is false when its process is gone. nullopt when no
// watcher ever ran on this database.
std::optional<kbindex::WatchState> ReadWatchState(Services& s);

}  // namespace kb::app
