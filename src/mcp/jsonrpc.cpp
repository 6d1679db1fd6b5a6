#include "mcp/jsonrpc.h"

#include "util/json.h"

namespace kb::mcp {

using json = nlohmann::json;

namespace {

bool ValidId(const json& id) { return id.is_string() || id.is_number_integer(); }

Message Invalid(const json& id, int code, const std::string& message) {
  Message m;
  m.kind = Message::Kind::kInvalid;
  m.id = id;
  m.error = MakeError(id, code, message);
  return m;
}

}  // namespace

Message ClassifyMessage(const json& v) {
  if (v.is_array()) {
    return Invalid(nullptr, kInvalidRequest,
                   "batch requests are not supported (MCP removed JSON-RPC batching in 2025-06-18): "
                   "send one message per line");
  }
  if (!v.is_object()) return Invalid(nullptr, kInvalidRequest, "a message must be a JSON object");
  const bool has_id = v.contains("id");
  json id = nullptr;
  if (has_id) {
    if (!ValidId(v["id"])) {
      return Invalid(nullptr, kInvalidRequest, "'id' must be a string or an integer (not null)");
    }
    id = v["id"];
  }
  auto version = v.find("jsonrpc");
  if (version == v.end() || *version != "2.0") return Invalid(id, kInvalidRequest, "'jsonrpc' must be \"2.0\"");
  auto method = v.find("method");
  if (method == v.end()) {
    if (has_id && (v.contains("result") || v.contains("error"))) {
      Message m;
      m.kind = Message::Kind::kResponse;
      m.id = id;
      return m;
    }
    return Invalid(id, kInvalidRequest, "'method' is missing");
  }
  if (!method->is_string() || method->get_ref<const std::string&>().empty()) {
    return Invalid(id, kInvalidRequest, "'method' must be a non-empty string");
  }
  Message m;
  m.method = method->get<std::string>();
  m.id = id;
  if (auto params = v.find("params"); params != v.end() && !params->is_null()) {
    if (params->is_array()) {
      if (!has_id) return Invalid(nullptr, kInvalidParams, "'params' must be an object");
      return Invalid(id, kInvalidParams, "'params' must be an object (MCP uses named parameters)");
    }
    if (!params->is_object()) return Invalid(id, kInvalidRequest, "'params' must be an object");
    m.params = *params;
  }
  if (!has_id) {
    m.kind = Message::Kind::kNotification;
    return m;
  }
  if (m.method.starts_with("notifications/")) {
    return Invalid(id, kInvalidRequest, "'" + m.method + "' is a notification: it must not carry an id");
  }
  m.kind = Message::Kind::kRequest;
  return m;
}

Message ParseMessage(std::string_view text) {
  auto parsed = ParseJson(text);
  if (!parsed.ok()) return Invalid(nullptr, kParseError, "parse error: " + parsed.status().message());
  return ClassifyMessage(*parsed);
}

json MakeResult(const json& id, json result) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json MakeError(const json& id, int code, const std::string& message, const json& data) {
  json error{{"code", code}, {"message", message}};
  if (!data.is_null()) error["data"] = data;
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(error)}};
}

json MakeNotification(const std::string& method, json params) {
  return json{{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
}

std::string IdText(const json& id) { return id.dump(); }

}  // namespace kb::mcp
