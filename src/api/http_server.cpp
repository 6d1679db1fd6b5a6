#include "api/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <strings.h>

#include <cstdarg>
#include <cstdio>

namespace kb::api {

// One request on its way through: read (headers, then body), handled on a worker while the
// connection is suspended, answered.
struct HttpServer::Exchange {
  enum class State { kReading, kRefused, kWorking, kDone };
  MHD_Connection* connection = nullptr;
  HttpRequest request;
  HttpResponse response;
  State state = State::kReading;
  size_t reserved = 0;   // body bytes counted against max_total_body_bytes
  size_t discarded = 0;  // body bytes dropped after the body was refused
};

namespace {

MHD_Result ToMhd(bool ok) { return ok ? MHD_YES : MHD_NO; }

MHD_Result CollectHeader(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* req = static_cast<HttpRequest*>(cls);
  if (key && value) req->headers.emplace(key, value);  // the first of repeated headers wins
  return MHD_YES;
}

MHD_Result CollectArgument(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* req = static_cast<HttpRequest*>(cls);
  if (key) req->params.emplace(key, value ? value : "");
  return MHD_YES;
}

void LogFromMhd(void*, const char* format, va_list ap) {
  char buf[512];
  std::vsnprintf(buf, sizeof buf, format, ap);
  std::string line(buf);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  spdlog::debug("http: {}", line);
}

}  // namespace

struct HttpServerCallbacks {
  static MHD_Result Access(void* cls, MHD_Connection* connection, const char* url, const char* method,
                           const char* /*version*/, const char* upload_data, size_t* upload_data_size,
                           void** con_cls) {
    return ToMhd(static_cast<HttpServer*>(cls)->Access(connection, url, method, upload_data, upload_data_size,
                                                       con_cls));
  }
  static void Completed(void* cls, MHD_Connection*, void** con_cls, MHD_RequestTerminationCode) {
    static_cast<HttpServer*>(cls)->Completed(*con_cls);
    *con_cls = nullptr;
  }
};

HttpServer::HttpServer(HttpServerOptions options, Handler handler)
    : options_(std::move(options)), handler_(std::move(handler)) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  sockaddr* addr = nullptr;
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
  const std::string host = options_.host == "localhost" ? "127.0.0.1" : options_.host;
  if (inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(static_cast<uint16_t>(options_.port));
    addr = reinterpret_cast<sockaddr*>(&v4);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(static_cast<uint16_t>(options_.port));
    addr = reinterpret_cast<sockaddr*>(&v6);
    flags |= MHD_USE_IPv6;
  } else {
    return Status::InvalidArgument("cannot listen on '" + options_.host + "': not an IP address");
  }
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  for (int i = 0; i < std::max(1, options_.handler_threads); ++i) workers_.emplace_back([this] { WorkerLoop(); });
  daemon_ = MHD_start_daemon(
      flags, static_cast<uint16_t>(options_.port), nullptr, nullptr, &HttpServerCallbacks::Access, this,
      MHD_OPTION_SOCK_ADDR, addr, MHD_OPTION_NOTIFY_COMPLETED, &HttpServerCallbacks::Completed, this,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, options_.connection_memory, MHD_OPTION_CONNECTION_LIMIT,
      options_.max_connections, MHD_OPTION_CONNECTION_TIMEOUT, options_.idle_timeout_s, MHD_OPTION_EXTERNAL_LOGGER,
      &LogFromMhd, nullptr, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
  if (daemon_ == nullptr) {
    Stop();
    return Status::IOError("cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                           " (in use? choose another with --port)");
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
  port_ = info ? info->port : options_.port;
  return Status::Ok();
}

void HttpServer::Stop() {
  if (daemon_) {
    // No new connections; the requests in the handlers finish and are answered (their
    // connections are resumed), then the daemon closes everything.
    MHD_quiesce_daemon(daemon_);
    {
      std::unique_lock lock(mu_);
      idle_cv_.wait(lock, [&] { return busy_ == 0; });
    }
    MHD_stop_daemon(daemon_);
    daemon_ = nullptr;
  }
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

bool HttpServer::ReserveBody(size_t bytes) {
  size_t held = held_body_bytes_.load();
  do {
    if (held + bytes > options_.max_total_body_bytes) return false;
  } while (!held_body_bytes_.compare_exchange_weak(held, held + bytes));
  return true;
}

void HttpServer::ReleaseBody(size_t bytes) { held_body_bytes_ -= bytes; }

bool HttpServer::Answer(MHD_Connection* connection, const HttpResponse& r) {
  MHD_Response* response =
      MHD_create_response_from_buffer(r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return false;
  if (!r.content_type.empty()) MHD_add_response_header(response, "Content-Type", r.content_type.c_str());
  for (const auto& [k, v] : r.headers) MHD_add_response_header(response, k.c_str(), v.c_str());
  const MHD_Result queued = MHD_queue_response(connection, static_cast<unsigned>(r.status), response);
  MHD_destroy_response(response);
  return queued == MHD_YES;
}

bool HttpServer::Access(MHD_Connection* connection, const char* url, const char* method, const char* upload_data,
                        size_t* upload_data_size, void** con_cls) {
  auto* ex = static_cast<Exchange*>(*con_cls);
  if (ex == nullptr) {
    // Headers are complete: decide about the body before reading any of it.
    ex = new Exchange;
    *con_cls = ex;
    ex->connection = connection;
    ex->request.method = method;
    ex->request.path = url;
    MHD_get_connection_values(connection, MHD_HEADER_KIND, &CollectHeader, &ex->request);
    MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &CollectArgument, &ex->request);
    const std::string encoding = ex->request.Header("Content-Encoding");
    if (!encoding.empty() && ::strcasecmp(encoding.c_str(), "identity") != 0) {
      ex->state = Exchange::State::kRefused;
      ex->response.Error(415, "unsupported_encoding",
                         "request bodies must not be compressed (Content-Encoding '" + encoding.substr(0, 40) + "')");
      return Answer(connection, ex->response);
    }
    const std::string length = ex->request.Header("Content-Length");
    if (!length.empty()) {
      char* end = nullptr;
      const unsigned long long n = std::strtoull(length.c_str(), &end, 10);
      if (end == length.c_str() || *end != '\0' || n > options_.max_body_bytes) {
        ex->state = Exchange::State::kRefused;
        ex->response.Error(413, "payload_too_large",
                           "the request body is larger than " + std::to_string(options_.max_body_bytes >> 20) + " MiB");
        return Answer(connection, ex->response);
      }
    }
    return true;
  }

  if (*upload_data_size > 0) {  // a piece of the body
    const size_t n = *upload_data_size;
    *upload_data_size = 0;
    if (ex->state == Exchange::State::kRefused) {
      ex->discarded += n;
      return ex->discarded <= options_.max_discard_bytes;  // a client that never stops: hang up
    }
    if (ex->request.body.size() + n > options_.max_body_bytes || !ReserveBody(n)) {
      const bool too_large = ex->request.body.size() + n > options_.max_body_bytes;
      ex->state = Exchange::State::kRefused;
      ex->discarded = ex->request.body.size() + n;
      ReleaseBody(ex->reserved);
      ex->reserved = 0;
      std::string().swap(ex->request.body);
      if (too_large) {
        ex->response.Error(413, "payload_too_large",
                           "the request body is larger than " + std::to_string(options_.max_body_bytes >> 20) + " MiB");
      } else {
        ex->response.Error(503, "busy", "the server holds too many request bodies at once; try again");
      }
      return true;
    }
    ex->reserved += n;
    ex->request.body.append(upload_data, n);
    return true;
  }

  switch (ex->state) {
    case Exchange::State::kRefused: return Answer(connection, ex->response);
    case Exchange::State::kReading:
      // The request is complete: handle it off the event loop.
      ex->state = Exchange::State::kWorking;
      MHD_suspend_connection(connection);
      Submit(ex);
      return true;
    case Exchange::State::kWorking: return true;  // not expected: suspended until done
    case Exchange::State::kDone: return Answer(connection, ex->response);
  }
  return false;
}

void HttpServer::Completed(void* con_cls) {
  auto* ex = static_cast<Exchange*>(con_cls);
  if (ex == nullptr) return;
  ReleaseBody(ex->reserved);
  delete ex;
}

void HttpServer::Submit(Exchange* ex) {
  {
    std::lock_guard lock(mu_);
    ++busy_;
    queue_.push_back(ex);
  }
  cv_.notify_one();
}

void HttpServer::WorkerLoop() {
  for (;;) {
    Exchange* ex = nullptr;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      ex = queue_.front();
      queue_.pop_front();
    }
    try {
      ex->response = handler_(ex->request);
    } catch (const std::exception& e) {
      spdlog::error("{} {} failed: {}", ex->request.method, ex->request.path.substr(0, 200), e.what());
      ex->response = HttpResponse();
      ex->response.Error(500, "internal", "internal error (details are in the server log)");
    }
    ReleaseBody(ex->reserved);
    ex->reserved = 0;
    std::string().swap(ex->request.body);
    ex->state = Exchange::State::kDone;
    MHD_resume_connection(ex->connection);
    {
      std::lock_guard lock(mu_);
      --busy_;
    }
    idle_cv_.notify_all();
  }
}

}  // namespace kb::api
