#include "app/json_shapes.h"

#include <nlohmann/json.hpp>

#include "util/clock.h"
#include "util/status.h"

namespace kb::app {

using json = nlohmann::json;

namespace {

json OptTime(const std::optional<int64_t>& t) { return t ? json(FormatIsoTime(*t)) : json(nullptr); }
json OptText(const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); }
json ErrorOrNull(const Status& st) { return st.ok() ? json(nullptr) : json(st.message()); }

json IndexCheckToJson(const kbindex::IndexCheck& c) {
  json j{{"status", c.ok ? "ok" : "broken"},
         {"collection", c.collection},
         {"records", c.records},
         {"checked", c.checked},
         {"selfMisses", c.self_misses},
         {"emptyAnswers", c.empty_answers},
         {"probeFound", c.probe_found},
         {"checkedAt", FormatIsoTime(c.checked_at_ms)},
         {"durationMs", c.duration_ms}};
  if (!c.ok) j["reason"] = c.reason;
  return j;
}

json VerifyReportToJson(const kbindex::VerifyReport& v) {
  const bool converged = v.consistent() && v.unsynced_rows == 0 && v.expected_chunks == v.chroma_chunks;
  return json{{"consistent", v.consistent()},
              {"converged", converged},
              {"rows", v.rows},
              {"unsyncedRows", v.unsynced_rows},
              {"expectedChunks", v.expected_chunks},
              {"chromaChunks", v.chroma_chunks},
              {"missing", v.missing},
              {"stale", v.stale},
              {"orphans", v.orphans},
              {"driftedDocuments", v.drifted_documents},
              {"orphanSample", v.orphan_sample},
              {"integrity", v.integrity}};
}

}  // namespace

json SyncRunToJson(const kbindex::SyncRunInfo& r) {
  return json{{"id", r.id},
              {"kind", r.kind},
              {"started", FormatIsoTime(r.started_ms)},
              {"finished", OptTime(r.finished_ms)},
              {"attempted", r.attempted},
              {"synced", r.synced},
              {"failed", r.failed},
              {"deleted", r.deleted},
              {"batches", r.batches},
              {"error", OptText(r.error)}};
}

json StatsToJson(const kbindex::Stats& s) {
  json last = s.last_sync_run ? SyncRunToJson(*s.last_sync_run) : json(nullptr);
  json j;
  j["documents"] = s.documents;
  j["tombstoned"] = s.tombstoned;
  j["sync"] = json{{"synced", s.synced},       {"pending", s.pending},
                   {"failed", s.failed},       {"exhausted", s.exhausted}, {"partial", s.partial},
                   {"maxAttempts", s.max_attempts}, {"lastSyncRun", last}};
  j["skipped"] = s.skipped;
  j["lastSyncRun"] = last;
  j["oldestPendingAgeSeconds"] = s.oldest_pending_age_s ? json(*s.oldest_pending_age_s) : json(nullptr);
  if (!s.embedder.empty()) j["embedder"] = s.embedder;
  if (!s.collection.empty()) j["collection"] = s.collection;
  if (s.chroma) {
    json c{{"reachable", s.chroma->reachable},
           {"count", s.chroma->count ? json(*s.chroma->count) : json(nullptr)}};
    if (!s.chroma->url.empty()) c["url"] = s.chroma->url;
    if (!s.chroma->error.empty()) c["error"] = s.chroma->error;
    j["chroma"] = c;
  }
  json sources = json::array();
  for (const auto& src : s.sources) sources.push_back(SourceStateToJson(src));
  j["sources"] = sources;
  if (s.index_check) j["indexCheck"] = IndexCheckToJson(*s.index_check);
  if (s.watch) j["watch"] = WatchStateToJson(*s.watch);
  return j;
}

json NoteToJson(const kbindex::Note& d, bool include_body) {
  json meta = json::parse(d.metadata_json, nullptr, false);
  if (meta.is_discarded()) meta = json::object();
  json j{{"id", d.id},
         {"source", d.source},
         {"path", OptText(d.path)},
         {"title", d.title},
         {"metadata", meta},
         {"contentHash", d.content_hash},
         {"created", FormatIsoTime(d.created_ms)},
         {"updated", FormatIsoTime(d.updated_ms)},
         {"deleted", OptTime(d.deleted_ms)},
         {"sync",
          {{"status", kbindex::SyncStateName(d.sync.state)},
           {"attempts", d.sync.attempts},
           {"lastAttempt", OptTime(d.sync.last_attempt_ms)},
           {"error", OptText(d.sync.error)},
           {"syncedHash", OptText(d.sync.synced_hash)},
           {"chunks", d.sync.chunks},
           {"notice", OptText(d.sync.notice)}}}};
  if (d.file_size) j["fileSize"] = *d.file_size;
  if (include_body) j["body"] = d.body;
  return j;
}

