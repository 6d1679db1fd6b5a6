// GET /v1/health, /v1/stats, /v1/failures, /v1/openapi.json; and the helpers every route uses.
#include <spdlog/spdlog.h>

#include "api/routes.h"
#include "app/json_shapes.h"
#include "app/state.h"
#include "util/json.h"

namespace kb::api {

using json = nlohmann::json;

void SendStatus(HttpResponse& res, const Status& st, const std::string& invalid_code) {
  switch (st.code()) {
    case Status::Code::kInvalidArgument: res.Error(400, invalid_code, st.message()); return;
    case Status::Code::kNotFound: res.Error(404, "not_found", st.message()); return;
    case Status::Code::kConflict: res.Error(409, "conflict", st.message()); return;
    case Status::Code::kBusy: res.Error(503, "busy", "the database is busy; try again"); return;
    case Status::Code::kUnavailable:
    case Status::Code::kTimeout:
    case Status::Code::kRemoteTransient:
      res.Error(503, "chroma_unavailable", st.message());
      return;
    default:
      spdlog::error("request failed: {}", st.ToString());
      res.Error(500, "internal", "internal error (details are in the server log)");
  }
}

std::optional<json> ParseBody(const HttpRequest& req, HttpResponse& res, const json& empty) {
  if (req.body.empty()) return empty;
  auto body = ParseJson(req.body);
  if (!body.ok()) {
    res.Error(400, "invalid_json", "the body is " + body.status().message());
    return std::nullopt;
  }
  return std::move(body).value();
}

void AddStateRoutes(Router& r, ApiContext& ctx) {
  r.Add("GET", "/v1/health", [&ctx](const HttpRequest& req, HttpResponse& res) {
    res.Json(200, app::HealthToJson(app::CheckHealth(ctx.services), req.authorized));
  });

  r.Add("GET", "/v1/stats", [&ctx](const HttpRequest&, HttpResponse& res) {
    auto stats = app::GetStats(ctx.services);
    if (!stats.ok()) return SendStatus(res, stats.status());
    res.Json(200, app::StatsToJson(*stats));
  });

  r.Add("GET", "/v1/failures", [&ctx](const HttpRequest& req, HttpResponse& res) {
    const std::string limit = req.Param("limit", "100");
    if (limit.empty() || limit.size() > 5 || limit.find_first_not_of("0123456789") != std::string::npos) {
      return res.Error(400, "invalid_limit", "limit must be a whole number");
    }
    auto failed = app::ListFailures(ctx.services, std::max(1, std::stoi(limit)));
    if (!failed.ok()) return SendStatus(res, failed.status(), "invalid_limit");
    auto partial = app::ListPartial(ctx.services, std::max(1, std::stoi(limit)));
    if (!partial.ok()) return SendStatus(res, partial.status());
    json arr = json::array(), part = json::array();
    for (const auto& f : *failed) arr.push_back(app::FailureToJson(f));
    for (const auto& n : *partial) part.push_back(json{{"id", n.id}, {"notice", n.sync.notice.value_or("")}});
    res.Json(200, json{{"failures", arr}, {"partial", part}});
  });

  r.Add("GET", "/v1/openapi.json", [](const HttpRequest&, HttpResponse& res) {
    res.status = 200;
    res.body = OpenApiJson();
  });
}

}  // namespace kb::api
