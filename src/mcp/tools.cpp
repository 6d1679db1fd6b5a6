#include "mcp/tools.h"

#include <spdlog/spdlog.h>

#include "app/json_shapes.h"
#include "app/maintenance.h"
#include "app/notes.h"
#include "app/search.h"
#include "app/state.h"

namespace kb::mcp {

using json = nlohmann::json;

std::string NoteUri(const std::string& id) { return kNoteUriPrefix + id; }

Result<std::string> NoteIdFromUri(const std::string& uri) {
  if (!uri.starts_with(kNoteUriPrefix)) {
    return Status::NotFound("no resource '" + uri.substr(0, 200) + "' (notes are " + kNoteUriPrefix + "{id})");
  }
  std::string id;
  const std::string rest = uri.substr(std::string(kNoteUriPrefix).size());
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '%') {
      auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      if (i + 2 >= rest.size() || hex(rest[i + 1]) < 0 || hex(rest[i + 2]) < 0) {
        return Status::InvalidArgument("malformed percent-escape in '" + uri.substr(0, 200) + "'");
      }
      id.push_back(static_cast<char>(hex(rest[i + 1]) * 16 + hex(rest[i + 2])));
      i += 2;
    } else {
      id.push_back(rest[i]);
    }
  }
  if (Status st = app::ValidateNoteId(id); !st.ok()) {
    return Status::InvalidArgument("'" + uri.substr(0, 200) + "' names no valid note id: " + st.message());
  }
  return id;
}

namespace {

// ---------------------------------------------------------------- schema pieces

json Str(const std::string& description) { return json{{"type", "string"}, {"description", description}}; }
json Nullable(const char* type) { return json{{"type", json::array({type, "null"})}}; }

json NoteIdSchema() {
  return json{{"type", "string"},
              {"minLength", 1},
              {"maxLength", 512},
              {"description",
               "The note's id, as returned by search (e.g. \"notes:projects/plan.md\" for a file in a folder "
               "source, or the id chosen when the note was put)."}};
}

json SyncSchema() {
  return json{{"type", "object"},
              {"description", "How far the semantic index (Chroma) has caught up with this note."},
              {"properties",
               {{"status", {{"type", "string"}, {"enum", {"pending", "synced", "failed"}}}},
                {"attempts", {{"type", "integer"}}},
                {"lastAttempt", Nullable("string")},
                {"error", Nullable("string")},
                {"syncedHash", Nullable("string")},
                {"chunks", {{"type", "integer"}}},
                {"notice", Nullable("string")}}},
              {"required", {"status"}}};
}

json NoteFieldsSchema() {
  return json{{"id", {{"type", "string"}}},
              {"uri", {{"type", "string"}}},
              {"source", {{"type", "string"}}},
              {"path", Nullable("string")},
              {"title", {{"type", "string"}}},
              {"metadata", {{"type", "object"}}},
              {"contentHash", {{"type", "string"}}},
              {"created", {{"type", "string"}}},
              {"updated", {{"type", "string"}}},
              {"deleted", Nullable("string")},
              {"fileSize", {{"type", "integer"}}},
              {"sync", SyncSchema()}};
}

json Object(json properties, json required) {
  return json{{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)}};
}

json Closed(json properties, json required) {
  json j = Object(std::move(properties), std::move(required));
  j["additionalProperties"] = false;
  return j;
}

json Annotations(bool read_only, bool destructive, bool idempotent) {
  json a{{"readOnlyHint", read_only}, {"openWorldHint", false}};
  if (!read_only) {
    a["destructiveHint"] = destructive;
    a["idempotentHint"] = idempotent;
  }
  return a;
}

// A use case's error as a tool error a model can act on.
ToolResult FromStatus(const Status& st, const std::string& doing) {
  switch (st.code()) {
    case Status::Code::kInvalidArgument:
    case Status::Code::kNotFound:
      return ToolResult::Error(st.message() + ".");
    case Status::Code::kConflict:
      return ToolResult::Error("Refused: " + st.message() + ".");
    case Status::Code::kBusy:
    case Status::Code::kUnavailable:
    case Status::Code::kTimeout:
    case Status::Code::kRemoteTransient:
      return ToolResult::Error("Could not " + doing + " right now (" + st.message() + "); try again shortly.");
    default:
      spdlog::error("mcp: {}: {}", doing, st.ToString());
      return ToolResult::Error("Could not " + doing + ": " + st.message() + ".");
  }
}

