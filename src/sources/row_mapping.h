// From a source row to the document kbindex stores: id "<source>:<row id>", title, body,
// metadata JSON from the mapped columns, content hash. The same checks as a file gets: the text
// must be valid UTF-8 without NUL bytes and within the size limit; a row that fails them is
// skipped with a stable reason (and its last good version, if any, stays indexed).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "sources/row_source.h"
#include "store/records.h"

namespace kb::sources {

struct MappingOptions {
  std::string source;              // the source name (first part of every document id)
  int64_t max_body_bytes = 10 * 1024 * 1024;
};

struct MappedRow {
  std::string row_id;  // the row's id as text ("" when unusable: then `skipped` says why)
  std::string doc_id;  // "<source>:<row id>"
  bool deleted = false;                // the row is marked deleted: remove the document
  std::optional<DocumentInput> doc;    // the document to write (live, valid rows)
  std::optional<SkippedFile> skipped;  // why the row cannot be indexed
};

// The row's id as text: integers in decimal, text as is. Nullopt (with `why`) for ids that
// cannot name a document: empty, over 512 bytes, invalid UTF-8, control characters, blobs.
std::optional<std::string> RowIdText(const Value& key, std::string* why);

// "<source>:<row id>"
std::string DocumentIdFor(const std::string& source, const std::string& row_id);

// Maps one row. Skip reasons: bad_id, null_body, binary (NUL byte), invalid_utf8 (with the
// byte offset and the column), too_large.
MappedRow MapRow(const Row& row, const MappingOptions& options, int64_t now_ms);

}  // namespace kb::sources
