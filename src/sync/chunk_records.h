// How a document becomes vector-store records: which chunker, what text is embedded, and the
// metadata each chunk carries. Shared by SyncEngine and the benchmark's raw-limit phase, so
// both send exactly the same records.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "scan/chunker.h"
#include "store/document_store.h"

namespace kb {

// Markdown-aware chunking for .md/.markdown/.mdx files and API notes; paragraphs otherwise.
bool IsMarkdownDocument(const Document& doc);

// The chunks of `doc` under `options`.
std::vector<Chunk> ChunkFor(const Document& doc, const ChunkerOptions& options);

// What a document is sent to the vector store as. Identical chunks (the same embedding input,
// hence the same vector) are sent once — many identical vectors degrade Chroma 1.0's HNSW index
// until exact matches vanish — each chunk knowing the position it first stands at and how many
// places it stands for; beyond options.max_chunks the document is cut (keyword search still
// has all of it).
struct PlannedChunk {
  Chunk chunk;
  int position = 0;  // index among all the document's chunks (what a snippet re-chunks to)
  int copies = 1;    // how many places in the document hold this very chunk
};
struct ChunkPlan {
  std::vector<PlannedChunk> chunks;
  bool truncated = false;  // more chunks than options.max_chunks
  int duplicates = 0;      // chunks not sent because an identical one was
};
ChunkPlan PlanChunks(const Document& doc, const ChunkerOptions& options);

// The note kept on a document that the vector store holds only in part ("" when complete).
std::string ChunkPlanNotice(const ChunkPlan& plan, const ChunkerOptions& options);

// The text embedded for a chunk: title, heading path (unless it repeats the title), text.
std::string EmbeddingInput(const Document& doc, const Chunk& chunk);

// Frontmatter scalars as a metadata fragment ("k":v pairs, comma-terminated; "" if none).
// Lists of scalars are joined with ", "; objects and nulls are left out (Chroma allows only
// string, int, float and bool values); keys kbindex sets itself are not overridden.
std::string FrontmatterFragment(const std::string& metadata_json);

// The metadata JSON object of a chunk first standing at `position`: the fragment plus doc_id,
// chunk (= position), content_hash, title, path, source, heading, and copies when > 1.
std::string ChunkMetadata(const Document& doc, const Chunk& chunk, int position, const std::string& fragment,
                          int copies = 1);

// The id of the canary's probe record (sync/canary.h): not a chunk, never a search result,
// never an orphan.
inline constexpr char kProbeId[] = "__kbindex_probe__";
inline constexpr char kProbeText[] =
    "kbindex probe record: a fixed text the index canary queries to check that the vector index answers.";

// "<doc id>#<n>"
std::string ChunkId(const std::string& doc_id, int n);
// The doc id and chunk number of a ChunkId, or nullopt for an id kbindex did not make.
std::optional<std::pair<std::string, int>> SplitChunkId(const std::string& chunk_id);

}  // namespace kb
