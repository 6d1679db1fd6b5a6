#include "app/stats_json.h"
#include "store/meta_keys.h"

#include <nlohmann/json.hpp>

#include "util/clock.h"

namespace kb {

using json = nlohmann::json;

namespace {
json OptTime(const std::optional<int64_t>& t) {
  return t ? json(FormatIsoTime(*t)) : json(nullptr);
}
}  // namespace

json SyncRunToJson(const SyncRun& r) {
  return json{{"id", r.id},
              {"kind", r.kind},
              {"started", FormatIsoTime(r.started_at)},
              {"finished", OptTime(r.finished_at)},
              {"attempted", r.attempted},
              {"synced", r.synced},
              {"failed", r.failed},
              {"deleted", r.deleted},
              {"batches", r.batches},
              {"error", r.error ? json(*r.error) : json(nullptr)}};
}

json StatsToJson(const StoreStats& s, const StatsExtras& x, int64_t now_ms) {
  json last = s.last_sync_run ? SyncRunToJson(*s.last_sync_run) : json(nullptr);
  json j;
  j["documents"] = s.live;
  j["tombstoned"] = s.tombstoned;
  j["sync"] = json{{"synced", s.synced},
                   {"pending", s.pending},
                   {"failed", s.failed},
                   {"exhausted", s.exhausted},
                   {"maxAttempts", x.max_attempts},
                   {"lastSyncRun", last}};
  j["skipped"] = s.skipped;
  j["lastSyncRun"] = last;
  j["oldestPendingAgeSeconds"] =
      s.oldest_pending_at ? json((now_ms - *s.oldest_pending_at) / 1000) : json(nullptr);
  if (!x.embedder.empty()) j["embedder"] = x.embedder;
  if (!x.collection.empty()) j["collection"] = x.collection;
  if (x.chroma_reachable.has_value()) {
    json c{{"reachable", *x.chroma_reachable},
           {"count", x.chroma_count ? json(*x.chroma_count) : json(nullptr)}};
    if (!x.chroma_url.empty()) c["url"] = x.chroma_url;
    if (!x.chroma_error.empty()) c["error"] = x.chroma_error;
    j["chroma"] = c;
  }
  return j;
}

json DocumentToJson(const Document& d, bool include_body) {
  json meta = json::parse(d.metadata_json, nullptr, false);
  if (meta.is_discarded()) meta = json::object();
  json j{{"id", d.id},
         {"source", d.source},
         {"path", d.path ? json(*d.path) : json(nullptr)},
         {"title", d.title},
         {"metadata", meta},
         {"contentHash", d.content_hash},
         {"created", FormatIsoTime(d.created_at)},
         {"updated", FormatIsoTime(d.updated_at)},
         {"deleted", OptTime(d.deleted_at)},
         {"sync",
          {{"status", SyncStatusName(d.sync_status)},
           {"attempts", d.sync_attempts},
           {"lastAttempt", OptTime(d.last_sync_attempt)},
           {"error", d.sync_error ? json(*d.sync_error) : json(nullptr)},
           {"syncedHash", d.synced_hash ? json(*d.synced_hash) : json(nullptr)},
           {"chunks", d.synced_chunks}}}};
  if (d.file_size) j["fileSize"] = *d.file_size;
  if (include_body) j["body"] = d.body;
  return j;
}

json SkippedToJson(const SkippedFile& f) {
  return json{{"source", f.source},
              {"path", f.path},
              {"reason", f.reason},
              {"detail", f.detail},
              {"size", f.file_size ? json(*f.file_size) : json(nullptr)},
              {"seen", FormatIsoTime(f.seen_at)}};
}

json FailureToJson(const Document& d, int max_attempts) {
  return json{{"id", d.id},
              {"attempts", d.sync_attempts},
              {"exhausted", d.sync_attempts >= max_attempts},
              {"lastAttempt", OptTime(d.last_sync_attempt)},
              {"deleted", d.deleted_at.has_value()},
              {"error", d.sync_error.value_or("")}};
}

json SyncReportToJson(const SyncReport& r) {
  return json{{"synced", r.synced},   {"failed", r.failed},   {"deleted", r.deleted},
              {"chunks", r.chunks},   {"batches", r.batches}, {"superseded", r.superseded},
              {"stopped", r.stopped}, {"error", r.first_error.empty() ? json(nullptr) : json(r.first_error)}};
}

StatsExtras CollectStatsExtras(DocumentStore& store, VectorStore* chroma, const std::string& chroma_url,
                               const std::string& chroma_error, const Config& config) {
  StatsExtras x;
  x.max_attempts = config.max_attempts;
  if (auto e = store.GetMeta(meta::kEmbedder); e.ok()) x.embedder = e->value_or("");
  if (auto c = store.GetMeta(meta::kCollection); c.ok()) x.collection = c->value_or(config.collection);
  x.chroma_url = chroma_url;
  if (chroma == nullptr) {
    x.chroma_reachable = false;
    x.chroma_error = chroma_error;
    return x;
  }
  Status hb = chroma->Heartbeat();
  x.chroma_reachable = hb.ok();
  if (!hb.ok()) {
    x.chroma_error = hb.message();
  } else if (auto coll = chroma->GetCollection(x.collection); coll.ok() && *coll) {
    if (auto n = chroma->Count(**coll); n.ok()) x.chroma_count = *n;
  } else if (coll.ok()) {
    x.chroma_count = 0;
  }
  return x;
}

json SearchResponseToJson(const SearchResponse& r, const std::string& query) {
  json hits = json::array();
  for (const SearchHit& h : r.hits) {
    json found = json::array();
    if (h.keyword_rank) found.push_back("keyword");
    if (h.semantic_rank) found.push_back("semantic");
    json hit{{"id", h.id},
             {"title", h.title},
             {"path", h.path ? json(*h.path) : json(nullptr)},
             {"source", h.source},
             {"snippet", h.snippet},
             {"score", h.score},
             {"foundBy", found},
             {"syncStatus", SyncStatusName(h.sync_status)}};
    if (!h.heading.empty()) hit["heading"] = h.heading;
    hits.push_back(std::move(hit));
  }
  json j{{"query", query}, {"mode", SearchModeName(r.mode)}, {"degraded", r.degraded}, {"results", hits}};
  if (r.degraded) j["degradedReason"] = r.degraded_reason;
  return j;
}

}  // namespace kb