// ---------------------------------------------------------------- search

Tool SearchTool(app::Services& s) {
  Tool t;
  t.name = "search";
  t.title = "Search notes";
  t.description =
      "Search the user's notes (a local knowledge base of Markdown/text notes). Returns the best "
      "matching notes with id, title, a snippet around the match (matched words in **bold**), a "
      "score (higher is better; only comparable within one search) and each note's sync status. "
      "Modes: 'keyword' (exact words, SQLite full-text search; best for names, codes and rare terms), "
      "'semantic' (by meaning, via the vector index), 'hybrid' (both, fused; the default when the vector "
      "index is configured). If the vector index is unavailable the search falls back to keyword "
      "results and says so ('degraded'). To read a hit in full, call get_note with its id.";
  t.input_schema = Closed(
      {{"query", {{"type", "string"}, {"minLength", 1}, {"maxLength", static_cast<int>(app::kMaxQueryBytes)},
                  {"description", "What to look for: words or a short natural-language question."}}},
       {"mode", {{"type", "string"}, {"enum", {"keyword", "semantic", "hybrid"}},
                 {"description", "keyword | semantic | hybrid (default: hybrid when the vector index is configured)"}}},
       {"k", {{"type", "integer"}, {"minimum", 1}, {"maximum", kMaxSearchResults},
              {"description", "How many results at most (1-50, default 10)."}}},
       {"source", Str("Only notes from this source (a folder source's name, or \"api\" for notes put by tools).")}},
      {"query"});
  json hit = Object({{"id", {{"type", "string"}}},
                     {"uri", {{"type", "string"}}},
                     {"title", {{"type", "string"}}},
                     {"path", Nullable("string")},
                     {"source", {{"type", "string"}}},
                     {"snippet", {{"type", "string"}}},
                     {"score", {{"type", "number"}}},
                     {"foundBy", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                     {"syncStatus", {{"type", "string"}, {"enum", {"pending", "synced", "failed"}}}},
                     {"similarity", {{"type", "number"}}},
                     {"heading", {{"type", "string"}}}},
                    {"id", "title", "snippet", "score", "syncStatus"});
  t.output_schema = Object({{"query", {{"type", "string"}}},
                            {"mode", {{"type", "string"}}},
                            {"degraded", {{"type", "boolean"}}},
                            {"degradedReason", {{"type", "string"}}},
                            {"results", {{"type", "array"}, {"items", hit}}}},
                           {"query", "mode", "degraded", "results"});
  t.annotations = Annotations(true, false, true);
  t.run = [&s](const json& args, ToolContext&) {
    kbindex::SearchRequest req;
    req.query = args["query"].get<std::string>();
    if (args.contains("mode")) req.mode = kbindex::ParseSearchMode(args["mode"].get<std::string>()).value();
    req.k = args.value("k", 10);
    req.source = args.value("source", "");
    auto found = app::Search(s, req);
    if (!found.ok()) return FromStatus(found.status(), "search");
    ToolResult r;
    r.structured = app::SearchResultsToJson(*found, req.query);
    for (auto& h : r.structured["results"]) h["uri"] = NoteUri(h["id"].get<std::string>());
    std::string text;
    if (found->degraded) text += "(semantic search unavailable, keyword results only: " + found->degraded_reason + ")\n";
    if (found->hits.empty()) text += "No notes match '" + req.query + "'.";
    int n = 0;
    for (const auto& h : found->hits) {
      text += std::to_string(++n) + ". " + h.title + "  [id: " + h.id + "; score " + std::to_string(h.score).substr(0, 6) +
              "; " + kbindex::SyncStateName(h.sync_state) + "]\n   " + h.snippet + "\n";
    }
    r.text = std::move(text);
    return r;
  };
  return t;
}

// ---------------------------------------------------------------- get_note

std::string RangeMarker(const app::NoteText& n) {
  return "\n\n[... truncated: bytes " + std::to_string(n.offset) + "-" + std::to_string(n.end) + " of " +
         std::to_string(n.total) + " shown. To read on, call get_note with id \"" + n.note.id +
         "\" and offset " + std::to_string(n.end) + ".]";
}

Tool GetNoteTool(app::Services& s) {
  Tool t;
  t.name = "get_note";
  t.title = "Read a note";
  t.description =
      "Read one note in full: its text, title, source, metadata and sync status. Long notes come in "
      "parts: at most 'length' bytes (default 16384) from 'offset'; when there is more, 'truncated' is "
      "true, the text ends with a marker, and 'nextOffset' is the offset to ask for next.";
  t.input_schema = Closed(
      {{"id", NoteIdSchema()},
       {"offset", {{"type", "integer"}, {"minimum", 0}, {"description", "Byte offset to start reading at (default 0)."}}},
       {"length", {{"type", "integer"}, {"minimum", 1}, {"maximum", static_cast<int64_t>(kMaxNoteRangeBytes)},
                   {"description", "At most this many bytes of text (default 16384, at most 262144)."}}}},
      {"id"});
  json props = NoteFieldsSchema();
  props["text"] = {{"type", "string"}, {"description", "The note's text in this range (no marker)."}};
  props["offset"] = {{"type", "integer"}};
  props["end"] = {{"type", "integer"}};
  props["totalBytes"] = {{"type", "integer"}};
  props["truncated"] = {{"type", "boolean"}};
  props["nextOffset"] = Nullable("integer");
  t.output_schema = Object(props, {"id", "title", "text", "offset", "end", "totalBytes", "truncated", "nextOffset"});
  t.annotations = Annotations(true, false, true);
  t.run = [&s](const json& args, ToolContext&) {
    const std::string id = args["id"].get<std::string>();
    const auto offset = args.value("offset", int64_t{0});
    const auto length = args.value("length", static_cast<int64_t>(kDefaultNoteRangeBytes));
    auto read = app::ReadNoteText(s, id, static_cast<size_t>(offset), static_cast<size_t>(length));
    if (!read.ok()) {
      if (read.status().code() == Status::Code::kNotFound) {
        return ToolResult::Error(read.status().message() + ". Use the search tool to find note ids.");
      }
      return FromStatus(read.status(), "read note '" + id + "'");
    }
    ToolResult r;
    r.structured = app::NoteToJson(read->note, false);
    r.structured["uri"] = NoteUri(id);
    r.structured["text"] = read->text;
    r.structured["offset"] = read->offset;
    r.structured["end"] = read->end;
    r.structured["totalBytes"] = read->total;
    r.structured["truncated"] = read->more();
    r.structured["nextOffset"] = read->more() ? json(read->end) : json(nullptr);
    r.text = "# " + read->note.title + "\n(id: " + id + "; source: " + read->note.source + "; sync: " +
             kbindex::SyncStateName(read->note.sync.state) + ")\n\n" + read->text;
    if (read->more()) r.text += RangeMarker(*read);
    return r;
  };
  return t;
}

// ---------------------------------------------------------------- put_note / delete_note

Tool PutNoteTool(app::Services& s) {
  Tool t;
  t.name = "put_note";
  t.title = "Save a note";
  t.description =
      "Create or replace a note that belongs to the tools/API (source \"api\"), e.g. to remember "
      "something for the user. The note is searchable by keyword at once and by meaning once it is "
      "synced (sync status 'pending' until then). Notes that come from the user's folders cannot be "
      "changed here (the user edits those files); such a call is refused with the reason. Writing "
      "the same content again changes nothing ('unchanged').";
  t.input_schema = Closed(
      {{"id", {{"type", "string"}, {"minLength", 1}, {"maxLength", 512},
               {"description", "1-512 characters of letters, digits and . _ - ~ : / @ + (e.g. \"meetings/2026-05-04\"); "
                               "not starting or ending with '/', no '//' or '..' segments."}}},
       {"body", Str("The note's text (Markdown). UTF-8.")},
       {"title", Str("The title (default: the first Markdown heading, else the id).")},
       {"metadata", {{"type", "object"},
                     {"description", "Optional fields: strings, numbers, booleans or lists of them (e.g. {\"tags\": [\"work\"]})."}}}},
      {"id", "body"});
  t.output_schema = Object({{"id", {{"type", "string"}}},
                            {"uri", {{"type", "string"}}},
                            {"result", {{"type", "string"}, {"enum", {"created", "updated", "restored", "unchanged"}}}},
                            {"sync_status", {{"type", "string"}}},
                            {"contentHash", {{"type", "string"}}}},
                           {"id", "result", "sync_status"});
  t.annotations = Annotations(false, true, true);
  t.run = [&s](const json& args, ToolContext&) {
    kbindex::NoteInput note;
    note.id = args["id"].get<std::string>();
    note.body = args["body"].get<std::string>();
    note.title = args.value("title", "");
    if (args.contains("metadata")) note.metadata_json = args["metadata"].dump();
    auto put = app::PutNote(s, note);
    if (!put.ok()) return FromStatus(put.status(), "save note '" + note.id + "'");
    ToolResult r;
    r.structured = app::PutResultToJson(*put);
    r.structured["uri"] = NoteUri(note.id);
    r.text = std::string("Note '") + note.id + "' " + kbindex::WriteOutcomeName(put->outcome) + " (sync: " +
             kbindex::SyncStateName(put->sync_state) + ").";
    return r;
  };
  return t;
}

Tool DeleteNoteTool(app::Services& s) {
  Tool t;
  t.name = "delete_note";
  t.title = "Delete a note";
  t.description =
      "Delete a note that belongs to the tools/API (source \"api\"). It disappears from every search "
      "at once; its removal from the vector index follows. Notes from the user's folders cannot be "
      "deleted here (the user deletes the file); such a call is refused with the reason.";
  t.input_schema = Closed({{"id", NoteIdSchema()}}, {"id"});
  t.output_schema = Object({{"id", {{"type", "string"}}},
                            {"deleted", {{"type", "boolean"}}},
                            {"sync_status", {{"type", "string"}}}},
                           {"id", "deleted"});
  t.annotations = Annotations(false, true, true);
  t.run = [&s](const json& args, ToolContext&) {
    const std::string id = args["id"].get<std::string>();
    auto del = app::DeleteNote(s, id);
    if (!del.ok()) return FromStatus(del.status(), "delete note '" + id + "'");
    ToolResult r;
    r.structured = app::DeleteResultToJson(*del);
    r.text = "Note '" + id + "' deleted" + (del->purged ? "." : " (its removal from the vector index is pending).");
    return r;
  };
  return t;
}

// ---------------------------------------------------------------- index_status / sync

Tool IndexStatusTool(app::Services& s) {
  Tool t;
  t.name = "index_status";
  t.title = "Index status";
  t.description =
      "How the knowledge base is doing: how many notes there are, how many are synced to the vector "
      "index, pending or failed, the last sync run, the embedder, whether the vector index (Chroma) is "
      "reachable, and the most recent sync failures with their errors. Use it when search results "
      "look incomplete or say 'degraded'.";
  t.input_schema = Closed({{"failures", {{"type", "integer"}, {"minimum", 0}, {"maximum", 100},
                                         {"description", "List at most this many failed notes (default 10)."}}}},
                          json::array());
  json failure = Object({{"id", {{"type", "string"}}},
                         {"attempts", {{"type", "integer"}}},
                         {"exhausted", {{"type", "boolean"}}},
                         {"lastAttempt", Nullable("string")},
                         {"deleted", {{"type", "boolean"}}},
                         {"error", {{"type", "string"}}}},
                        {"id", "error"});
  json stats_schema = Object({{"documents", {{"type", "integer"}}},
                       {"tombstoned", {{"type", "integer"}}},
                       {"sync", {{"type", "object"}}},
                       {"skipped", {{"type", "integer"}}},
                       {"lastSyncRun", Nullable("object")},
                       {"oldestPendingAgeSeconds", Nullable("integer")},
                       {"embedder", {{"type", "string"}}},
                       {"collection", {{"type", "string"}}},
                       {"chroma", {{"type", "object"}}}},
                      {"documents", "sync"});
  t.output_schema = Object({{"stats", stats_schema},
                            {"failures", {{"type", "array"}, {"items", failure}}},
                            {"failuresShown", {{"type", "integer"}}}},
                           {"stats", "failures"});
  t.annotations = Annotations(true, false, true);
  t.run = [&s](const json& args, ToolContext&) {
    auto stats = app::GetStats(s);
    if (!stats.ok()) return FromStatus(stats.status(), "read the index status");
    const int limit = args.value("failures", 10);
    std::vector<kbindex::Failure> failures;
    if (limit > 0) {
      auto listed = app::ListFailures(s, limit);
      if (!listed.ok()) return FromStatus(listed.status(), "list failures");
      failures = std::move(listed).value();
    }
    ToolResult r;
    r.structured = json{{"stats", app::StatsToJson(*stats)}, {"failures", json::array()}};
    for (const auto& f : failures) r.structured["failures"].push_back(app::FailureToJson(f));
    r.structured["failuresShown"] = failures.size();
    const kbindex::Stats& st = *stats;
    r.text = std::to_string(st.documents) + " notes: " + std::to_string(st.synced) + " synced, " +
             std::to_string(st.pending) + " pending, " + std::to_string(st.failed) + " failed (" +
             std::to_string(st.exhausted) + " out of attempts)";
    if (st.chroma) {
      r.text += "; vector index " + std::string(st.chroma->reachable ? "reachable" : "UNREACHABLE") +
                (st.chroma->error.empty() ? "" : " (" + st.chroma->error + ")");
    }
    r.text += ".";
    for (const auto& f : failures) r.text += "\n- " + f.id + ": " + f.error;
    r.text += "\n\n" + r.structured["stats"].dump(2);
    return r;
  };
  return t;
}

Tool SyncTool(app::Services& s) {
  Tool t;
  t.name = "sync";
  t.title = "Sync now";
  t.description =
      "Send pending notes to the vector index now, instead of waiting for the background worker (e.g. "
      "right after put_note, before a semantic search). Reports how many were synced or failed. May take "
      "a while for many notes: it reports progress, and can be cancelled (the batch in hand finishes).";
  t.input_schema = Closed(json::object(), json::array());
  t.output_schema = Object({{"synced", {{"type", "integer"}}},
                            {"failed", {{"type", "integer"}}},
                            {"deleted", {{"type", "integer"}}},
                            {"chunks", {{"type", "integer"}}},
                            {"batches", {{"type", "integer"}}},
                            {"superseded", {{"type", "integer"}}},
                            {"stopped", {{"type", "boolean"}}},
                            {"error", Nullable("string")}},
                           {"synced", "failed", "stopped"});
  t.annotations = Annotations(false, false, true);
  t.run = [&s](const json&, ToolContext& ctx) {
    ctx.progress(0, std::nullopt, "starting");
    auto done = app::SyncNow(s, ctx.cancelled, "mcp", [&ctx](const kbindex::SyncSummary& p) {
      ctx.progress(static_cast<double>(p.synced + p.failed + p.deleted), std::nullopt,
                   std::to_string(p.synced) + " synced, " + std::to_string(p.failed) + " failed");
    });
    if (!done.ok()) return FromStatus(done.status(), "sync");
    ToolResult r;
    r.structured = app::SyncSummaryToJson(*done);
    r.text = std::to_string(done->synced) + " synced, " + std::to_string(done->failed) + " failed, " +
             std::to_string(done->deleted) + " deletions sent" + (done->stopped ? " (stopped early)" : "") + "." +
             (done->error.ok() ? "" : " First error: " + done->error.message());
    return r;
  };
  return t;
}

}  // namespace

