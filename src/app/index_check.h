// The index canary as a use case: run it (or reuse a recent verdict), record the verdict, and the
// worker's policy around it.
#pragma once

#include <cstdint>

#include "app/services.h"
#include "kbindex/types.h"

namespace kb::app {

// A verdict younger than this is reused by stats and health (the canary costs a few queries).
inline constexpr int64_t kIndexCheckMaxAgeMs = 60'000;
// The worker checks at least this often, and after passes that removed many records...
inline constexpr int64_t kIndexCheckIntervalMs = 24 * 3600 * 1000LL;
inline constexpr int64_t kLargeDeletes = 500;
// ...and rebuilds a broken index by itself at most this often.
inline constexpr int64_t kAutoRebuildIntervalMs = 24 * 3600 * 1000LL;

// Runs the canary on the active collection unless a verdict on it younger than max_age_ms was
// recorded (by this process or another; 0: always run). The verdict is recorded in the meta table (other processes and
// `stats` see it). Unavailable/Timeout when Chroma is down: no verdict.
Result<kbindex::IndexCheck> CheckIndex(Services& s, int64_t max_age_ms);

// The last recorded verdict (any process), if any.
std::optional<kbindex::IndexCheck> LastIndexCheck(Services& s);

// The worker's hook after a pass: checks the index once a day and after large deletes; a broken
// index is logged, and one that answers nothing is rebuilt beside the active one (at most once a
// day, so a Chroma that keeps breaking is reported, not rebuilt in a loop). Mostly-missed exact
// matches alone are reported only: many identical notes cause them, and a rebuild would too.
void AfterWorkerPass(Services& s, const SyncReport& pass);

}  // namespace kb::app
