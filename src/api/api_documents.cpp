#include "api/api_documents.h"

#include <nlohmann/json.hpp>

#include "scan/markdown.h"
#include "util/hash.h"
#include "util/utf8.h"

namespace kb {

using json = nlohmann::json;

Status ValidateDocumentId(const std::string& id) {
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

Result<DocumentInput> ApiDocumentFromJson(const std::string& id, const json& body, size_t max_body_bytes) {
  KB_RETURN_IF_ERROR(ValidateDocumentId(id));
  if (!body.is_object()) return Status::InvalidArgument("the request body must be a JSON object");
  for (const auto& [k, v] : body.items()) {
    if (k != "title" && k != "body" && k != "metadata") {
      return Status::InvalidArgument("unknown field '" + k + "' (allowed: title, body, metadata)");
    }
  }
  if (!body.contains("body") || !body["body"].is_string()) {
    return Status::InvalidArgument("field 'body' (a string) is required");
  }
  if (body.contains("title") && !body["title"].is_string()) {
    return Status::InvalidArgument("field 'title' must be a string");
  }
  json meta = json::object();
  if (body.contains("metadata")) {
    if (!body["metadata"].is_object()) return Status::InvalidArgument("field 'metadata' must be an object");
    meta = body["metadata"];
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
  }
  DocumentInput d;
  d.id = id;
  d.source = kApiSource;
  d.body = body["body"].get<std::string>();
  if (d.body.size() > max_body_bytes) {
    return Status::InvalidArgument("body is " + std::to_string(d.body.size()) + " bytes; the limit is " +
                                   std::to_string(max_body_bytes));
  }
  // The JSON parser already refused invalid UTF-8; keep the guarantee explicit here.
  if (!utf8::IsValid(d.body)) return Status::InvalidArgument("body is not valid UTF-8");
  d.title = body.contains("title") ? body["title"].get<std::string>() : "";
  if (d.title.empty()) d.title = FirstHeading(d.body);
  if (d.title.empty()) d.title = id;
  d.metadata_json = meta.dump();
  d.content_hash = ContentHash(json{{"title", d.title}, {"body", d.body}, {"metadata", meta}}.dump());
  return d;
}

}  // namespace kb
