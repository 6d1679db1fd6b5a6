// Use cases: notes pushed by the application (the library's Put/Delete/Get, the HTTP API's
// /v1/documents, MCP's put_note/delete_note/get_note).
//
// A note belongs to its source: API notes can be written and deleted here, a folder's notes
// only by editing the files (Conflict, with the reason), and a folder scan never overwrites an
// API note that has the same id (DocumentStore enforces both directions).
#pragma once

#include <optional>
#include <string>

#include "app/services.h"
#include "kbindex/types.h"
#include "store/records.h"

namespace kb::app {

// Ids: 1..512 characters of letters, digits and . _ - ~ : / @ +, not starting or ending with
// '/', without "//" or a ".." segment. InvalidArgument with the rule otherwise.
Status ValidateNoteId(const std::string& id);

// The DocumentInput for an API note: validates id, body (UTF-8, at most max_body_bytes) and
// metadata (an object of strings, numbers, booleans or lists of them, keys 1..128 characters);
// the title falls back to the first heading, then the id; the content hash covers title, body
// and metadata (key order does not matter).
Result<DocumentInput> NoteToDocument(const kbindex::NoteInput& note, size_t max_body_bytes);

Result<kbindex::PutResult> PutNote(Services& s, const kbindex::NoteInput& note);
Result<kbindex::DeleteResult> DeleteNote(Services& s, const std::string& id);
// nullopt when there is no such row (a deleted note waiting for Chroma is returned, with
// deleted_ms set).
Result<std::optional<kbindex::Note>> GetNote(Services& s, const std::string& id, bool with_body);

// A byte range of a live note's text (for readers that take long notes in parts), cut on UTF-8
// character boundaries: [offset, end) of total bytes. An offset inside a character moves back to
// its start; a range of max_bytes ends before the character that would not fit (at least one
// character is returned).
struct NoteText {
  kbindex::Note note;  // without its body
  std::string text;
  size_t offset = 0;
  size_t end = 0;
  size_t total = 0;
  bool more() const { return end < total; }
};
// NotFound for no note or a deleted one (saying which); InvalidArgument for an offset past the
// end or max_bytes 0.
Result<NoteText> ReadNoteText(Services& s, const std::string& id, size_t offset, size_t max_bytes);

}  // namespace kb::app
