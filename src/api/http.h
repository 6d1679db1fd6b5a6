// The API's view of HTTP, independent of the server library: a parsed request in, a response
// out. Routes and the guard work on these, so they are tested without sockets; the transport
// (api_server.cpp) converts to and from the wire.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

namespace kb::api {

struct CaseInsensitiveLess {
  bool operator()(const std::string& a, const std::string& b) const;
};

struct HttpRequest {
  std::string method;  // GET, PUT, ...
  std::string path;    // decoded, without the query
  std::multimap<std::string, std::string> params;                     // query, decoded
  std::map<std::string, std::string, CaseInsensitiveLess> headers;  // first value of each
  std::string body;
  std::vector<std::string> matches;  // the route pattern's captures (set by Router)
  bool authorized = false;           // a valid bearer token came with it (set by the guard)

  bool HasParam(const std::string& name) const { return params.count(name) > 0; }
  std::string Param(const std::string& name, const std::string& fallback = "") const;
  std::string Header(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  void Json(int status, const nlohmann::json& body);
  // {"code": code, "message": message}: every error the API answers.
  void Error(int status, const std::string& code, const std::string& message);
  void Header(const std::string& name, const std::string& value) { headers.emplace_back(name, value); }
};

class Router {
 public:
  using Handler = std::function<void(const HttpRequest&, HttpResponse&)>;
  // `pattern` is a literal path, or a prefix ending in '*' that captures the (non-empty) rest
  // of the path into HttpRequest::matches[0]. (No regular expressions: a path is attacker
  // input, and std::regex recurses per character.)
  void Add(const std::string& method, const std::string& pattern, Handler handler);
  // Runs the matching route: 404 (no route) or 405 (no route for this method) otherwise.
  // A handler that throws answers 500 "internal" (the exception is logged, never sent).
  HttpResponse Dispatch(HttpRequest& request) const;

 private:
  struct Route {
    std::string method;
    std::string prefix;
    bool capture_rest = false;
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace kb::api
