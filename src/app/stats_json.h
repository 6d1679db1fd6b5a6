// The JSON shapes shared by `kbindex ... --json` and the HTTP API, so that the two can never
// drift apart. `stats --json` is a stable contract: fields are only ever added.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "app/config.h"
#include "search/searcher.h"
#include "store/document_store.h"
#include "sync/sync_engine.h"
#include "vector/vector_store.h"

namespace kb {

// What stats reports beyond SQLite's own counts (filled by the caller when it knows them).
struct StatsExtras {
  int max_attempts = 3;
  std::string embedder;    // e.g. "hash:384"
  std::string collection;  // the active collection name
  std::optional<bool> chroma_reachable;
  std::optional<int64_t> chroma_count;
  std::string chroma_error;
  std::string chroma_url;
};

nlohmann::json SyncRunToJson(const SyncRun& run);
nlohmann::json StatsToJson(const StoreStats& stats, const StatsExtras& extras, int64_t now_ms);
nlohmann::json DocumentToJson(const Document& doc, bool include_body);
nlohmann::json SkippedToJson(const SkippedFile& f);
// One entry of `kbindex failures --json` and GET /v1/failures.
nlohmann::json FailureToJson(const Document& doc, int max_attempts);
nlohmann::json SearchResponseToJson(const SearchResponse& resp, const std::string& query);
nlohmann::json SyncReportToJson(const SyncReport& report);

// Everything `stats` reports: SQLite's counts plus, when `chroma` is given, its reachability
// and the active collection's count (`chroma` should have short timeouts: stats answers at
// once even when Chroma hangs). `chroma_error` explains a missing client.
StatsExtras CollectStatsExtras(DocumentStore& store, VectorStore* chroma, const std::string& chroma_url,
                               const std::string& chroma_error, const Config& config);

}  // namespace kb
