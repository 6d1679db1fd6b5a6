#include "app/notes.h"

#include <nlohmann/json.hpp>

#include "app/convert.h"
#include "scan/markdown.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/utf8.h"

namespace kb::app {

using json = nlohmann::json;

Status ValidateNoteId(const std::string& id) {
  if (id.empty() || id.size() > 512) return Status::InvalidArgument("document id must be 1 to 512 characters");
  for (char c : id) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
                    c == '~' || c == ':' || c == '/' || c == '@' || c == '+';
    if (!ok) {
      return Status::InvalidArgument("document id may only contain letters, digits and . _ - ~ : / @ +");
    }
  }
  if (id.front() == '/' || id.back() == '/' || id.find("//") != std::string::npos) {
    return Status::InvalidArgument("document id must not start or end with '/' or contain '//'");
  }
  if (id == ".." || id.starts_with("../") || id.ends_with("/..") || id.find("/../") != std::string::npos) {
    return Status::InvalidArgument("document id must not contain a '..' segment");
  }
  return Status::Ok();
}

Result<DocumentInput> NoteToDocument(const kbindex::NoteInput& note, size_t max_body_bytes) {
  KB_RETURN_IF_ERROR(ValidateNoteId(note.id));
  if (note.body.size() > max_body_bytes) {
    return Status::InvalidArgument("body is " + std::to_string(note.body.size()) + " bytes; the limit is " +
                                   std::to_string(max_body_bytes));
  }
  if (!utf8::IsValid(note.body)) return Status::InvalidArgument("body is not valid UTF-8");
  if (!utf8::IsValid(note.title)) return Status::InvalidArgument("title is not valid UTF-8");
  json meta = json::object();
  if (!note.metadata_json.empty()) {
    auto parsed = ParseJson(note.metadata_json);
    if (!parsed.ok()) return Status::InvalidArgument("metadata: " + parsed.status().message());
    meta = std::move(parsed).value();
  }
  if (!meta.is_object()) return Status::InvalidArgument("metadata must be a JSON object");
  for (const auto& [k, v] : meta.items()) {
    if (k.empty() || k.size() > 128) return Status::InvalidArgument("metadata keys must be 1 to 128 characters");
    const bool scalar = v.is_string() || v.is_number() || v.is_boolean() || v.is_null();
    bool list_ok = v.is_array();
    if (list_ok) {
      for (const auto& e : v) list_ok &= e.is_string() || e.is_number() || e.is_boolean();
    }
    if (!scalar && !list_ok) {
      return Status::InvalidArgument("metadata '" + k + "' must be a string, number, boolean or a list of them");
    }
  }
  DocumentInput d;
  d.id = note.id;
  d.source = kApiSource;
  d.body = note.body;
  d.title = note.title;
  if (d.title.empty()) d.title = FirstHeading(d.body);
  if (d.title.empty()) d.title = note.id;
  d.metadata_json = meta.dump();
  d.content_hash = ContentHash(json{{"title", d.title}, {"body", d.body}, {"metadata", meta}}.dump());
  return d;
}

namespace {

Status ForeignSource(const std::string& id, const std::string& source, const char* verb) {
  return Status::Conflict("'" + id + "' belongs to folder source '" + source + "'; " + verb +
                          " the file instead");
}

}  // namespace

