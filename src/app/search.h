// Use case: search (keyword | semantic | hybrid) over the live notes.
#pragma once

#include "app/services.h"
#include "kbindex/types.h"

namespace kb::app {

// Longest query accepted, in bytes.
inline constexpr size_t kMaxQueryBytes = 1000;

// Mode defaults to hybrid when a vector store is configured, else keyword. When the semantic
// side is unavailable, semantic and hybrid degrade to keyword results (`degraded` with the
// reason). InvalidArgument for an empty or over-long query, k outside 1..1000, invalid UTF-8,
// or an invalid raw FTS5 query (with FTS5's explanation).
Result<kbindex::SearchResults> Search(Services& s, const kbindex::SearchRequest& request);

}  // namespace kb::app
