// PUT, GET and DELETE /v1/documents/{id}: notes pushed by the application.
#include "api/routes.h"
#include "app/json_shapes.h"
#include "app/notes.h"

namespace kb::api {

using json = nlohmann::json;

namespace {

// {"title"?: string, "body": string, "metadata"?: object}; other fields are refused.
Result<kbindex::NoteInput> NoteFromJson(const std::string& id, const json& body) {
  if (!body.is_object()) return Status::InvalidArgument("the request body must be a JSON object");
  for (const auto& [k, v] : body.items()) {
    if (k != "title" && k != "body" && k != "metadata") {
      return Status::InvalidArgument("unknown field '" + k + "' (allowed: title, body, metadata)");
    }
  }
  if (!body.contains("body") || !body["body"].is_string()) {
    return Status::InvalidArgument("field 'body' (a string) is required");
  }
  if (body.contains("title") && !body["title"].is_string()) {
    return Status::InvalidArgument("field 'title' must be a string");
  }
  if (body.contains("metadata") && !body["metadata"].is_object()) {
    return Status::InvalidArgument("field 'metadata' must be an object");
  }
  kbindex::NoteInput n;
  n.id = id;
  n.body = body["body"].get<std::string>();
  if (body.contains("title")) n.title = body["title"].get<std::string>();
  if (body.contains("metadata")) n.metadata_json = body["metadata"].dump();
  return n;
}

}  // namespace

void AddDocumentRoutes(Router& r, ApiContext& ctx) {
  r.Add("GET", "/v1/documents/*", [&ctx](const HttpRequest& req, HttpResponse& res) {
    const std::string& id = req.matches[0];
    if (Status st = app::ValidateNoteId(id); !st.ok()) return res.Error(400, "invalid_id", st.message());
    auto note = app::GetNote(ctx.services, id, req.Param("body") == "true");
    if (!note.ok()) return SendStatus(res, note.status());
    if (!note->has_value()) return res.Error(404, "not_found", "no document '" + id + "'");
    if ((*note)->deleted_ms) {
      return res.Error(404, "deleted",
                       "document '" + id + "' was deleted (its removal from Chroma is " +
                           kbindex::SyncStateName((*note)->sync.state) + ")");
    }
    res.Json(200, app::NoteToJson(**note, req.Param("body") == "true"));
  });

  r.Add("PUT", "/v1/documents/*", [&ctx](const HttpRequest& req, HttpResponse& res) {
    const std::string& id = req.matches[0];
    if (Status st = app::ValidateNoteId(id); !st.ok()) return res.Error(400, "invalid_id", st.message());
    auto body = ParseBody(req, res, json());
    if (!body) return;
    auto note = NoteFromJson(id, *body);
    if (!note.ok()) return res.Error(400, "invalid_document", note.status().message());
    auto put = app::PutNote(ctx.services, *note);
    if (!put.ok()) {
      if (put.status().code() == Status::Code::kConflict) {
        return res.Error(409, "not_an_api_document", put.status().message());
      }
      return SendStatus(res, put.status(), "invalid_document");
    }
    res.Json(put->outcome == kbindex::WriteOutcome::kCreated ? 201 : 200, app::PutResultToJson(*put));
  });

  r.Add("DELETE", "/v1/documents/*", [&ctx](const HttpRequest& req, HttpResponse& res) {
    const std::string& id = req.matches[0];
    if (Status st = app::ValidateNoteId(id); !st.ok()) return res.Error(400, "invalid_id", st.message());
    auto del = app::DeleteNote(ctx.services, id);
    if (!del.ok()) {
      if (del.status().code() == Status::Code::kConflict) {
        return res.Error(409, "not_an_api_document", del.status().message());
      }
      return SendStatus(res, del.status());
    }
    res.Json(200, app::DeleteResultToJson(*del));
  });
}

}  // namespace kb::api