Catalog MakeCatalog(app::Services& s) {
  Catalog c;
  c.tools = {SearchTool(s), GetNoteTool(s), PutNoteTool(s), DeleteNoteTool(s), IndexStatusTool(s), SyncTool(s)};
  c.templates.push_back(ResourceTemplate{std::string(kNoteUriPrefix) + "{id}", "note", "A note",
                                         "One note's text (Markdown) by id, e.g. " + NoteUri("notes:ideas.md") +
                                             "; ids come from the search tool.",
                                         "text/markdown"});
  c.read_resource = [&s](const std::string& uri, size_t max_bytes) -> Result<ResourceContents> {
    KB_ASSIGN_OR_RETURN(std::string id, NoteIdFromUri(uri));
    KB_ASSIGN_OR_RETURN(app::NoteText n, app::ReadNoteText(s, id, 0, max_bytes > 512 ? max_bytes - 512 : max_bytes));
    ResourceContents out{uri, "text/markdown", n.text};
    if (n.more()) out.text += RangeMarker(n);
    return out;
  };
  c.instructions =
      "kbindex is the user's local knowledge base of notes. Use 'search' to find notes (keyword, semantic or "
      "hybrid), 'get_note' to read one (long notes in parts), 'put_note'/'delete_note' to keep notes of your "
      "own (folder notes are the user's files and read-only here), 'index_status' when results look "
      "incomplete, and 'sync' to make new notes semantically searchable at once.";
  return c;
}

}  // namespace kb::mcp