json SkippedToJson(const kbindex::SkippedFile& f) {
  return json{{"source", f.source},
              {"path", f.path},
              {"reason", f.reason},
              {"detail", f.detail},
              {"size", f.size ? json(*f.size) : json(nullptr)},
              {"seen", FormatIsoTime(f.seen_ms)}};
}

json FailureToJson(const kbindex::Failure& f) {
  return json{{"id", f.id},
              {"attempts", f.attempts},
              {"exhausted", f.exhausted},
              {"lastAttempt", OptTime(f.last_attempt_ms)},
              {"deleted", f.deleted},
              {"error", f.error}};
}

json SearchResultsToJson(const kbindex::SearchResults& r, const std::string& query) {
  json hits = json::array();
  for (const kbindex::SearchHit& h : r.hits) {
    json found = json::array();
    if (h.keyword_rank) found.push_back("keyword");
    if (h.semantic_rank) found.push_back("semantic");
    json hit{{"id", h.id},
             {"title", h.title},
             {"path", OptText(h.path)},
             {"source", h.source},
             {"snippet", h.snippet},
             {"score", h.score},
             {"foundBy", std::move(found)},
             {"syncStatus", kbindex::SyncStateName(h.sync_state)}};
    if (h.similarity) hit["similarity"] = *h.similarity;
    if (!h.heading.empty()) hit["heading"] = h.heading;
    hits.push_back(std::move(hit));
  }
  json j{{"query", query},
         {"mode", kbindex::SearchModeName(r.mode)},
         {"degraded", r.degraded},
         {"results", std::move(hits)}};
  if (r.degraded) j["degradedReason"] = r.degraded_reason;
  return j;
}

json SyncSummaryToJson(const kbindex::SyncSummary& r) {
  return json{{"synced", r.synced},     {"failed", r.failed},   {"deleted", r.deleted},
              {"chunks", r.chunks},     {"batches", r.batches}, {"superseded", r.superseded},
              {"stopped", r.stopped},   {"error", ErrorOrNull(r.error)}, {"reused", r.reused}};
}

json FolderReportToJson(const kbindex::FolderReport& r) {
  json skipped = json::array();
  for (const auto& s : r.skipped) skipped.push_back(SkippedToJson(s));
  json j{{"folder", r.folder},       {"source", r.source},       {"root", r.root},
         {"files", r.files},         {"added", r.added},         {"changed", r.changed},
         {"restored", r.restored},   {"unchanged", r.unchanged}, {"removed", r.removed},
         {"filesRead", r.files_read}, {"skipped", skipped}, {"renamed", r.renamed}};
  if (!r.status.ok()) j["error"] = r.status.message();
  return j;
}

json IndexReportToJson(const kbindex::IndexReport& r) {
  json scans = json::array();
  for (const auto& f : r.folders) scans.push_back(FolderReportToJson(f));
  json out{{"scans", scans}};
  if (r.sync) {
    out["sync"] = SyncSummaryToJson(*r.sync);
  } else if (!r.sync_status.ok()) {
    out["sync"] = json{{"error", r.sync_status.message()}};
  }
  return out;
}

json ReindexReportToJson(const kbindex::ReindexReport& r) {
  return json{{"collection", r.collection},
              {"embedder", r.embedder},
              {"switched", r.switched},
              {"rebuilt", r.rebuilt},
              {"previousCollection", r.previous_collection},
              {"droppedPrevious", r.dropped_previous},
              {"documents", r.documents},
              {"chunks", r.chunks},
              {"failed", r.failed},
              {"orphansDeleted", r.orphans_deleted}};
}

json VerifyResultToJson(const kbindex::VerifyResult& r) {
  json out{{"before", VerifyReportToJson(r.before)}, {"ok", r.ok()}};
  if (r.repair) out["repair"] = SyncSummaryToJson(*r.repair);
  if (r.after) out["after"] = VerifyReportToJson(*r.after);
  if (r.index_check) out["indexCheck"] = IndexCheckToJson(*r.index_check);
  if (r.rebuild) out["rebuild"] = ReindexReportToJson(*r.rebuild);
  if (r.index_check_after) out["indexCheckAfter"] = IndexCheckToJson(*r.index_check_after);
  if (r.index_broken()) out["error"] = "index_broken";
  return out;
}

json PutResultToJson(const kbindex::PutResult& r) {
  return json{{"id", r.id},
              {"result", kbindex::WriteOutcomeName(r.outcome)},
              {"sync_status", kbindex::SyncStateName(r.sync_state)},
              {"contentHash", r.content_hash}};
}

json DeleteResultToJson(const kbindex::DeleteResult& r) {
  return json{{"id", r.id}, {"deleted", true}, {"sync_status", r.purged ? "synced" : "pending"}};
}

json WorkerStateToJson(const kbindex::WorkerState& w) {
  return json{{"running", w.running},
              {"passes", w.passes},
              {"lastPass", OptTime(w.last_pass_ms)},
              {"nextPass", OptTime(w.next_pass_ms)},
              {"consecutiveErrors", w.consecutive_errors},
              {"lastError", w.last_error.empty() ? json(nullptr) : json(w.last_error)}};
}

