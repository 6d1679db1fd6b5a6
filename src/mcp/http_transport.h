// MCP's Streamable HTTP transport at /mcp, as routes on the API's Router: so it sits behind
// the same guard as /v1 (bearer token, loopback Host, configured Origins only) and the same
// transport limits. JSON responses only (no server-sent events): POST one JSON-RPC message,
// get its response as application/json (202 with no body for a notification or a response);
// GET /mcp is 405 (there is no server-initiated stream); DELETE /mcp ends a session.
//
// Sessions: initialize answers with an Mcp-Session-Id header; every later request must carry
// it (400 without, 404 for an unknown or ended one: the client initializes again). A request
// carrying an MCP-Protocol-Version this server does not speak is 400. Progress notifications
// need a stream, so over this transport they are not sent.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "api/http.h"
#include "mcp/session.h"

namespace kb::mcp {

struct HttpTransportOptions {
  size_t max_sessions = 64;  // beyond: the least recently used session ends
  std::chrono::seconds idle_timeout{3600};
  SessionLimits limits;
};

class HttpTransport {
 public:
  explicit HttpTransport(const Catalog& catalog, HttpTransportOptions options = {});
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // POST, GET and DELETE /mcp. `router` must not outlive this transport.
  void AddRoutes(api::Router& router);

  void Post(const api::HttpRequest& request, api::HttpResponse& response);
  void Delete(const api::HttpRequest& request, api::HttpResponse& response);
  size_t sessions() const;

 private:
  struct Entry {
    std::shared_ptr<Session> session;
    std::chrono::steady_clock::time_point used;
  };
  std::shared_ptr<Session> Find(const std::string& id);
  std::string Create(std::shared_ptr<Session> session);

  const Catalog& catalog_;
  const HttpTransportOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> sessions_;
};

}  // namespace kb::mcp
