// POST /v1/sync, /v1/reindex, /v1/index (long operations: 202 with a job id) and
// GET /v1/jobs/{id}.
#include "api/routes.h"
#include "app/indexing.h"
#include "app/json_shapes.h"
#include "app/maintenance.h"
#include "app/sources.h"

namespace kb::api {

using json = nlohmann::json;

namespace {

void Accepted(HttpResponse& res, const std::string& job) {
  res.Header("Location", "/v1/jobs/" + job);
  res.Json(202, json{{"job", job}, {"status", "/v1/jobs/" + job}});
}

bool ValidJobId(const std::string& id) {
  return !id.empty() && id.size() <= 40 &&
         std::all_of(id.begin(), id.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; });
}

}  // namespace

void AddJobRoutes(Router& r, ApiContext& ctx) {
  r.Add("POST", "/v1/sync", [&ctx](const HttpRequest&, HttpResponse& res) {
    Accepted(res, ctx.jobs.Submit("sync", "sync", [&ctx](const JobManager::Progress& progress) -> Result<json> {
      KB_ASSIGN_OR_RETURN(kbindex::SyncSummary s,
                          app::SyncNow(ctx.services, &ctx.jobs.stopping(), "api-sync",
                                       [&](const kbindex::SyncSummary& p) { progress(app::SyncSummaryToJson(p)); }));
      return app::SyncSummaryToJson(s);
    }));
  });

  // Body: empty or {} (re-embed in place), or {"embedder": "hash|ollama|openai", "model"?,
  // "url"?, "dims"?} to switch embedders without downtime.
  r.Add("POST", "/v1/reindex", [&ctx](const HttpRequest& req, HttpResponse& res) {
    auto body = ParseBody(req, res);
    if (!body) return;
    if (!body->is_object()) return res.Error(400, "invalid_json", "the body must be a JSON object or empty");
    kbindex::ReindexRequest rr;
    for (const auto& [k, v] : body->items()) {
      if (k == "embedder" && v.is_string()) {
        rr.embedder = v.get<std::string>();
      } else if (k == "model" && v.is_string()) {
        rr.embed_model = v.get<std::string>();
      } else if (k == "url" && v.is_string()) {
        rr.embed_url = v.get<std::string>();
      } else if (k == "dims" && v.is_number_integer() && v.get<int64_t>() >= 8 && v.get<int64_t>() <= 8192) {
        rr.embed_dims = v.get<int>();
      } else if (k == "rebuild" && v.is_boolean()) {
        rr.rebuild = v.get<bool>();
      } else {
        return res.Error(400, "invalid_request",
                         "unknown or invalid field '" + k + "' (allowed: embedder, model, url, dims 8..8192, rebuild)");
      }
    }
    if (rr.rebuild && !rr.embedder.empty()) {
      return res.Error(400, "invalid_request", "rebuild keeps the current embedder: do not name one");
    }
    if (!rr.embedder.empty() && rr.embedder != "hash" && rr.embedder != "ollama" && rr.embedder != "openai") {
      return res.Error(400, "invalid_request", "embedder must be hash, ollama or openai");
    }
    const std::string key = "reindex " + body->dump();
    Accepted(res, ctx.jobs.Submit("reindex", key, [&ctx, rr](const JobManager::Progress& progress) -> Result<json> {
      kbindex::ReindexRequest request = rr;
      request.cancel = &ctx.jobs.stopping();
      request.on_progress = [&](const std::string& phase, const kbindex::SyncSummary& s) {
        json p = app::SyncSummaryToJson(s);
        p["phase"] = phase;
        progress(p);
      };
      KB_ASSIGN_OR_RETURN(kbindex::ReindexReport report, app::Reindex(ctx.services, request));
      return app::ReindexReportToJson(report);
    }));
  });

  // Body: empty (the configured folders), or {"source": NAME, "mode"?: full|incremental|outbox,
  // "item"?: ROW_ID, "allowMassDelete"?: bool} for a database source.
  r.Add("POST", "/v1/index", [&ctx](const HttpRequest& req, HttpResponse& res) {
    auto body = ParseBody(req, res);
    if (!body) return;
    if (!body->is_object()) return res.Error(400, "invalid_json", "the body must be a JSON object or empty");
    if (body->contains("source")) {
      kbindex::SourceIndexRequest sr;
      for (const auto& [k, v] : body->items()) {
        if (k == "source" && v.is_string()) {
          sr.source = v.get<std::string>();
        } else if (k == "mode" && v.is_string() &&
                   (v == "full" || v == "incremental" || v == "outbox" || v == "")) {
          sr.mode = v.get<std::string>();
        } else if (k == "item" && v.is_string() && !v.get<std::string>().empty()) {
          sr.item = v.get<std::string>();
        } else if (k == "allowMassDelete" && v.is_boolean()) {
          sr.allow_mass_delete = v.get<bool>();
        } else {
          return res.Error(400, "invalid_request",
                           "unknown or invalid field '" + k +
                               "' (allowed: source, mode full|incremental|outbox, item, allowMassDelete)");
        }
      }
      const bool configured = std::any_of(ctx.services.config().sources.begin(), ctx.services.config().sources.end(),
                                          [&](const auto& s) { return s.name == sr.source; });
      if (!configured) return res.Error(404, "not_found", "no database source named '" + sr.source + "' is configured");
      return Accepted(res, ctx.jobs.Submit("index", "index-source " + body->dump(),
                                           [&ctx, sr](const JobManager::Progress& progress) -> Result<json> {
        kbindex::SourceIndexRequest request = sr;
        request.cancel = &ctx.jobs.stopping();
        request.on_progress = [&](const kbindex::IndexProgress& p) {
          if (p.phase == "read") {
            progress(json{{"phase", "read"}, {"source", p.folder}, {"rows", p.files}, {"written", p.written}});
          } else {
            json j = app::SyncSummaryToJson(p.sync);
            j["phase"] = "sync";
            progress(j);
          }
        };
        KB_ASSIGN_OR_RETURN(kbindex::SourceReport report, app::IndexSource(ctx.services, request));
        return app::SourceReportToJson(report);
      }));
    }
    if (!body->empty()) return res.Error(400, "invalid_request", "to index a database source, give {\"source\": NAME}");
    if (ctx.folders.empty()) {
      return res.Error(400, "no_folders",
                       "no folders are configured (kbindex serve --folder DIR, or \"folders\" in the config file)");
    }
    Accepted(res, ctx.jobs.Submit("index", "index", [&ctx](const JobManager::Progress& progress) -> Result<json> {
      kbindex::IndexRequest request;
      request.folders = ctx.folders;
      request.cancel = &ctx.jobs.stopping();
      request.on_progress = [&](const kbindex::IndexProgress& p) {
        if (p.phase == "scan") {
          progress(json{{"phase", "scan"}, {"folder", p.folder}, {"files", p.files}});
        } else {
          json j = app::SyncSummaryToJson(p.sync);
          j["phase"] = "sync";
          progress(j);
        }
      };
      KB_ASSIGN_OR_RETURN(kbindex::IndexReport report, app::IndexFolders(ctx.services, request));
      return app::IndexReportToJson(report);
    }));
  });

  r.Add("GET", "/v1/jobs/*", [&ctx](const HttpRequest& req, HttpResponse& res) {
    const std::string& id = req.matches[0];
    if (!ValidJobId(id)) return res.Error(404, "not_found", "no job '" + id.substr(0, 40) + "'");
    auto job = ctx.jobs.Get(id);
    if (!job) return res.Error(404, "not_found", "no job '" + id + "'");
    res.Json(200, job->ToJson());
  });
}

}  // namespace kb::api
