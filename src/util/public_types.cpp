// The few functions of the public vocabulary (include/kbindex/types.h).
#include "kbindex/types.h"

namespace kbindex {

const char* SyncStateName(SyncState s) {
  switch (s) {
    case SyncState::kPending: return "pending";
    case SyncState::kSynced: return "synced";
    case SyncState::kFailed: return "failed";
  }
  return "pending";
}

const char* WriteOutcomeName(WriteOutcome o) {
  switch (o) {
    case WriteOutcome::kCreated: return "created";
    case WriteOutcome::kUpdated: return "updated";
    case WriteOutcome::kRestored: return "restored";
    case WriteOutcome::kUnchanged: return "unchanged";
  }
  return "updated";
}

const char* SearchModeName(SearchMode m) {
  switch (m) {
    case SearchMode::kKeyword: return "keyword";
    case SearchMode::kSemantic: return "semantic";
    case SearchMode::kHybrid: return "hybrid";
  }
  return "keyword";
}

Result<SearchMode> ParseSearchMode(const std::string& s) {
  if (s == "keyword") return SearchMode::kKeyword;
  if (s == "semantic") return SearchMode::kSemantic;
  if (s == "hybrid") return SearchMode::kHybrid;
  return Status::InvalidArgument("search mode must be keyword, semantic or hybrid (got '" + s + "')");
}

}  // namespace kbindex
