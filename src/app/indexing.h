// Use case: index folders. A scan brings SQLite in step with each folder (changed files only,
// deletions guarded by the safety valve) while a sync pass follows it, sending what the scan
// commits as soon as it is committed. `kbindex index`, `POST /v1/index` and the library's
// IndexFolders are this one function.
#pragma once

#include <string>
#include <vector>

#include "app/services.h"
#include "kbindex/types.h"
#include "scan/scanner.h"

namespace kb::app {

// Folder problems (missing folder, safety valve) are reported per folder; Chroma being
// unavailable leaves the notes pending (IndexReport::sync_status). Fails as a whole only on a
// bad request or when the configured embedder contradicts the database.
Result<kbindex::IndexReport> IndexFolders(Services& s, const kbindex::IndexRequest& request);

// Files the scanner could not index, with the reason (`source` empty: all sources).
Result<std::vector<kbindex::SkippedFile>> ListSkipped(Services& s, const std::string& source);

// For the folder use cases (here and app/watching.h): the scanner's settings from the
// configuration, and a scan's outcome as the public per-folder report.
ScanOptions FolderScanOptions(Services& s, const std::string& folder, const std::string& source_name,
                              bool allow_mass_delete);
kbindex::FolderReport ToFolderReport(const std::string& folder, const Result<ScanReport>& scanned,
                                     const std::string& what);

}  // namespace kb::app
