// HttpServer: the API's transport, built so that hostile or careless clients cannot freeze it.
//
// libmicrohttpd underneath, in its event-driven mode (epoll): a connection costs a socket and
// a little memory, never a thread, so slow, idle or half-open connections do not block anyone.
// Complete requests are handed to a small pool of handler threads (the connection is suspended
// meanwhile), so a slow handler does not block the event loop either.
//
// Limits that hold for every way a body can arrive:
// - request line + headers: at most `connection_memory` bytes (MHD answers 431 and closes);
// - a declared Content-Length over `max_body_bytes`: 413 before any body is read;
// - a chunked body (or one that lies about its length) is buffered only up to `max_body_bytes`;
//   beyond that the rest is discarded as it arrives and the answer is 413; a client that keeps
//   sending beyond `max_discard_bytes` is disconnected;
// - any Content-Encoding but identity: 415 (a compressed body is never inflated);
// - no Content-Length and no chunking: an empty body (HTTP/1.1), never "read until EOF";
// - all bodies held at once: at most `max_total_body_bytes` (beyond: 503, try again);
// - at most `max_connections` connections; an idle one is closed after `idle_timeout_s`.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/http.h"
#include "util/status.h"

struct MHD_Daemon;
struct MHD_Connection;

namespace kb::api {

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // an IPv4 address or "localhost" (= 127.0.0.1), or "::1"
  int port = 0;                    // 0: any free port
  size_t max_body_bytes = 16 * 1024 * 1024;
  size_t max_total_body_bytes = 64 * 1024 * 1024;
  size_t max_discard_bytes = 1024ull * 1024 * 1024;
  size_t connection_memory = 64 * 1024;
  unsigned max_connections = 256;
  unsigned idle_timeout_s = 30;
  int handler_threads = 8;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(HttpRequest&)>;

  HttpServer(HttpServerOptions options, Handler handler);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving. IOError when the address cannot be bound.
  Status Start();
  // Stops accepting, lets the handlers in flight finish and answer, closes every connection.
  void Stop();
  int port() const { return port_; }

 private:
  struct Exchange;
  friend struct HttpServerCallbacks;  // libmicrohttpd's C callbacks (http_server.cpp)
  // Returns false when the connection must be closed at once.
  bool Access(MHD_Connection* connection, const char* url, const char* method, const char* upload_data,
              size_t* upload_data_size, void** con_cls);
  void Completed(void* con_cls);
  bool Answer(MHD_Connection* connection, const HttpResponse& response);
  void Submit(Exchange* ex);
  void WorkerLoop();
  bool ReserveBody(size_t bytes);
  void ReleaseBody(size_t bytes);

  const HttpServerOptions options_;
  const Handler handler_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<Exchange*> queue_;
  int busy_ = 0;  // exchanges queued or being handled (their connections are suspended)
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::atomic<size_t> held_body_bytes_{0};
};

}  // namespace kb::api
