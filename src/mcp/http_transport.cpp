#include "mcp/http_transport.h"

#include <spdlog/spdlog.h>

#include <random>

namespace kb::mcp {

using json = nlohmann::json;

namespace {

constexpr const char* kSessionHeader = "Mcp-Session-Id";
constexpr const char* kVersionHeader = "MCP-Protocol-Version";

std::string NewSessionId() {
  std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 4; ++i) {
    uint32_t v = rd();
    for (int j = 0; j < 8; ++j, v >>= 4) id.push_back(hex[v & 0xF]);
  }
  return id;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void Send(api::HttpResponse& res, int status, const json& body) {
  res.status = status;
  res.content_type = "application/json";
  res.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

HttpTransport::HttpTransport(const Catalog& catalog, HttpTransportOptions options)
    : catalog_(catalog), options_(options) {}

void HttpTransport::AddRoutes(api::Router& router) {
  router.Add("POST", "/mcp", [this](const api::HttpRequest& req, api::HttpResponse& res) { Post(req, res); });
  router.Add("DELETE", "/mcp", [this](const api::HttpRequest& req, api::HttpResponse& res) { Delete(req, res); });
  router.Add("GET", "/mcp", [](const api::HttpRequest&, api::HttpResponse& res) {
    res.Header("Allow", "POST, DELETE");
    Send(res, 405, MakeError(nullptr, kInvalidRequest,
                             "this server sends no server-initiated stream: POST JSON-RPC messages to /mcp"));
  });
}

size_t HttpTransport::sessions() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

std::shared_ptr<Session> HttpTransport::Find(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return nullptr;
  const auto now = std::chrono::steady_clock::now();
  if (now - it->second.used > options_.idle_timeout) {
    sessions_.erase(it);
    return nullptr;
  }
  it->second.used = now;
  return it->second.session;
}

std::string HttpTransport::Create(std::shared_ptr<Session> session) {
  std::lock_guard lock(mu_);
  while (sessions_.size() >= options_.max_sessions && !sessions_.empty()) {
    auto oldest = sessions_.begin();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
      if (it->second.used < oldest->second.used) oldest = it;
    }
    spdlog::info("mcp: ending idle session {} ({} sessions at most)", oldest->first.substr(0, 8), options_.max_sessions);
    sessions_.erase(oldest);
  }
  std::string id = NewSessionId();
  sessions_[id] = Entry{std::move(session), std::chrono::steady_clock::now()};
  return id;
}

void HttpTransport::Post(const api::HttpRequest& req, api::HttpResponse& res) {
  const std::string type = Lower(req.Header("Content-Type"));
  if (!type.starts_with("application/json")) {
    return Send(res, 415, MakeError(nullptr, kInvalidRequest, "Content-Type must be application/json"));
  }
  const std::string accept = Lower(req.Header("Accept"));
  if (!accept.empty() && accept.find("application/json") == std::string::npos &&
      accept.find("*/*") == std::string::npos && accept.find("application/*") == std::string::npos) {
    return Send(res, 406, MakeError(nullptr, kInvalidRequest,
                                    "this server answers with application/json: the Accept header must allow it"));
  }
  const std::string version = req.Header(kVersionHeader);
  if (!version.empty() && !IsSupportedProtocolVersion(version)) {
    return Send(res, 400, MakeError(nullptr, kInvalidRequest,
                                    "unsupported MCP-Protocol-Version '" + version.substr(0, 40) + "' (this server speaks " +
                                        kLatestProtocolVersion + " and older revisions back to 2024-10-07)"));
  }
  const Message m = ParseMessage(req.body);
  if (m.kind == Message::Kind::kInvalid) return Send(res, 400, m.error);

  if (m.kind == Message::Kind::kRequest && m.method == "initialize") {
    auto session = std::make_shared<Session>(catalog_, options_.limits);
    auto reply = session->Handle(m);
    const bool ok = reply && !reply->contains("error");
    if (ok) res.Header(kSessionHeader, Create(session));
    return Send(res, 200, reply ? *reply : json(nullptr));
  }

  const std::string id = req.Header(kSessionHeader);
  if (id.empty()) {
    return Send(res, 400, MakeError(m.id, kInvalidRequest,
                                    "missing Mcp-Session-Id header: send 'initialize' first and repeat the id it returns"));
  }
  std::shared_ptr<Session> session = Find(id);
  if (!session) {
    return Send(res, 404, MakeError(m.id, kInvalidRequest, "unknown or ended session: initialize again"));
  }
  if (Session::IsLong(m) && !session->Accept(m)) return Send(res, 200, Session::DuplicateId(m));
  auto reply = session->Handle(m);
  if (m.kind != Message::Kind::kRequest || !reply) {  // a notification, a response, or cancelled
    res.status = 202;
    res.content_type.clear();
    res.body.clear();
    return;
  }
  Send(res, 200, *reply);
}

void HttpTransport::Delete(const api::HttpRequest& req, api::HttpResponse& res) {
  const std::string id = req.Header(kSessionHeader);
  if (id.empty()) return Send(res, 400, MakeError(nullptr, kInvalidRequest, "missing Mcp-Session-Id header"));
  std::shared_ptr<Session> ended;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return Send(res, 404, MakeError(nullptr, kInvalidRequest, "unknown or ended session"));
    ended = it->second.session;
    sessions_.erase(it);
  }
  ended->CancelAll();
  res.status = 204;
  res.content_type.clear();
  res.body.clear();
}

}  // namespace kb::mcp
