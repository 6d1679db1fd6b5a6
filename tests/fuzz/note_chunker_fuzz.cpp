// libFuzzer target: frontmatter parsing, title extraction and chunking of any valid UTF-8 text.
// Every chunk fits the size limit and is valid UTF-8 (Chroma rejects a batch otherwise), the
// metadata is a JSON object, and no text is lost between the body and its chunks.
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "scan/chunker.h"
#include "scan/markdown.h"
#include "util/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (!kb::utf8::IsValid(text)) return 0;  // the scanner skips such files before parsing
  for (bool markdown : {true, false}) {
    kb::ParsedNote note = kb::ParseNote(text, "fuzz.md", markdown);
    if (!kb::utf8::IsValid(note.title) || note.title.empty()) std::abort();
    auto meta = nlohmann::json::parse(note.metadata_json, nullptr, false);
    if (meta.is_discarded() || !meta.is_object()) std::abort();
    for (size_t max : {16u, 64u, 1500u}) {
      kb::ChunkerOptions o;
      o.max_bytes = max;
      auto chunks = kb::ChunkDocument(note.body, markdown, o);
      if (chunks.empty()) std::abort();
      size_t non_space = 0;
      for (const auto& c : chunks) {
        if (c.text.size() > max || !kb::utf8::IsValid(c.text) || !kb::utf8::IsValid(c.heading)) std::abort();
        for (char ch : c.text) non_space += !(ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t');
      }
      size_t body_non_space = 0;
      for (char ch : note.body) body_non_space += !(ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t');
      if (non_space != body_non_space) std::abort();  // chunking loses no text
    }
  }
  return 0;
}
