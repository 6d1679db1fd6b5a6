// GET /v1/search?q=&mode=&k=&source=&raw=
#include "api/routes.h"
#include "app/json_shapes.h"
#include "app/search.h"

namespace kb::api {

void AddSearchRoutes(Router& r, ApiContext& ctx) {
  r.Add("GET", "/v1/search", [&ctx](const HttpRequest& req, HttpResponse& res) {
    kbindex::SearchRequest sr;
    sr.query = req.Param("q");
    if (sr.query.empty()) return res.Error(400, "invalid_query", "parameter q (the search text) is required");
    if (req.HasParam("mode")) {
      auto m = kbindex::ParseSearchMode(req.Param("mode"));
      if (!m.ok()) return res.Error(400, "invalid_mode", m.status().message());
      sr.mode = *m;
    }
    const std::string k = req.Param("k", "10");
    if (k.empty() || k.size() > 4 || k.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(k) < 1 || std::stoi(k) > 100) {
      return res.Error(400, "invalid_k", "k must be a whole number from 1 to 100");
    }
    sr.k = std::stoi(k);
    sr.source = req.Param("source");
    sr.raw = req.Param("raw") == "true";
    auto results = app::Search(ctx.services, sr);
    if (!results.ok() && results.status().code() == Status::Code::kTimeout) {
      return res.Error(503, "search_timeout", results.status().message());
    }
    if (!results.ok()) return SendStatus(res, results.status(), "invalid_query");
    res.Json(200, app::SearchResultsToJson(*results, sr.query));
  });
}

}  // namespace kb::api
