#include "api/api_server.h"

#include <spdlog/spdlog.h>

namespace kb::api {

ApiServer::ApiServer(app::Services& services, ApiServerOptions options)
    : services_(services),
      options_(std::move(options)),
      jobs_(services.clock()),
      ctx_{services, jobs_, options_.folders} {
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
  HttpServerOptions ho = options_.http;
  ho.host = options_.host;
  ho.port = options_.port;
  http_ = std::make_unique<HttpServer>(ho, [this](HttpRequest& req) { return Handle(req); });
  return http_->Start();
}

void ApiServer::Stop() {
  if (http_) http_->Stop();
  jobs_.Stop();
}

}  // namespace kb::api
