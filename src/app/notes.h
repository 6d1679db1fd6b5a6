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

}  // namespace kb::app