Result<kbindex::PutResult> PutNote(Services& s, const kbindex::NoteInput& note) {
  KB_ASSIGN_OR_RETURN(DocumentInput doc, NoteToDocument(note, static_cast<size_t>(s.config().max_file_bytes)));
  KB_RETURN_IF_ERROR(s.EnsureApiSource());
  KB_ASSIGN_OR_RETURN(auto existing, s.store().Get(doc.id));
  if (existing && existing->source != kApiSource) return ForeignSource(doc.id, existing->source, "edit");
  std::vector<DocumentInput> docs{std::move(doc)};
  KB_ASSIGN_OR_RETURN(auto outcomes, s.store().PutDocuments(docs));
  if (outcomes[0] == PutOutcome::kConflict) {  // a folder took the id meanwhile
    KB_ASSIGN_OR_RETURN(auto now, s.store().Get(note.id));
    return ForeignSource(note.id, now ? now->source : "?", "edit");
  }
  KB_ASSIGN_OR_RETURN(auto stored, s.store().Get(note.id));
  if (!stored) return Status::Internal("note '" + note.id + "' vanished right after it was written");
  kbindex::PutResult r;
  r.id = note.id;
  r.sync_state = ToPublic(stored->sync_status);
  r.content_hash = stored->content_hash;
  switch (outcomes[0]) {
    case PutOutcome::kInserted: r.outcome = kbindex::WriteOutcome::kCreated; break;
    case PutOutcome::kChanged: r.outcome = kbindex::WriteOutcome::kUpdated; break;
    case PutOutcome::kRestored: r.outcome = kbindex::WriteOutcome::kRestored; break;
    default: r.outcome = kbindex::WriteOutcome::kUnchanged; break;
  }
  if (r.outcome != kbindex::WriteOutcome::kUnchanged) s.NudgeWorker();
  return r;
}

Result<kbindex::DeleteResult> DeleteNote(Services& s, const std::string& id) {
  KB_RETURN_IF_ERROR(ValidateNoteId(id));
  KB_ASSIGN_OR_RETURN(auto existing, s.store().Get(id));
  if (!existing || existing->deleted_at) return Status::NotFound("no document '" + id + "'");
  if (existing->source != kApiSource) return ForeignSource(id, existing->source, "delete");
  std::vector<std::string> ids{id};
  KB_ASSIGN_OR_RETURN(int removed, s.store().Tombstone(ids));
  if (removed == 0) return Status::NotFound("no document '" + id + "'");
  KB_ASSIGN_OR_RETURN(auto after, s.store().Get(id));
  kbindex::DeleteResult r{id, !after.has_value()};
  if (!r.purged) s.NudgeWorker();
  return r;
}

Result<std::optional<kbindex::Note>> GetNote(Services& s, const std::string& id, bool with_body) {
  KB_ASSIGN_OR_RETURN(auto doc, s.store().Get(id));
  if (!doc) return std::optional<kbindex::Note>();
  return std::optional<kbindex::Note>(ToNote(*doc, with_body));
}

Result<NoteText> ReadNoteText(Services& s, const std::string& id, size_t offset, size_t max_bytes) {
  KB_RETURN_IF_ERROR(ValidateNoteId(id));
  if (max_bytes == 0) return Status::InvalidArgument("the range must be at least 1 byte long");
  KB_ASSIGN_OR_RETURN(auto doc, s.store().Get(id));
  if (!doc) return Status::NotFound("no note '" + id + "'");
  if (doc->deleted_at) return Status::NotFound("note '" + id + "' was deleted");
  NoteText r;
  r.note = ToNote(*doc, /*with_body=*/false);
  const std::string& body = doc->body;
  r.total = body.size();
  if (offset > r.total) {
    return Status::InvalidArgument("offset " + std::to_string(offset) + " is past the end of '" + id + "' (" +
                                   std::to_string(r.total) + " bytes)");
  }
  r.offset = utf8::BoundaryAtOrBefore(body, offset);
  const std::string_view rest = std::string_view(body).substr(r.offset);
  size_t n = utf8::BoundaryAtOrBefore(rest, max_bytes);
  if (n == 0 && !rest.empty()) {  // one character longer than the range: return it whole
    n = 1;
    while (n < rest.size() && (static_cast<unsigned char>(rest[n]) & 0xC0) == 0x80) ++n;
  }
  r.text = std::string(rest.substr(0, n));
  r.end = r.offset + n;
  return r;
}

}  // namespace kb::app
