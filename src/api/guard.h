// What every request passes before any route: the Host check (DNS rebinding), CORS for the
// configured origins only (a request from any other Origin is refused), and the bearer token
// (every path but the public ones).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/http.h"

namespace kb::api {

struct GuardOptions {
  std::string token;                      // required on every path but public_paths
  std::vector<std::string> cors_origins;  // exact origins allowed to call from a browser
  std::vector<std::string> public_paths = {"/v1/health"};
};

// True for "localhost", "127.0.0.1" (any 127/8), "::1" / "[::1]", with or without ":port".
bool IsLoopbackHost(const std::string& host_header);

// Checks `request` (and sets request.authorized). Returns the response to send instead of
// routing when the request is refused or is a CORS preflight; nullopt to route it. CORS
// headers for an allowed origin are added to `cors_headers` (for whatever response follows).
std::optional<HttpResponse> Guard(HttpRequest& request, const GuardOptions& options,
                                  std::vector<std::pair<std::string, std::string>>& cors_headers);

}  // namespace kb::api
