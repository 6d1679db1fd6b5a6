#include "sources/row_mapping.h"

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "scan/markdown.h"
#include "util/hash.h"
#include "util/utf8.h"

namespace kb::sources {

using json = nlohmann::json;

std::optional<std::string> RowIdText(const Value& key, std::string* why) {
  std::string id;
  switch (key.type) {
    case Value::Type::kInt: return std::to_string(key.i);
    case Value::Type::kText:
    case Value::Type::kJson: id = key.text; break;
    case Value::Type::kNull: *why = "the id is NULL"; return std::nullopt;
    default: *why = "the id is not an integer or text"; return std::nullopt;
  }
  if (id.empty()) {
    *why = "the id is empty";
    return std::nullopt;
  }
  if (id.size() > 512) {
    *why = "the id is longer than 512 bytes";
    return std::nullopt;
  }
  if (!utf8::IsValid(id)) {
    *why = "the id is not valid UTF-8";
    return std::nullopt;
  }
  for (char c : id) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      *why = "the id contains a control character";
      return std::nullopt;
    }
  }
  return id;
}

std::string DocumentIdFor(const std::string& source, const std::string& row_id) { return source + ":" + row_id; }

namespace {

json ValueToJson(const Value& v) {
  switch (v.type) {
    case Value::Type::kNull: return nullptr;
    case Value::Type::kInt: return v.i;
    case Value::Type::kReal: return std::isfinite(v.d) ? json(v.d) : json(v.text);
    case Value::Type::kBool: return v.i != 0;
    case Value::Type::kJson: {
      json j = json::parse(v.text, nullptr, false);
      return j.is_discarded() ? json(v.text) : j;
    }
    case Value::Type::kBlob:
    case Value::Type::kText: return v.text;
  }
  return nullptr;
}

// Why `text` (column `column`) cannot be indexed, or "" when it can.
std::string CheckText(const std::string& text, const std::string& column, std::string* reason) {
  if (const void* nul = std::memchr(text.data(), '\0', text.size())) {
    *reason = "binary";
    return "NUL byte at offset " + std::to_string(static_cast<const char*>(nul) - text.data()) + " of column " +
           column + " (binary data)";
  }
  if (auto bad = utf8::FindInvalid(text)) {
    *reason = "invalid_utf8";
    return "invalid UTF-8 at byte " + std::to_string(*bad) + " of column " + column;
  }
  return "";
}

}  // namespace

MappedRow MapRow(const Row& row, const MappingOptions& o, int64_t now_ms) {
  MappedRow out;
  out.deleted = row.deleted;
  auto skip = [&](const char* reason, std::string detail, std::optional<int64_t> size = std::nullopt) {
    out.skipped = SkippedFile{o.source, out.row_id.empty() ? "(unusable id)" : out.row_id, reason, std::move(detail),
                              size, std::nullopt, now_ms};
    return out;
  };
  std::string why;
  auto id = row.key ? RowIdText(*row.key, &why) : std::nullopt;
  if (!row.key) why = "the id is NULL";
  if (!id) {
    out.deleted = false;  // a row without a usable id names no document
    return skip("bad_id", why);
  }
  out.row_id = *id;
  out.doc_id = DocumentIdFor(o.source, out.row_id);
  if (row.deleted) return out;

  if (row.body.is_null()) return skip("null_body", "the body column is NULL");
  const std::string& body = row.body.text;
  const auto size = static_cast<int64_t>(body.size());
  if (size > o.max_body_bytes) {
    return skip("too_large",
                "the body is " + std::to_string(size) + " bytes; the limit is " + std::to_string(o.max_body_bytes) +
                    " (max_file_bytes)",
                size);
  }
  std::string reason;
  if (std::string d = CheckText(body, "body", &reason); !d.empty()) return skip(reason.c_str(), d, size);
  std::string title = row.title.is_null() ? std::string() : row.title.text;
  if (std::string d = CheckText(title, "title", &reason); !d.empty()) return skip(reason.c_str(), d, size);

  json meta = json::object();
  for (const auto& [column, value] : row.metadata) {
    if (value.type == Value::Type::kText || value.type == Value::Type::kBlob || value.type == Value::Type::kJson) {
      if (std::string d = CheckText(value.text, column, &reason); !d.empty()) return skip(reason.c_str(), d, size);
    }
    meta[column] = ValueToJson(value);
  }
  DocumentInput doc;
  doc.id = out.doc_id;
  doc.source = o.source;
  doc.body = body;
  doc.title = title.empty() ? FirstHeading(body) : title;
  if (doc.title.empty()) doc.title = out.row_id;
  doc.metadata_json = meta.dump();
  // Title, body and metadata: what the note says. Not updated_at: a row touched without a change
  // is unchanged (no write, no Chroma call).
  doc.content_hash = ContentHash(json{{"title", doc.title}, {"body", doc.body}, {"metadata", meta}}.dump());
  doc.file_size = size;
  out.doc = std::move(doc);
  return out;
}

}  // namespace kb::sources
