#include "api/api_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "api/api_documents.h"
#include "api/token.h"
#include "app/stats_json.h"
#include "scan/scanner.h"
#include "search/searcher.h"
#include "sync/reindex.h"

namespace kb {

using json = nlohmann::json;

namespace {

void SendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void SendError(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  SendJson(res, status, json{{"code", code}, {"message", message}});
}

// Maps a Status from the library onto an HTTP error without leaking internals.
void SendStatus(httplib::Response& res, const Status& st) {
  switch (st.code()) {
    case Status::Code::kInvalidArgument: SendError(res, 400, "invalid_request", st.message()); return;
    case Status::Code::kNotFound: SendError(res, 404, "not_found", st.message()); return;
    case Status::Code::kConflict: SendError(res, 409, "conflict", st.message()); return;
    case Status::Code::kBusy: SendError(res, 503, "busy", "the database is busy; try again"); return;
    case Status::Code::kUnavailable:
    case Status::Code::kTimeout:
    case Status::Code::kRemoteTransient:
      SendError(res, 503, "chroma_unavailable", st.message());
      return;
    default:
      spdlog::error("request failed: {}", st.ToString());
      SendError(res, 500, "internal", "internal error (details are in the server log)");
  }
}

std::string Param(const httplib::Request& req, const char* name, const std::string& fallback = "") {
  return req.has_param(name) ? req.get_param_value(name) : fallback;
}

}  // namespace

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
  // 127.0.0.0/8, dotted quad only.
  unsigned a, b, c, d;
  char tail;
  if (std::sscanf(h.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4) {
    return a == 127 && b < 256 && c < 256 && d < 256;
  }
  return false;
}

ApiServer::ApiServer(ApiContext context, ApiServerOptions options)
    : ctx_(std::move(context)),
      options_(std::move(options)),
      server_(std::make_unique<httplib::Server>()),
      jobs_(ctx_.store->clock()) {}

ApiServer::~ApiServer() { Stop(); }

bool ApiServer::Authorized(const httplib::Request& req) const {
  const std::string auth = req.get_header_value("Authorization");
  constexpr const char* kBearer = "Bearer ";
  if (auth.rfind(kBearer, 0) != 0) return false;
  return TokensEqual(auth.substr(7), options_.token);
}

Status ApiServer::Start() {
  if (!IsLoopbackHost(options_.host)) {
    return Status::InvalidArgument("the API only listens on loopback (127.0.0.1, ::1, localhost), not '" +
                                   options_.host + "'");
  }
  if (options_.token.size() < 16) return Status::InvalidArgument("an API token of 16+ characters is required");
  Routes();
  server_->new_task_queue = [n = options_.threads] { return new httplib::ThreadPool(static_cast<size_t>(n)); };
  server_->set_payload_max_length(options_.max_request_bytes);
  server_->set_read_timeout(std::chrono::seconds(30));
  server_->set_keep_alive_max_count(1000);
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host);
    if (port_ <= 0) return Status::IOError("cannot listen on " + options_.host);
  } else {
    if (!server_->bind_to_port(options_.host, options_.port)) {
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

void ApiServer::Routes() {
  httplib::Server& s = *server_;

  // Every request: Host check (DNS rebinding), CORS for configured origins, then the token.
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!IsLoopbackHost(req.get_header_value("Host"))) {
      SendError(res, 403, "forbidden_host",
                "requests must be addressed to localhost or 127.0.0.1 (Host '" +
                    req.get_header_value("Host").substr(0, 100) + "' refused)");
      return httplib::Server::HandlerResponse::Handled;
    }
    const std::string origin = req.get_header_value("Origin");
    const bool origin_allowed =
        !origin.empty() && std::find(options_.cors_origins.begin(), options_.cors_origins.end(), origin) !=
                               options_.cors_origins.end();
    if (origin_allowed) {
      res.set_header("Access-Control-Allow-Origin", origin);
      res.set_header("Vary", "Origin");
      res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
      res.set_header("Access-Control-Allow-Methods", "GET, PUT, POST, DELETE, OPTIONS");
    }
    if (req.method == "OPTIONS") {
      if (origin_allowed) {
        res.status = 204;
      } else {
        SendError(res, 403, "cors_forbidden", "cross-origin requests are not allowed from this origin");
      }
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.path != "/v1/health" && !Authorized(req)) {
      res.set_header("WWW-Authenticate", "Bearer");
      SendError(res, 401, "unauthorized",
                "missing or wrong bearer token (Authorization: Bearer <token from the token file>)");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  // Errors httplib produces itself (404 for unknown routes, 413, 414, 400 for bad HTTP) get a
  // JSON body too.
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    switch (res.status) {
      case 404: SendError(res, 404, "not_found", "no such endpoint: " + req.method + " " + req.path.substr(0, 200)); break;
      case 413: SendError(res, 413, "payload_too_large", "the request body is too large"); break;
      case 414: SendError(res, 414, "uri_too_long", "the request URI is too long"); break;
      case 400:
        SendError(res, 400, "bad_request",
                  "malformed HTTP request (a POST or PUT needs a Content-Length header, e.g. curl -d '')");
        break;
      default: SendError(res, res.status, "bad_request", "the request could not be processed"); break;
    }
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      spdlog::error("request handler threw: {}", e.what());
    } catch (...) {
      spdlog::error("request handler threw");
    }
    SendError(res, 500, "internal", "internal error (details are in the server log)");
  });
  s.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    spdlog::debug("{} {} -> {}", req.method, req.path, res.status);
  });

  s.Get("/v1/health", [this](const httplib::Request&, httplib::Response& res) {
    json reasons = json::array();
    json sqlite{{"ok", true}};
    if (auto st = ctx_.store->Stats(ctx_.config.max_attempts); !st.ok()) {
      sqlite = json{{"ok", false}, {"error", st.status().message()}};
      reasons.push_back("sqlite: " + st.status().message());
    }
    json chroma{{"ok", false}, {"url", ctx_.chroma_url}};
    if (ctx_.probe == nullptr) {
      chroma["error"] = ctx_.vector_error;
      reasons.push_back("chroma: " + ctx_.vector_error);
    } else if (Status hb = ctx_.probe->Heartbeat(); !hb.ok()) {
      chroma["error"] = hb.message();
      reasons.push_back("chroma: " + hb.message());
    } else {
      chroma["ok"] = true;
    }
    json worker{{"running", false}};
    if (ctx_.worker) {
      WorkerStatus w = ctx_.worker->status();
      worker = json{{"running", w.running},
                    {"passes", w.passes},
                    {"lastPass", w.last_pass_at ? json(FormatIsoTime(*w.last_pass_at)) : json(nullptr)},
                    {"nextPass", w.next_pass_at ? json(FormatIsoTime(*w.next_pass_at)) : json(nullptr)},
                    {"consecutiveErrors", w.consecutive_errors},
                    {"lastError", w.last_error.empty() ? json(nullptr) : json(w.last_error)}};
    }
    SendJson(res, 200,
             json{{"status", reasons.empty() ? "ok" : "degraded"},
                  {"version", KBINDEX_VERSION},
                  {"reasons", reasons},
                  {"sqlite", sqlite},
                  {"chroma", chroma},
                  {"worker", worker}});
  });

  s.Get("/v1/stats", [this](const httplib::Request&, httplib::Response& res) {
    auto stats = ctx_.store->Stats(ctx_.config.max_attempts);
    if (!stats.ok()) return SendStatus(res, stats.status());
    StatsExtras x = CollectStatsExtras(*ctx_.store, ctx_.probe, ctx_.chroma_url, ctx_.vector_error, ctx_.config);
    SendJson(res, 200, StatsToJson(*stats, x, ctx_.store->clock()->NowMs()));
  });

  s.Get("/v1/search", [this](const httplib::Request& req, httplib::Response& res) {
    SearchRequest sr;
    sr.query = Param(req, "q");
    if (sr.query.empty()) return SendError(res, 400, "invalid_query", "parameter q (the search text) is required");
    if (sr.query.size() > options_.max_query_chars) {
      return SendError(res, 400, "invalid_query",
                       "the query is longer than " + std::to_string(options_.max_query_chars) + " characters");
    }
    const std::string mode = Param(req, "mode", ctx_.semantic ? "hybrid" : "keyword");
    auto m = ParseSearchMode(mode);
    if (!m.ok()) return SendError(res, 400, "invalid_mode", m.status().message());
    sr.mode = *m;
    const std::string k = Param(req, "k", "10");
    if (k.empty() || k.size() > 4 || k.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(k) < 1 || std::stoi(k) > 100) {
      return SendError(res, 400, "invalid_k", "k must be a whole number from 1 to 100");
    }
    sr.k = std::stoi(k);
    sr.source = Param(req, "source");
    sr.raw = Param(req, "raw") == "true";
    Searcher searcher(*ctx_.store, ctx_.semantic);
    auto r = searcher.Search(sr);
    if (!r.ok()) {
      if (r.status().code() == Status::Code::kInvalidArgument) {
        return SendError(res, 400, "invalid_query", r.status().message());
      }
      return SendStatus(res, r.status());
    }
    if (r->degraded && r->degraded_reason.empty()) r->degraded_reason = ctx_.vector_error;
    SendJson(res, 200, SearchResponseToJson(*r, sr.query));
  });

  s.Get(R"(/v1/documents/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    if (Status st = ValidateDocumentId(id); !st.ok()) return SendError(res, 400, "invalid_id", st.message());
    auto doc = ctx_.store->Get(id);
    if (!doc.ok()) return SendStatus(res, doc.status());
    if (!doc->has_value()) return SendError(res, 404, "not_found", "no document '" + id + "'");
    if ((*doc)->deleted_at) {
      return SendError(res, 404, "deleted",
                       "document '" + id + "' was deleted (its removal from Chroma is " +
                           SyncStatusName((*doc)->sync_status) + ")");
    }
    SendJson(res, 200, DocumentToJson(**doc, Param(req, "body") == "true"));
  });

  s.Put(R"(/v1/documents/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    if (Status st = ValidateDocumentId(id); !st.ok()) return SendError(res, 400, "invalid_id", st.message());
    json body;
    try {
      body = json::parse(req.body);
    } catch (const json::parse_error& e) {
      return SendError(res, 400, "invalid_json", std::string("the body is not valid JSON: ") + e.what());
    }
    auto input = ApiDocumentFromJson(id, body, static_cast<size_t>(ctx_.config.max_file_bytes));
    if (!input.ok()) return SendError(res, 400, "invalid_document", input.status().message());
    auto existing = ctx_.store->Get(id);
    if (!existing.ok()) return SendStatus(res, existing.status());
    if (existing->has_value() && (*existing)->source != kApiSource) {
      return SendError(res, 409, "not_an_api_document",
                       "'" + id + "' belongs to folder source '" + (*existing)->source +
                           "'; edit the file instead");
    }
    std::vector<DocumentInput> docs{std::move(input).value()};
    auto put = ctx_.store->PutDocuments(docs);
    if (!put.ok()) return SendStatus(res, put.status());
    auto now = ctx_.store->Get(id);
    if (!now.ok() || !now->has_value()) return SendStatus(res, now.ok() ? Status::Internal("vanished") : now.status());
    const PutOutcome o = (*put)[0];
    if (o != PutOutcome::kUnchanged && ctx_.worker) ctx_.worker->Trigger();
    SendJson(res, o == PutOutcome::kInserted ? 201 : 200,
             json{{"id", id},
                  {"result", o == PutOutcome::kInserted ? "created"
                             : o == PutOutcome::kUnchanged ? "unchanged"
                                                           : "updated"},
                  {"sync_status", SyncStatusName((*now)->sync_status)},
                  {"contentHash", (*now)->content_hash}});
  });

  s.Delete(R"(/v1/documents/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    if (Status st = ValidateDocumentId(id); !st.ok()) return SendError(res, 400, "invalid_id", st.message());
    auto existing = ctx_.store->Get(id);
    if (!existing.ok()) return SendStatus(res, existing.status());
    if (!existing->has_value() || (*existing)->deleted_at) {
      return SendError(res, 404, "not_found", "no document '" + id + "'");
    }
    if ((*existing)->source != kApiSource) {
      return SendError(res, 409, "not_an_api_document",
                       "'" + id + "' belongs to folder source '" + (*existing)->source + "'; delete the file instead");
    }
    std::vector<std::string> ids{id};
    auto n = ctx_.store->Tombstone(ids);
    if (!n.ok()) return SendStatus(res, n.status());
    auto after = ctx_.store->Get(id);
    const bool purged = after.ok() && !after->has_value();
    if (!purged && ctx_.worker) ctx_.worker->Trigger();
    SendJson(res, 200, json{{"id", id}, {"deleted", true}, {"sync_status", purged ? "synced" : "pending"}});
  });

  s.Get("/v1/failures", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string limit_s = Param(req, "limit", "100");
    if (limit_s.empty() || limit_s.size() > 5 || limit_s.find_first_not_of("0123456789") != std::string::npos) {
      return SendError(res, 400, "invalid_limit", "limit must be a whole number");
    }
    auto failed = ctx_.store->ListFailed(std::max(1, std::min(std::stoi(limit_s), 10000)));
    if (!failed.ok()) return SendStatus(res, failed.status());
    json arr = json::array();
    for (const auto& d : *failed) arr.push_back(FailureToJson(d, ctx_.config.max_attempts));
    SendJson(res, 200, json{{"failures", arr}});
  });

  auto need_vectors = [this](httplib::Response& res) {
    if (ctx_.engine) return true;
    SendError(res, 503, "chroma_unavailable", "Chroma is not available: " + ctx_.vector_error);
    return false;
  };
  auto accepted = [](httplib::Response& res, const std::string& job) {
    res.set_header("Location", "/v1/jobs/" + job);
    SendJson(res, 202, json{{"job", job}, {"status", "/v1/jobs/" + job}});
  };

  s.Post("/v1/sync", [this, need_vectors, accepted](const httplib::Request&, httplib::Response& res) {
    if (!need_vectors(res)) return;
    accepted(res, jobs_.Submit("sync", [this](const JobManager::Progress& progress) -> Result<json> {
      PassOptions pass;
      pass.kind = "api-sync";
      pass.stop = &jobs_.stopping();
      pass.on_progress = [&](const SyncReport& r) { progress(SyncReportToJson(r)); };
      return SyncReportToJson(ctx_.engine->Run(pass));
    }));
  });

  s.Post("/v1/reindex", [this, need_vectors, accepted](const httplib::Request& req, httplib::Response& res) {
    if (!need_vectors(res)) return;
    if (!req.body.empty()) {
      json body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) return SendError(res, 400, "invalid_json", "the body must be a JSON object or empty");
      if (!body.empty()) {
        return SendError(res, 400, "unsupported",
                         "switching embedders is done with `kbindex reindex --embedder ...`; this endpoint re-indexes in place");
      }
    }
    accepted(res, jobs_.Submit("reindex", [this](const JobManager::Progress& progress) -> Result<json> {
      ReindexOptions ro;
      ro.stop = &jobs_.stopping();
      ro.on_progress = [&](const std::string& phase, const SyncReport& r) {
        json p = SyncReportToJson(r);
        p["phase"] = phase;
        progress(p);
      };
      KB_ASSIGN_OR_RETURN(ReindexReport r, ReindexInPlace(*ctx_.store, *ctx_.vectors, *ctx_.engine, ro));
      return json{{"collection", r.collection}, {"documents", r.documents}, {"chunks", r.chunks},
                  {"orphansDeleted", r.orphans_deleted}};
    }));
  });

  s.Post("/v1/index", [this, accepted](const httplib::Request&, httplib::Response& res) {
    if (ctx_.config.folders.empty()) {
      return SendError(res, 400, "no_folders", "no folders are configured (kbindex serve --folder DIR, or \"folders\" in the config file)");
    }
    accepted(res, jobs_.Submit("index", [this](const JobManager::Progress& progress) -> Result<json> {
      json scans = json::array();
      for (const std::string& folder : ctx_.config.folders) {
        ScanOptions o;
        o.root = folder;
        o.include = ctx_.config.include;
        o.exclude = ctx_.config.exclude;
        o.max_file_bytes = ctx_.config.max_file_bytes;
        o.on_progress = [&](const ScanReport& r) {
          progress(json{{"phase", "scan"}, {"folder", folder}, {"files", r.files_seen}});
        };
        KB_ASSIGN_OR_RETURN(ScanReport r, ScanFolder(*ctx_.store, o));
        scans.push_back(json{{"source", r.source}, {"files", r.files_seen}, {"added", r.added},
                             {"changed", r.changed}, {"removed", r.removed}, {"skipped", r.skipped.size()}});
      }
      json out{{"scans", scans}};
      if (ctx_.engine) {
        PassOptions pass;
        pass.kind = "index";
        pass.stop = &jobs_.stopping();
        out["sync"] = SyncReportToJson(ctx_.engine->Run(pass));
      }
      return out;
    }));
  });

  s.Get(R"(/v1/jobs/([A-Za-z0-9-]{1,40}))", [this](const httplib::Request& req, httplib::Response& res) {
    auto job = jobs_.Get(req.matches[1]);
    if (!job) return SendError(res, 404, "not_found", "no job '" + std::string(req.matches[1]) + "'");
    SendJson(res, 200, job->ToJson());
  });

  s.Get("/v1/openapi.json", [](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_content(OpenApiJson(), "application/json");
  });
}

}  // namespace kb
