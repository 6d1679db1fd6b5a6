#include "api/http.h"

#include <spdlog/spdlog.h>
#include <strings.h>

#include <nlohmann/json.hpp>

namespace kb::api {

using json = nlohmann::json;

bool CaseInsensitiveLess::operator()(const std::string& a, const std::string& b) const {
  return ::strcasecmp(a.c_str(), b.c_str()) < 0;
}

std::string HttpRequest::Param(const std::string& name, const std::string& fallback) const {
  auto it = params.find(name);
  return it == params.end() ? fallback : it->second;
}

std::string HttpRequest::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

void HttpResponse::Json(int code, const json& j) {
  status = code;
  content_type = "application/json";
  body = j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void HttpResponse::Error(int code, const std::string& error_code, const std::string& message) {
  Json(code, json{{"code", error_code}, {"message", message}});
}

void Router::Add(const std::string& method, const std::string& pattern, Handler handler) {
  const bool rest = !pattern.empty() && pattern.back() == '*';
  routes_.push_back(Route{method, rest ? pattern.substr(0, pattern.size() - 1) : pattern, rest, std::move(handler)});
}

HttpResponse Router::Dispatch(HttpRequest& req) const {
  HttpResponse res;
  bool path_known = false;
  for (const Route& r : routes_) {
    const bool match = r.capture_rest ? req.path.size() > r.prefix.size() && req.path.starts_with(r.prefix)
                                      : req.path == r.prefix;
    if (!match) continue;
    path_known = true;
    if (r.method != req.method) continue;
    req.matches.clear();
    if (r.capture_rest) req.matches.push_back(req.path.substr(r.prefix.size()));
    try {
      r.handler(req, res);
    } catch (const std::exception& e) {
      spdlog::error("{} {} failed: {}", req.method, req.path.substr(0, 200), e.what());
      res = HttpResponse();
      res.Error(500, "internal", "internal error (details are in the server log)");
    }
    return res;
  }
  if (path_known) {
    res.Error(405, "method_not_allowed", req.method + " is not allowed on " + req.path.substr(0, 200));
  } else {
    res.Error(404, "not_found", "no such endpoint: " + req.method + " " + req.path.substr(0, 200));
  }
  return res;
}

}  // namespace kb::api
