// ApiServer: the local HTTP/JSON API the desktop app talks to (`kbindex serve`), versioned
// under /v1, over one Services (the same use cases as the CLI and the library).
//
// Security: bound to loopback only; a bearer token (from a 0600 file) on every endpoint but
// /v1/health (which, without the token, says only ok or degraded); requests whose Host is not a
// loopback name are refused (DNS rebinding); no CORS headers unless an origin is configured;
// body and query size limits. Every error is JSON {"code": stable-string, "message":
// readable-text}: never a stack trace, never a raw SQL or FTS5 message.
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/guard.h"
#include "api/http.h"
#include "api/http_server.h"
#include "api/jobs.h"
#include "api/routes.h"
#include "app/services.h"

namespace kb::api {

struct ApiServerOptions {
  std::string host = "127.0.0.1";  // must be a loopback address
  int port = 7420;                 // 0: any free port (see port())
  std::string token;               // required on every endpoint but /v1/health
  std::vector<std::string> cors_origins;
  std::vector<std::string> folders;  // what POST /v1/index scans
  HttpServerOptions http;            // transport limits (host and port are taken from above)
};

class ApiServer {
 public:
  ApiServer(app::Services& services, ApiServerOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds and starts serving. IOError when the port is taken.
  Status Start();
  // Stops accepting, finishes in-flight requests and the running job, joins.
  void Stop();
  int port() const { return http_ ? http_->port() : 0; }

  // The routes, for front-ends above this floor to add theirs (MCP's /mcp) before Start(): they
  // pass the same guard.
  Router& router() { return router_; }

  // One request through the guard and the routes, without a socket (tests, other transports).
  HttpResponse Handle(HttpRequest& request);

 private:
  app::Services& services_;
  ApiServerOptions options_;
  GuardOptions guard_;
  JobManager jobs_;
  ApiContext ctx_;
  Router router_;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace kb::api
