#include "mcp/session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

namespace kb::mcp {

using json = nlohmann::json;

const std::vector<std::string>& SupportedProtocolVersions() {
  static const std::vector<std::string> versions{kLatestProtocolVersion, "2025-06-18", "2025-03-26",
                                                 "2024-11-05", "2024-10-07"};
  return versions;
}

bool IsSupportedProtocolVersion(const std::string& v) {
  const auto& all = SupportedProtocolVersions();
  return std::find(all.begin(), all.end(), v) != all.end();
}

std::string NegotiateProtocolVersion(const std::string& requested) {
  return IsSupportedProtocolVersion(requested) ? requested : kLatestProtocolVersion;
}

// ---------------------------------------------------------------- argument checks

namespace {

std::string TypeName(const json& v) {
  if (v.is_number_integer()) return "integer";
  if (v.is_number()) return "number";
  return v.type_name();  // string, boolean, object, array, null
}

bool HasType(const json& v, const std::string& type) {
  if (type == "string") return v.is_string();
  if (type == "integer") {
    if (v.is_number_integer()) return true;
    if (!v.is_number_float()) return false;
    const double d = v.get<double>();  // 5.0 is an integer in JSON Schema
    return std::abs(d) < 9e15 && d == std::floor(d);
  }
  if (type == "number") return v.is_number();
  if (type == "boolean") return v.is_boolean();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "null") return v.is_null();
  return false;
}

}  // namespace

