// kbindex's MCP catalog: the tools (search, get_note, put_note, delete_note, index_status,
// sync) and the note resource template kbindex://note/{id}, each a thin call into one use case
// (src/app/) with the result in the shared JSON shapes (app/json_shapes.h). Descriptions are
// written for a model: what the tool is for, what comes back, what to do next.
#pragma once

#include <string>

#include "app/services.h"
#include "mcp/session.h"

namespace kb::mcp {

inline constexpr const char* kNoteUriPrefix = "kbindex://note/";
inline constexpr int kMaxSearchResults = 50;
inline constexpr size_t kDefaultNoteRangeBytes = 16 * 1024;
inline constexpr size_t kMaxNoteRangeBytes = 256 * 1024;

// "kbindex://note/<id>" (the id's reserved characters left as they are: ids are URI-safe).
std::string NoteUri(const std::string& id);
// The id in a note URI (percent-decoded); InvalidArgument for anything else.
Result<std::string> NoteIdFromUri(const std::string& uri);

// The catalog over `services` (which must outlive it).
Catalog MakeCatalog(app::Services& services);

}  // namespace kb::mcp
