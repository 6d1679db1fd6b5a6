// The index canary: a cheap self-check of the vector index itself, not of what is in it.
//
// Verify compares ids and hashes, which can all be right while Chroma's HNSW graph no longer
// answers (Chroma 1.0, after thousands of identical vectors were added and deleted: every query
// comes back empty; with a few hundred identical vectors, exact matches fall out of the top).
// The canary asks the index questions it must answer: a few stored records, sampled at random,
// are queried with their own vectors and must come back first (or an exact duplicate must), and
// a fixed probe record kbindex owns (kProbeId, written when absent) must find itself too. Any
// empty answer fails it (the observed breakage), and so does a majority of misses; fewer misses
// are reported (self_misses: HNSW is approximate, and on near-identical notes a healthy index
// misses some exact matches that no rebuild would find).
//
// Cost: one count, one get and one query per sample, plus the probe; tens of milliseconds.
#pragma once

#include <cstdint>
#include <string>

#include "sync/sync_engine.h"
#include "vector/vector_store.h"

namespace kb {

struct CanaryOptions {
  int samples = 8;     // stored records queried with their own vector
  int neighbours = 3;  // n_results of each self-query
};

struct CanaryReport {
  bool ok = true;
  std::string collection;
  int64_t records = 0;      // records in the collection (the probe included)
  int checked = 0;          // self-queries made, the probe's included
  int self_misses = 0;      // answered, but not with the record itself first
  int empty_answers = 0;    // answered with nothing at all
  bool probe_found = false;
  std::string reason;       // why not ok, for a person
  int64_t checked_at_ms = 0;
  int64_t duration_ms = 0;
};

// Runs the canary on `engine`'s active collection. Unavailable/Timeout when Chroma is down
// (then nothing is known about the index: not a verdict).
Result<CanaryReport> CheckIndex(SyncEngine& engine, VectorStore& vectors, const CanaryOptions& options = {});

}  // namespace kb
