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

// The text embedded for a chunk: title, heading path (unless it repeats the title), text.
std::string EmbeddingInput(const Document& doc, const Chunk& chunk);

// Frontmatter scalars as a metadata fragment ("k":v pairs, comma-terminated; "" if none).
// Lists of scalars are joined with ", "; objects and nulls are left out (Chroma allows only
// string, int, float and bool values); keys kbindex sets itself are not overridden.
std::string FrontmatterFragment(const std::string& metadata_json);

// The metadata JSON object of chunk `n`: the fragment plus doc_id, chunk, content_hash, title,
// path, source, heading.
std::string ChunkMetadata(const Document& doc, const Chunk& chunk, int n, const std::string& fragment);

// "<doc id>#<n>"
std::string ChunkId(const std::string& doc_id, int n);
// The doc id and chunk number of a ChunkId, or nullopt for an id kbindex did not make.
std::optional<std::pair<std::string, int>> SplitChunkId(const std::string& chunk_id);

}  // namespace kb
