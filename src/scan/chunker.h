// Chunker: splits a document body into chunks for embedding.
//
// Markdown: split at headings (outside fenced code), each chunk remembering its heading path
// ("Setup > Network"); small neighbouring sections are packed together and large ones split at
// paragraph, then line, then word boundaries, never inside a UTF-8 sequence, so every chunk is
// at most max_bytes (except with mode kNone). Plain text: paragraphs packed the same way.
// Every document yields at least one chunk (possibly empty), so it always has a vector.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kb {

struct Chunk {
  std::string text;
  std::string heading;  // "A > B" path of the heading the chunk starts under; "" before any
};

struct ChunkerOptions {
  enum class Mode { kMarkdown, kNone };
  Mode mode = Mode::kMarkdown;
  size_t max_bytes = 1500;
  size_t max_chunks = 0;  // stop after this many chunks (0: no limit)
};

// The chunks of `body`. `truncated`, when given, says whether max_chunks cut the document short.
std::vector<Chunk> ChunkDocument(std::string_view body, bool markdown, const ChunkerOptions& options,
                                 bool* truncated = nullptr);

}  // namespace kb
