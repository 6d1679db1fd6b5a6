// SemanticIndex: the read side of the vector store for search. Embeds the query, asks Chroma
// for the nearest chunks, collapses chunks to documents (best chunk wins) and keeps only
// documents that are live in SQLite, so tombstones and Chroma orphans never surface.
#pragma once

#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "embed/embedder.h"
#include "scan/chunker.h"
#include "search/semantic_floor.h"
#include "store/document_store.h"
#include "sync/chunk_records.h"
#include "vector/query_batcher.h"
#include "vector/vector_store.h"

namespace kb {

struct SemanticHit {
  Document doc;          // the live SQLite row
  double distance = 0;   // cosine distance of the best chunk
  int chunk = 0;          // position of the best chunk among the note's chunks
  std::string heading;
  std::string snippet;   // from the best chunk
  int sent_chunk = 0;    // the best chunk's index among the chunks the sync sent
};

// Follows the database: each query uses the active collection and the embedder recorded in
// SQLite, so search keeps answering across a zero-downtime embedder switch, even one made by
// another process.
class SemanticIndex {
 public:
  // `embedder` is used while it matches what the database records; `resolve` supplies the
  // recorded one when it does not (null: such a query fails with Conflict). `chunker` must be
  // the sync's (snippets re-chunk a note exactly as it was sent); `collection` is the configured
  // collection name, used until the database records the active one.
  SemanticIndex(DocumentStore& store, VectorStore& vectors, Embedder& embedder, EmbedderResolver resolve,
                ChunkerOptions chunker, std::string collection);

  // Up to k documents, closest first. Unavailable/Timeout when Chroma is down; NotFound when
  // nothing was synced yet. With `excerpts` false the hits carry no text, chunk, heading or
  // snippet: AddExcerpts gives them to the ones that will be shown (re-chunking a note for its
  // excerpt costs more than finding it).
  Result<std::vector<SemanticHit>> Search(const std::string& query, int k, const std::string& source,
                                          bool excerpts = true);
  // Chunk, heading and snippet for hits of a Search made without excerpts (one read).
  Status AddExcerpts(std::span<SemanticHit> hits);

  // The similarity floor for semantic-only hybrid hits, calibrated for the active embedder
  // (search/semantic_floor.h): read from the meta table, or calibrated and recorded there.
  Result<double> Floor();

 private:
  // The active collection and the embedder for it.
  Result<std::pair<CollectionRef, Embedder*>> Active(bool refresh);
  // Chunk, heading and snippet from the note's text, which it then drops.
  void FillExcerpt(SemanticHit& hit) const;

  DocumentStore& store_;
  VectorStore& vectors_;
  Embedder& default_embedder_;
  EmbedderResolver resolve_;
  ChunkerOptions chunker_;
  std::string configured_collection_;
  QueryBatcher batcher_{vectors_};  // concurrent searches share Chroma requests
  std::mutex mu_;
  std::optional<CollectionRef> collection_;
  std::optional<std::pair<std::string, double>> floor_;  // embedder id, floor; guarded by mu_
};

// Chunk `n` of the chunks the sync sent for `doc` (chunk ids are "<doc id>#<n>"), re-planned
// from the note's text with the sync's chunker options; its last chunk when n is past them
// (the note shrank since), nullopt for a negative n.
std::optional<PlannedChunk> SentChunk(const Document& doc, int n, ChunkerOptions options);

// A short single-line excerpt of `text` (at most max_bytes, cut at a UTF-8 boundary).
std::string MakeExcerpt(std::string_view text, size_t max_bytes = 240);

}  // namespace kb