json HealthToJson(const kbindex::Health& h, bool detailed) {
  json j{{"status", h.ok ? "ok" : "degraded"}};
  if (!detailed) return j;
  json sqlite{{"ok", h.sqlite_ok}};
  if (!h.sqlite_ok) sqlite["error"] = h.sqlite_error;
  json chroma{{"ok", h.chroma_ok}, {"url", h.chroma_url}};
  if (!h.chroma_ok) chroma["error"] = h.chroma_error;
  j["version"] = KBINDEX_VERSION;
  j["reasons"] = h.reasons;
  j["sqlite"] = sqlite;
  j["chroma"] = chroma;
  j["worker"] = h.worker ? WorkerStateToJson(*h.worker) : json{{"running", false}};
  json sources = json::array();
  for (const auto& src : h.sources) {
    sources.push_back(json{{"name", src.name},
                           {"ok", src.error.empty()},
                           {"error", src.error.empty() ? json(nullptr) : json(src.error)},
                           {"errorSince", OptTime(src.error_since_ms)},
                           {"lastSuccess", OptTime(src.last_success_ms)}});
  }
  j["sources"] = sources;
  if (h.index_check) j["indexCheck"] = IndexCheckToJson(*h.index_check);
  j["watch"] = h.watch ? WatchStateToJson(*h.watch) : json{{"running", false}};
  return j;
}

json WatchStateToJson(const kbindex::WatchState& w) {
  json folders = json::array();
  for (const kbindex::WatchedFolder& f : w.folders) {
    folders.push_back(json{{"folder", f.folder},
                           {"source", f.source},
                           {"root", f.root},
                           {"watching", f.watching},
                           {"directories", f.directories},
                           {"error", f.error.empty() ? json(nullptr) : json(f.error)}});
  }
  return json{{"running", w.running},
              {"pid", w.pid},
              {"started", OptTime(w.started_ms)},
              {"folders", folders},
              {"events", w.events},
              {"applied", w.applied},
              {"batches", w.batches},
              {"reconciles", w.reconciles},
              {"overflows", w.overflows},
              {"lastReconcile", OptTime(w.last_reconcile_ms)},
              {"lastReconcileReason", w.last_reconcile_reason.empty() ? json(nullptr) : json(w.last_reconcile_reason)},
              {"lastChange", OptTime(w.last_change_ms)},
              {"lastError", w.last_error.empty() ? json(nullptr) : json(w.last_error)},
              {"updated", OptTime(w.updated_ms)}};
}

json SourceStateToJson(const kbindex::SourceState& s) {
  json j{{"name", s.name},          {"kind", s.kind},           {"location", s.location},
         {"documents", s.documents}, {"tombstoned", s.tombstoned}, {"synced", s.synced},
         {"pending", s.pending},     {"failed", s.failed},       {"skipped", s.skipped}};
  if (s.kind == "sqlite" || s.kind == "postgres") {
    j["configured"] = s.configured;
    j["mode"] = s.mode.empty() ? json(nullptr) : json(s.mode);
    j["intervalSeconds"] = s.interval_s ? json(s.interval_s) : json(nullptr);
    j["status"] = !s.error.empty() ? "error" : s.last_success_ms ? "ok" : "never";
    j["error"] = s.error.empty() ? json(nullptr) : json(s.error);
    j["errorSince"] = OptTime(s.error_since_ms);
    j["lastRun"] = OptTime(s.last_run_ms);
    j["lastSuccess"] = OptTime(s.last_success_ms);
    j["lastFull"] = OptTime(s.last_full_ms);
    j["watermark"] = OptTime(s.watermark_ms);
    j["eventCursor"] = s.event_cursor ? json(*s.event_cursor) : json(nullptr);
    j["awaitedEventRanges"] = s.awaited_event_ranges;
  }
  return j;
}

json SourceReportToJson(const kbindex::SourceReport& r) {
  json skipped = json::array();
  for (const auto& s : r.skipped) skipped.push_back(SkippedToJson(s));
  json read{{"source", r.source},   {"kind", r.kind},         {"location", r.location},
            {"mode", r.mode},       {"rows", r.rows},         {"events", r.events},
            {"added", r.added},     {"changed", r.changed},   {"restored", r.restored},
            {"unchanged", r.unchanged}, {"removed", r.removed}, {"skipped", skipped},
            {"watermark", OptTime(r.watermark_ms)},
            {"eventCursor", r.event_cursor ? json(*r.event_cursor) : json(nullptr)},
            {"awaitedEventRanges", r.awaited_event_ranges}};
  if (!r.status.ok()) read["error"] = r.status.message();
  json out{{"source", read}};
  if (r.sync) {
    out["sync"] = SyncSummaryToJson(*r.sync);
  } else if (!r.sync_status.ok()) {
    out["sync"] = json{{"error", r.sync_status.message()}};
  }
  return out;
}

}  // namespace kb::app
