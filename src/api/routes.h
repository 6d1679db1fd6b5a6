// The /v1 routes, one group per file: state (health, stats, failures, openapi), documents,
// search, and long jobs (sync, reindex, index). Each handler parses the request, calls one use
// case (src/app/) and prints its result with the shared JSON shapes: no rule lives here.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/http.h"
#include "api/jobs.h"
#include "app/services.h"

namespace kb::api {

struct ApiContext {
  app::Services& services;
  JobManager& jobs;
  std::vector<std::string> folders;  // what POST /v1/index scans
};

void AddStateRoutes(Router& router, ApiContext& ctx);
void AddDocumentRoutes(Router& router, ApiContext& ctx);
void AddSearchRoutes(Router& router, ApiContext& ctx);
void AddJobRoutes(Router& router, ApiContext& ctx);

// Maps a use case's error onto an HTTP error with a stable code, never leaking internals:
// InvalidArgument 400 (`invalid_code`), NotFound 404, Conflict 409, Busy and an unavailable
// Chroma 503, anything else 500 "internal" (logged).
void SendStatus(HttpResponse& res, const Status& st, const std::string& invalid_code = "invalid_request");

// The request body as JSON: an empty body is `empty`; otherwise a 400 (invalid_json) is
// written to `res` and nullopt returned when it does not parse.
std::optional<nlohmann::json> ParseBody(const HttpRequest& req, HttpResponse& res,
                                        const nlohmann::json& empty = nlohmann::json::object());

// The OpenAPI 3 description served at /v1/openapi.json.
const char* OpenApiJson();

}  // namespace kb::api
