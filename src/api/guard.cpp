#include "api/guard.h"

#include <algorithm>
#include <vector>

#include "api/token.h"

namespace kb::api {

bool IsLoopbackHost(const std::string& host_header) {
  std::string h = host_header;
  if (h.empty()) return false;
  if (h.front() == '[') {  // [::1]:port
    const auto close = h.find(']');
    if (close == std::string::npos) return false;
    const std::string rest = h.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    return h.substr(1, close - 1) == "::1";
  }
  const auto colon = h.find(':');
  if (colon != std::string::npos) {
    if (h.find(':', colon + 1) != std::string::npos) return h == "::1";  // bare IPv6
    const std::string port = h.substr(colon + 1);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos) return false;
    h = h.substr(0, colon);
  }
  for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (h == "localhost" || h == "localhost.") return true;
  // 127.0.0.0/8 as a canonical dotted quad only: four decimal octets 0..255 without leading
  // zeros (inet_aton would read "0127.0.0.1" as octal and "4294967423.0.0.1" as wrapping).
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    const size_t dot = h.find('.', start);
    parts.push_back(h.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (parts.size() != 4) return false;
  for (const std::string& part : parts) {
    if (part.empty() || part.size() > 3 || part.find_first_not_of("0123456789") != std::string::npos ||
        (part.size() > 1 && part[0] == '0') || std::stoi(part) > 255) {
      return false;
    }
  }
  return parts[0] == "127";
}

std::optional<HttpResponse> Guard(HttpRequest& req, const GuardOptions& o,
                                  std::vector<std::pair<std::string, std::string>>& cors_headers) {
  HttpResponse res;
  const std::string host = req.Header("Host");
  if (!IsLoopbackHost(host)) {
    res.Error(403, "forbidden_host",
              "requests must be addressed to localhost or 127.0.0.1 (Host '" + host.substr(0, 100) + "' refused)");
    return res;
  }
  const std::string origin = req.Header("Origin");
  const bool origin_allowed =
      !origin.empty() && std::find(o.cors_origins.begin(), o.cors_origins.end(), origin) != o.cors_origins.end();
  // A browser page from any other origin is refused outright (not only left without CORS
  // headers): a "simple" cross-site POST would otherwise still run before the browser hides
  // the answer. MCP's transport requires it.
  if (!origin.empty() && !origin_allowed && req.method != "OPTIONS") {
    res.Error(403, "forbidden_origin", "requests from origin '" + origin.substr(0, 100) + "' are not allowed");
    return res;
  }
  if (origin_allowed) {
    cors_headers.emplace_back("Access-Control-Allow-Origin", origin);
    cors_headers.emplace_back("Vary", "Origin");
    cors_headers.emplace_back("Access-Control-Allow-Headers",
                              "Authorization, Content-Type, Mcp-Session-Id, MCP-Protocol-Version");
    cors_headers.emplace_back("Access-Control-Expose-Headers", "Mcp-Session-Id");
    cors_headers.emplace_back("Access-Control-Allow-Methods", "GET, PUT, POST, DELETE, OPTIONS");
  }
  if (req.method == "OPTIONS") {
    if (origin_allowed) {
      res.status = 204;
      res.content_type.clear();
    } else {
      res.Error(403, "cors_forbidden", "cross-origin requests are not allowed from this origin");
    }
    return res;
  }
  const std::string auth = req.Header("Authorization");
  req.authorized = auth.rfind("Bearer ", 0) == 0 && TokensEqual(auth.substr(7), o.token);
  const bool is_public = std::find(o.public_paths.begin(), o.public_paths.end(), req.path) != o.public_paths.end();
  if (!req.authorized && !is_public) {
    res.Header("WWW-Authenticate", "Bearer");
    res.Error(401, "unauthorized", "missing or wrong bearer token (Authorization: Bearer <token from the token file>)");
    return res;
  }
  return std::nullopt;
}

}  // namespace kb::api
