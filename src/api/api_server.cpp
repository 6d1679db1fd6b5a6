// The transport: cpp-httplib underneath, converting to and from api::HttpRequest/HttpResponse.
#include "api/api_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

namespace kb::api {

ApiServer::ApiServer(app::Services& services, ApiServerOptions options)
    : services_(services),
      options_(std::move(options)),
      jobs_(services.clock()),
      ctx_{services, jobs_, options_.folders},
      server_(std::make_unique<httplib::Server>()) {
  guard_.token = options_.token;
  guard_.cors_origins = options_.cors_origins;
  AddStateRoutes(router_, ctx_);
  AddDocumentRoutes(router_, ctx_);
  AddSearchRoutes(router_, ctx_);
  AddJobRoutes(router_, ctx_);
}

ApiServer::~ApiServer() { Stop(); }

HttpResponse ApiServer::Handle(HttpRequest& req) {
  std::vector<std::pair<std::string, std::string>> cors;
  std::optional<HttpResponse> refused = Guard(req, guard_, cors);
  HttpResponse res = refused ? std::move(*refused) : router_.Dispatch(req);
  for (auto& h : cors) res.headers.push_back(std::move(h));
  spdlog::debug("{} {} -> {}", req.method, req.path.substr(0, 200), res.status);
  return res;
}

Status ApiServer::Start() {
  if (!IsLoopbackHost(options_.host)) {
    return Status::InvalidArgument("the API only listens on loopback (127.0.0.1, ::1, localhost), not '" +
                                   options_.host + "'");
  }
  if (options_.token.size() < 16) return Status::InvalidArgument("an API token of 16+ characters is required");
  httplib::Server& s = *server_;
  auto handler = [this](const httplib::Request& in, httplib::Response& out) {
    HttpRequest req;
    req.method = in.method;
    req.path = in.path;
    for (const auto& [k, v] : in.params) req.params.emplace(k, v);
    for (const auto& [k, v] : in.headers) req.headers.emplace(k, v);
    req.body = in.body;
    HttpResponse res = Handle(req);
    out.status = res.status;
    for (const auto& [k, v] : res.headers) out.set_header(k, v);
    if (!res.body.empty() || !res.content_type.empty()) out.set_content(res.body, res.content_type);
  };
  for (const char* pattern : {".*"}) {
    s.Get(pattern, handler);
    s.Put(pattern, handler);
    s.Post(pattern, handler);
    s.Delete(pattern, handler);
    s.Options(pattern, handler);
    s.Patch(pattern, handler);
  }
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    HttpResponse r;
    switch (res.status) {
      case 413: r.Error(413, "payload_too_large", "the request body is too large"); break;
      case 414: r.Error(414, "uri_too_long", "the request URI is too long"); break;
      case 400:
        r.Error(400, "bad_request",
                "malformed HTTP request (a POST or PUT needs a Content-Length header, e.g. curl -d '')");
        break;
      default: r.Error(res.status, "bad_request", "the request could not be processed"); break;
    }
    res.set_content(r.body, r.content_type);
  });
  s.new_task_queue = [n = options_.threads] { return new httplib::ThreadPool(static_cast<size_t>(n)); };
  s.set_payload_max_length(options_.max_request_bytes);
  s.set_read_timeout(std::chrono::seconds(30));
  s.set_keep_alive_max_count(1000);
  if (options_.port == 0) {
    port_ = s.bind_to_any_port(options_.host);
    if (port_ <= 0) return Status::IOError("cannot listen on " + options_.host);
  } else {
    if (!s.bind_to_port(options_.host, options_.port)) {
      return Status::IOError("cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                             " (in use? choose another with --port)");
    }
    port_ = options_.port;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return Status::Ok();
}

void ApiServer::Stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
  jobs_.Stop();
}

}  // namespace kb::api
