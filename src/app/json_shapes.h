// The JSON shapes of kbindex's values, shared by `kbindex ... --json`, the HTTP API and MCP so
// that they can never drift apart. `stats --json` (= GET /v1/stats) is a stable contract:
// fields are only ever added.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "kbindex/types.h"

namespace kb::app {

nlohmann::json StatsToJson(const kbindex::Stats& stats);
nlohmann::json SyncRunToJson(const kbindex::SyncRunInfo& run);
nlohmann::json NoteToJson(const kbindex::Note& note, bool include_body);
nlohmann::json SkippedToJson(const kbindex::SkippedFile& f);
nlohmann::json FailureToJson(const kbindex::Failure& f);
nlohmann::json SearchResultsToJson(const kbindex::SearchResults& results, const std::string& query);
nlohmann::json SyncSummaryToJson(const kbindex::SyncSummary& s);
nlohmann::json FolderReportToJson(const kbindex::FolderReport& f);
nlohmann::json IndexReportToJson(const kbindex::IndexReport& r);
nlohmann::json ReindexReportToJson(const kbindex::ReindexReport& r);
nlohmann::json VerifyResultToJson(const kbindex::VerifyResult& r);
nlohmann::json PutResultToJson(const kbindex::PutResult& r);
nlohmann::json DeleteResultToJson(const kbindex::DeleteResult& r);
nlohmann::json WorkerStateToJson(const kbindex::WorkerState& w);
nlohmann::json WatchStateToJson(const kbindex::WatchState& w);
nlohmann::json SourceStateToJson(const kbindex::SourceState& s);
nlohmann::json SourceReportToJson(const kbindex::SourceReport& r);
// `detailed`: with SQLite/Chroma/worker details (for a caller holding the token); otherwise
// only the status.
nlohmann::json HealthToJson(const kbindex::Health& h, bool detailed);

}  // namespace kb::app
