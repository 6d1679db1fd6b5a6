// Use cases: what state the knowledge base is in. Stats (the `stats --json` contract), health,
// failures and retry.
#pragma once

#include <string>
#include <vector>

#include "app/services.h"
#include "kbindex/types.h"

namespace kb::app {

// SQLite's counts plus the embedder, the active collection and Chroma's reachability and record
// count (asked with short timeouts, so stats answers at once even when Chroma hangs).
Result<kbindex::Stats> GetStats(Services& s);

// Ok, or degraded with one reason per problem (SQLite, Chroma, worker).
kbindex::Health CheckHealth(Services& s);

// Failed notes, most recent attempt first.
Result<std::vector<kbindex::Failure>> ListFailures(Services& s, int limit);

// Notes the semantic index holds only in part (their sync notice says why), by id.
Result<std::vector<kbindex::Note>> ListPartial(Services& s, int limit);

// Makes failed notes due again (attempts reset): one id, or all when `id` is empty. Returns how
// many; NotFound when `id` names no failed note.
Result<int> Retry(Services& s, const std::string& id);

}  // namespace kb::app