std::optional<std::string> CheckAgainstSchema(const json& schema, const json& value, const std::string& where) {
  if (auto t = schema.find("type"); t != schema.end()) {
    std::vector<std::string> types;
    if (t->is_array()) {
      for (const auto& x : *t) types.push_back(x.get<std::string>());
    } else {
      types.push_back(t->get<std::string>());
    }
    bool ok = false;
    for (const auto& type : types) ok |= HasType(value, type);
    if (!ok) {
      std::string want;
      for (const auto& type : types) want += (want.empty() ? "" : " or ") + type;
      return where + " must be " + (want == "integer" || want == "object" || want == "array" ? "an " : "a ") +
             want + ", not " + (value.is_null() ? "null" : "a " + TypeName(value));
    }
  }
  if (auto e = schema.find("enum"); e != schema.end()) {
    if (std::find(e->begin(), e->end(), value) == e->end()) {
      std::string allowed;
      for (const auto& x : *e) allowed += (allowed.empty() ? "" : ", ") + x.dump();
      return where + " must be one of " + allowed;
    }
  }
  if (value.is_number()) {
    const double d = value.get<double>();
    if (auto m = schema.find("minimum"); m != schema.end() && d < m->get<double>()) {
      return where + " must be at least " + m->dump();
    }
    if (auto m = schema.find("maximum"); m != schema.end() && d > m->get<double>()) {
      return where + " must be at most " + m->dump();
    }
  }
  if (value.is_string()) {
    const size_t n = value.get_ref<const std::string&>().size();
    if (auto m = schema.find("minLength"); m != schema.end() && n < m->get<size_t>()) {
      return where + (m->get<size_t>() == 1 ? " must not be empty" : " must have at least " + m->dump() + " characters");
    }
    if (auto m = schema.find("maxLength"); m != schema.end() && n > m->get<size_t>()) {
      return where + " is too long (" + std::to_string(n) + " bytes; at most " + m->dump() + ")";
    }
  }
  if (value.is_array()) {
    if (auto items = schema.find("items"); items != schema.end()) {
      for (size_t i = 0; i < value.size(); ++i) {
        if (auto why = CheckAgainstSchema(*items, value[i], where + "[" + std::to_string(i) + "]")) return why;
      }
    }
  }
  if (value.is_object()) {
    const json props = schema.value("properties", json::object());
    for (const auto& r : schema.value("required", json::array())) {
      if (!value.contains(r.get<std::string>())) {
        return (where == "arguments" ? "missing required argument '" : where + " lacks '") + r.get<std::string>() + "'";
      }
    }
    const bool closed = schema.contains("additionalProperties") && schema["additionalProperties"] == false;
    for (const auto& [k, v] : value.items()) {
      auto p = props.find(k);
      if (p == props.end()) {
        if (!closed) continue;
        std::string known;
        for (const auto& [name, unused] : props.items()) known += (known.empty() ? "" : ", ") + name;
        return (where == "arguments" ? "unknown argument '" : where + " has an unknown field '") + k.substr(0, 100) +
               "' (allowed: " + known + ")";
      }
      if (auto why = CheckAgainstSchema(*p, v, "'" + k + "'")) return why;
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- the session

Session::Session(const Catalog& catalog, SessionLimits limits) : catalog_(catalog), limits_(limits) {}

bool Session::initialized() const {
  std::lock_guard lock(mu_);
  return initialized_;
}

std::string Session::protocol_version() const {
  std::lock_guard lock(mu_);
  return version_;
}

bool Session::Modern() const {
  std::lock_guard lock(mu_);
  return version_ >= "2025-06-18";
}

bool Session::IsLong(const Message& m) {
  return m.kind == Message::Kind::kRequest && (m.method == "tools/call" || m.method == "resources/read");
}

bool Session::Accept(const Message& m) {
  if (m.kind != Message::Kind::kRequest) return true;
  std::lock_guard lock(mu_);
  return in_flight_.try_emplace(IdText(m.id), std::make_shared<std::atomic<bool>>(false)).second;
}

json Session::DuplicateId(const Message& m) {
  return MakeError(m.id, kInvalidRequest, "request id " + IdText(m.id) + " is already in use by a running request");
}

void Session::CancelAll() {
  std::lock_guard lock(mu_);
  for (auto& [id, flag] : in_flight_) flag->store(true);
}

void Session::OnCancelled(const json& params) {
  auto id = params.find("requestId");
  if (id == params.end() || !(id->is_string() || id->is_number_integer())) return;
  std::lock_guard lock(mu_);
  if (auto it = in_flight_.find(IdText(*id)); it != in_flight_.end()) {
    it->second->store(true);
    spdlog::info("mcp: request {} cancelled by the client ({})", IdText(*id),
                 params.value("reason", json("no reason")).dump());
  }
}

std::optional<json> Session::HandleText(std::string_view text, const Notify& notify) {
  const Message m = ParseMessage(text);
  if (IsLong(m) && !Accept(m)) return DuplicateId(m);
  return Handle(m, notify);
}

std::optional<json> Session::Handle(const Message& m, const Notify& notify) {
  switch (m.kind) {
    case Message::Kind::kInvalid:
      return m.error;
    case Message::Kind::kResponse:
      return std::nullopt;  // we send no requests; nothing waits for an answer
    case Message::Kind::kNotification:
      if (m.method == "notifications/cancelled") OnCancelled(m.params);
      // notifications/initialized and anything unknown: nothing to do (never answered).
      return std::nullopt;
    case Message::Kind::kRequest:
      break;
  }

  // One flag per request id while it runs (Accept may have made it already).
  std::shared_ptr<std::atomic<bool>> cancelled;
  const std::string key = IdText(m.id);
  {
    std::lock_guard lock(mu_);
    auto [it, inserted] = in_flight_.try_emplace(key, nullptr);
    if (!inserted && !IsLong(m)) return DuplicateId(m);
    if (!it->second) it->second = std::make_shared<std::atomic<bool>>(false);
    cancelled = it->second;
  }
  struct Done {
    Session* s;
    const std::string& key;
    ~Done() {
      std::lock_guard lock(s->mu_);
      s->in_flight_.erase(key);
    }
  } done{this, key};

  if (IsLong(m) && cancelled->load()) {
    spdlog::info("mcp: request {} was cancelled before it started", key);
    return std::nullopt;
  }
  json response;
  try {
    if (m.method == "initialize") {
      response = Initialize(m);
    } else if (m.method == "ping") {
      response = MakeResult(m.id, json::object());
    } else if (!initialized()) {
      response = MakeError(m.id, kInvalidRequest, "the session is not initialized: send 'initialize' first");
    } else if (m.method == "tools/list") {
      response = MakeResult(m.id, ListTools());
    } else if (m.method == "tools/call") {
      response = CallTool(m, *cancelled, notify);
    } else if (m.method == "resources/list") {
      response = MakeResult(m.id, json{{"resources", json::array()}});
    } else if (m.method == "resources/templates/list") {
      json list = json::array();
      for (const auto& t : catalog_.templates) {
        json j{{"uriTemplate", t.uri_template}, {"name", t.name}, {"description", t.description},
               {"mimeType", t.mime_type}};
        if (Modern()) j["title"] = t.title;
        list.push_back(std::move(j));
      }
      response = MakeResult(m.id, json{{"resourceTemplates", list}});
    } else if (m.method == "resources/read") {
      response = ReadResource(m);
    } else {
      response = MakeError(m.id, kMethodNotFound, "method '" + m.method.substr(0, 100) + "' not found");
    }
  } catch (const std::exception& e) {
    spdlog::error("mcp: {} failed: {}", m.method, e.what());
    response = MakeError(m.id, kInternalError, "internal error (see the server's log)");
  }
  if (cancelled->load() && IsLong(m)) {
    spdlog::info("mcp: request {} was cancelled: no response", key);
    return std::nullopt;
  }
  return response;
}

json Session::Initialize(const Message& m) {
  auto v = m.params.find("protocolVersion");
  if (v == m.params.end() || !v->is_string()) {
    return MakeError(m.id, kInvalidParams, "initialize needs 'protocolVersion' (a string)");
  }
  if (auto c = m.params.find("capabilities"); c != m.params.end() && !c->is_object()) {
    return MakeError(m.id, kInvalidParams, "'capabilities' must be an object");
  }
  std::string client = "unknown client";
  if (auto info = m.params.find("clientInfo"); info != m.params.end() && info->is_object()) {
    client = info->value("name", json("?")).dump() + " " + info->value("version", json("?")).dump();
  }
  {
    std::lock_guard lock(mu_);
    if (initialized_) return MakeError(m.id, kInvalidRequest, "the session is already initialized");
    version_ = NegotiateProtocolVersion(v->get<std::string>());
    initialized_ = true;
  }
  spdlog::info("mcp: {} asked for protocol {}, speaking {}", client, v->dump(), protocol_version());
  json server{{"name", "kbindex"}, {"version", KBINDEX_VERSION}};
  if (Modern()) server["title"] = "kbindex notes";
  json result{{"protocolVersion", protocol_version()},
              {"capabilities",
               {{"tools", {{"listChanged", false}}}, {"resources", {{"subscribe", false}, {"listChanged", false}}}}},
              {"serverInfo", server}};
  if (!catalog_.instructions.empty()) result["instructions"] = catalog_.instructions;
  return MakeResult(m.id, std::move(result));
}

json Session::ListTools() const {
  const bool modern = Modern();
  json tools = json::array();
  for (const Tool& t : catalog_.tools) {
    json j{{"name", t.name}, {"description", t.description}, {"inputSchema", t.input_schema}};
    if (modern) {
      j["title"] = t.title;
      j["outputSchema"] = t.output_schema;
    }
    if (!t.annotations.is_null()) {
      j["annotations"] = t.annotations;
      if (modern) j["annotations"]["title"] = t.title;
    }
    tools.push_back(std::move(j));
  }
  return json{{"tools", tools}};
}

json Session::CallTool(const Message& m, const std::atomic<bool>& cancelled, const Notify& notify) {
  auto name = m.params.find("name");
  if (name == m.params.end() || !name->is_string()) {
    return MakeError(m.id, kInvalidParams, "tools/call needs 'name' (a string)");
  }
  json args = json::object();
  if (auto a = m.params.find("arguments"); a != m.params.end() && !a->is_null()) {
    if (!a->is_object()) return MakeError(m.id, kInvalidParams, "'arguments' must be an object");
    args = *a;
  }
  const auto tool = std::find_if(catalog_.tools.begin(), catalog_.tools.end(),
                                 [&](const Tool& t) { return t.name == *name; });
  if (tool == catalog_.tools.end()) {
    std::string known;
    for (const auto& t : catalog_.tools) known += (known.empty() ? "" : ", ") + t.name;
    return MakeError(m.id, kInvalidParams,
                     "unknown tool '" + name->get<std::string>().substr(0, 100) + "' (tools: " + known + ")");
  }

  // Progress, when the client asked for it with a token.
  ToolContext ctx;
  ctx.cancelled = &cancelled;
  json token;
  if (auto meta = m.params.find("_meta"); meta != m.params.end() && meta->is_object()) {
    if (auto t = meta->find("progressToken"); t != meta->end() && (t->is_string() || t->is_number_integer())) {
      token = *t;
    }
  }
  // The first notification goes out at once; each later one waits for the next, and the last is
  // dropped (the result carries the final figures). A notification written right before the
  // response can reach a client in the same read as it, and the official SDK handles
  // notifications a tick after responses: it would find the request finished ("unknown token").
  struct ProgressState {
    double last = -1;
    bool sent_first = false;
    std::optional<json> held;
  };
  auto state = std::make_shared<ProgressState>();
  ctx.progress = [token, notify, state, &cancelled](double progress, std::optional<double> total,
                                                    const std::string& message) {
    if (token.is_null() || !notify || progress <= state->last || cancelled.load()) return;
    state->last = progress;
    json p{{"progressToken", token}, {"progress", progress}};
    if (total) p["total"] = *total;
    if (!message.empty()) p["message"] = message;
    json n = MakeNotification("notifications/progress", std::move(p));
    if (!state->sent_first) {
      state->sent_first = true;
      notify(n);
      return;
    }
    if (state->held) notify(*state->held);
    state->held = std::move(n);
  };

  ToolResult r;
  if (auto why = CheckAgainstSchema(tool->input_schema, args)) {
    r = ToolResult::Error("Invalid arguments for " + tool->name + ": " + *why + ".");
  } else {
    r = tool->run(args, ctx);
  }
  json result{{"content", json::array({json{{"type", "text"}, {"text", r.text}}})}, {"isError", r.is_error}};
  if (!r.is_error && Modern() && !r.structured.is_null()) result["structuredContent"] = r.structured;
  const size_t size = result.dump(-1, ' ', false, json::error_handler_t::replace).size();
  if (size > limits_.max_result_bytes) {
    spdlog::warn("mcp: {} result of {} bytes refused (limit {})", tool->name, size, limits_.max_result_bytes);
    result = json{{"content", json::array({json{{"type", "text"},
                                                 {"text", "The result is " + std::to_string(size) +
                                                              " bytes, over the " +
                                                              std::to_string(limits_.max_result_bytes) +
                                                              "-byte limit: ask for less (a smaller k, or a "
                                                              "shorter byte range)."}}})},
                  {"isError", true}};
  }
  return MakeResult(m.id, std::move(result));
}

json Session::ReadResource(const Message& m) {
  auto uri = m.params.find("uri");
  if (uri == m.params.end() || !uri->is_string()) {
    return MakeError(m.id, kInvalidParams, "resources/read needs 'uri' (a string)");
  }
  if (!catalog_.read_resource) return MakeError(m.id, kResourceNotFound, "no resources");
  // Room for the envelope around the text.
  const size_t budget = limits_.max_result_bytes > 4096 ? limits_.max_result_bytes - 4096 : limits_.max_result_bytes;
  auto contents = catalog_.read_resource(uri->get<std::string>(), budget);
  if (!contents.ok()) {
    const bool not_found = contents.status().code() == Status::Code::kNotFound;
    if (not_found || contents.status().code() == Status::Code::kInvalidArgument) {
      return MakeError(m.id, not_found ? kResourceNotFound : kInvalidParams, contents.status().message(),
                       json{{"uri", *uri}});
    }
    spdlog::error("mcp: resources/read {}: {}", uri->dump(), contents.status().ToString());
    return MakeError(m.id, kInternalError, "could not read the resource: " + contents.status().message());
  }
  return MakeResult(m.id, json{{"contents", json::array({json{{"uri", contents->uri},
                                                              {"mimeType", contents->mime_type},
                                                              {"text", contents->text}}})}});
}

}  // namespace kb::mcp
