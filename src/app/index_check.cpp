#include "app/index_check.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "app/maintenance.h"
#include "store/meta_keys.h"
#include "sync/canary.h"

namespace kb::app {
namespace {

using json = nlohmann::json;

kbindex::IndexCheck ToPublic(const CanaryReport& r) {
  kbindex::IndexCheck c;
  c.ok = r.ok;
  c.collection = r.collection;
  c.records = r.records;
  c.checked = r.checked;
  c.self_misses = r.self_misses;
  c.empty_answers = r.empty_answers;
  c.probe_found = r.probe_found;
  c.reason = r.reason;
  c.checked_at_ms = r.checked_at_ms;
  c.duration_ms = r.duration_ms;
  return c;
}

std::string ToJson(const kbindex::IndexCheck& c) {
  return json{{"ok", c.ok},
              {"collection", c.collection},
              {"records", c.records},
              {"checked", c.checked},
              {"self_misses", c.self_misses},
              {"empty_answers", c.empty_answers},
              {"probe_found", c.probe_found},
              {"reason", c.reason},
              {"checked_at_ms", c.checked_at_ms},
              {"duration_ms", c.duration_ms}}
      .dump();
}

std::optional<kbindex::IndexCheck> FromJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("ok") || !j["ok"].is_boolean()) return std::nullopt;
  kbindex::IndexCheck c;
  c.ok = j["ok"].get<bool>();
  c.collection = j.value("collection", "");
  c.records = j.value("records", int64_t{0});
  c.checked = j.value("checked", 0);
  c.self_misses = j.value("self_misses", 0);
  c.empty_answers = j.value("empty_answers", 0);
  c.probe_found = j.value("probe_found", false);
  c.reason = j.value("reason", "");
  c.checked_at_ms = j.value("checked_at_ms", int64_t{0});
  c.duration_ms = j.value("duration_ms", int64_t{0});
  return c;
}

}  // namespace

Result<kbindex::IndexCheck> CheckIndex(Services& s, int64_t max_age_ms) {
  if (max_age_ms > 0) {
    // A recent verdict on the active collection, from this process or another one (each
    // `kbindex stats` is a new process), is reused.
    if (auto last = LastIndexCheck(s); last && s.clock()->NowMs() - last->checked_at_ms < max_age_ms) {
      auto m = s.store().ReadCollectionMeta();
      if (m.ok() && m->collection.value_or(s.config().collection) == last->collection) return *last;
    }
  }
  KB_ASSIGN_OR_RETURN(SyncEngine * engine, s.Engine());
  KB_ASSIGN_OR_RETURN(VectorStore * vectors, s.Vectors());
  KB_ASSIGN_OR_RETURN(CanaryReport report, kb::CheckIndex(*engine, *vectors));
  kbindex::IndexCheck check = ToPublic(report);
  check.checked_at_ms = s.clock()->NowMs();
  s.CacheIndexCheck(check);
  if (Status st = s.store().SetMeta(meta::kIndexCheck, ToJson(check)); !st.ok()) {
    spdlog::warn("could not record the index check: {}", st.message());
  }
  if (!check.ok) spdlog::error("index check: {}", check.reason);
  return check;
}

std::optional<kbindex::IndexCheck> LastIndexCheck(Services& s) {
  if (auto cached = s.CachedIndexCheck()) return cached;
  auto stored = s.store().GetMeta(meta::kIndexCheck);
  if (!stored.ok() || !stored->has_value()) return std::nullopt;
  return FromJson(**stored);
}

void AfterWorkerPass(Services& s, const SyncReport& pass) {
  if (pass.unreachable) return;
  const int64_t now = s.clock()->NowMs();
  const std::optional<kbindex::IndexCheck> last = LastIndexCheck(s);
  bool due = !last || now - last->checked_at_ms >= kIndexCheckIntervalMs || !last->ok;
  if (!due) {
    auto deleted = s.store().DeletedSince(last->checked_at_ms);
    due = deleted.ok() && *deleted >= kLargeDeletes;
  }
  if (!due) return;
  auto check = CheckIndex(s, 0);
  if (!check.ok()) {
    spdlog::warn("index check skipped: {}", check.status().message());
    return;
  }
  if (check->ok) return;
  if (check->empty_answers == 0) {
    // Misses without empty answers: most often many identical notes (the same vector in many
    // records crowds Chroma's HNSW), which a rebuild would recreate. Reported, not rebuilt.
    spdlog::error("the vector index misses most exact matches; if semantic search misses notes, run "
                  "kbindex reindex --rebuild (many identical notes cause this too, and a rebuild does not "
                  "change that)");
    return;
  }
  auto last_rebuild = s.store().GetMeta(meta::kLastAutoRebuild);
  if (last_rebuild.ok() && last_rebuild->has_value() &&
      now - std::stoll(**last_rebuild) < kAutoRebuildIntervalMs) {
    spdlog::error("the vector index is broken and was already rebuilt in the last day; not rebuilding again "
                  "(run kbindex reindex --rebuild to force it)");
    return;
  }
  (void)s.store().SetMeta(meta::kLastAutoRebuild, std::to_string(now));
  spdlog::warn("rebuilding the vector index beside the active one (search keeps answering)");
  kbindex::ReindexRequest request;
  request.rebuild = true;
  auto rebuilt = Reindex(s, request);
  if (!rebuilt.ok()) {
    spdlog::error("rebuilding the vector index failed: {}", rebuilt.status().message());
    return;
  }
  auto after = CheckIndex(s, 0);
  if (after.ok()) {
    spdlog::info("vector index rebuilt as '{}': {}", rebuilt->collection,
                 after->ok ? "it answers again" : after->reason);
  }
}

}  // namespace kb::app
