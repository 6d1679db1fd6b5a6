// SemanticIndex: the read side of the vector store for search. Embeds the query, asks Chroma
// for the nearest chunks, collapses chunks to documents (best chunk wins) and keeps only
// documents that are live in SQLite, so tombstones and Chroma orphans never surface.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "embed/embedder.h"
#include "scan/chunker.h"
#include "store/document_store.h"
#include "vector/vector_store.h"

namespace kb {

struct SemanticHit {
  Document doc;          // the live SQLite row
  double distance = 0;   // cosine distance of the best chunk
  int chunk = 0;
  std::string heading;
  std::string snippet;   // from the best chunk
};

class SemanticIndex {
 public:
  SemanticIndex(DocumentStore& store, VectorStore& vectors, Embedder& embedder,
                std::string configured_collection, ChunkerOptions chunker)
      : store_(store), vectors_(vectors), embedder_(embedder),
        configured_collection_(std::move(configured_collection)), chunker_(chunker) {}

  // Up to k documents, closest first. Conflict when the database's vectors come from another
  // embedder; Unavailable/Timeout when Chroma is down.
  Result<std::vector<SemanticHit>> Search(const std::string& query, int k, const std::string& source);

 private:
  Result<CollectionRef> Collection(bool refresh);

  DocumentStore& store_;
  VectorStore& vectors_;
  Embedder& embedder_;
  std::string configured_collection_;
  ChunkerOptions chunker_;
  std::mutex mu_;
  std::optional<CollectionRef> collection_;
};

// A short single-line excerpt of `text` (at most max_bytes, cut at a UTF-8 boundary).
std::string MakeExcerpt(std::string_view text, size_t max_bytes = 240);

}  // namespace kb
