// ApiServer: the local HTTP/JSON API the desktop app talks to (`kbindex serve`), versioned
// under /v1. Notes pushed here take the same DocumentStore + SyncEngine path as scanned files;
// the retry worker runs in the same process.
//
// Security: bound to loopback only; a bearer token (from a 0600 file) on every endpoint but
// /v1/health; requests whose Host is not a loopback name are refused (DNS rebinding); no CORS
// headers unless an origin is configured; body and query size limits; ids validated. Every
// error is JSON {"code": stable-string, "message": readable-text}: never a stack trace, never
// a raw SQL or FTS5 message.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/jobs.h"
#include "app/config.h"
#include "search/semantic_index.h"
#include "store/document_store.h"
#include "sync/sync_engine.h"
#include "vector/vector_store.h"
#include "worker/retry_worker.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace kb {

struct ApiServerOptions {
  std::string host = "127.0.0.1";  // must be a loopback address
  int port = 7420;                 // 0: any free port (see port())
  std::string token;               // required on every endpoint but /v1/health
  std::vector<std::string> cors_origins;
  size_t max_request_bytes = 16 * 1024 * 1024;
  size_t max_query_chars = 1000;
  int threads = 4;
};

// What the server works with; owned by the caller, outliving the server. Vector-side members
// may be null when Chroma is not available (then search is keyword-only and degraded).
struct ApiContext {
  DocumentStore* store = nullptr;
  VectorStore* probe = nullptr;      // short timeouts, for health and stats
  SyncEngine* engine = nullptr;
  RetryWorker* worker = nullptr;
  SemanticIndex* semantic = nullptr;
  VectorStore* vectors = nullptr;
  Config config;
  std::string chroma_url;
  std::string vector_error;  // why the vector side is missing, if it is
};

class ApiServer {
 public:
  ApiServer(ApiContext context, ApiServerOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds and starts serving on a background thread. IOError when the port is taken.
  Status Start();
  // Stops accepting, finishes in-flight requests and the running job, joins.
  void Stop();
  int port() const { return port_; }

  // The OpenAPI 3 description served at /v1/openapi.json.
  static const char* OpenApiJson();

 private:
  void Routes();
  bool Authorized(const httplib::Request& req) const;

  ApiContext ctx_;
  ApiServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  JobManager jobs_;
  std::thread thread_;
  int port_ = 0;
};

// True for "localhost", "127.0.0.1" (any 127/8), "::1" / "[::1]", with or without ":port".
bool IsLoopbackHost(const std::string& host_header);

}  // namespace kb
