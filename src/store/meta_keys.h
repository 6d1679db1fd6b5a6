// The keys of the `meta` table, in one place: which embedder made the vectors, and which Chroma
// collection is active (and which one a switch retired).
#pragma once

namespace kb::meta {

inline constexpr const char* kEmbedder = "embedder";              // Embedder::Id() of the vectors
inline constexpr const char* kEmbedderDims = "embedder_dims";
inline constexpr const char* kCollection = "collection";          // the active collection's name
inline constexpr const char* kCollectionId = "collection_id";     // its server-side id
inline constexpr const char* kCollectionBase = "collection_base"; // the configured name
inline constexpr const char* kCollectionVersion = "collection_version";       // N of name__vN
inline constexpr const char* kCollectionGeneration = "collection_generation"; // bumped per switch
inline constexpr const char* kCollectionToDrop = "collection_to_drop";        // retired by a switch
inline constexpr const char* kSemanticFloor = "semantic_floor";  // search/semantic_floor.h, JSON
inline constexpr const char* kIndexCheck = "index_check";        // the last canary verdict, JSON
inline constexpr const char* kLastAutoRebuild = "last_auto_rebuild_ms";  // the worker's last rebuild

}  // namespace kb::meta
