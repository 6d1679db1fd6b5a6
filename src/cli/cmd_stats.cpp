#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/stats_json.h"
#include "cli/cli.h"
#include "vector/chroma_client.h"

namespace kb::cli {

using json = nlohmann::json;

int RunStats(Globals& g) {
  auto store = OpenStore(g);
  if (!store) return kExitFailure;
  auto stats = store->Stats(g.config.max_attempts);
  if (!stats.ok()) return Fail(stats.status());
  // Chroma's side, with short timeouts: stats must answer at once even if Chroma hangs.
  Config quick = g.config;
  quick.chroma_connect_timeout_ms = 500;
  auto side = OpenVectorSide(quick, *store, 1000);
  StatsExtras extras = CollectStatsExtras(*store, side.ok() ? side->chroma.get() : nullptr,
                                          side.ok() ? side->url : "",
                                          side.ok() ? "" : side.status().message(), g.config);
  const int64_t now = Clock::Real()->NowMs();
  if (g.json) {
    PrintJson(StatsToJson(*stats, extras, now).dump());
    return kExitOk;
  }
  const StoreStats& s = *stats;
  std::printf("documents   %lld live, %lld tombstoned (awaiting vector delete)\n",
              static_cast<long long>(s.live), static_cast<long long>(s.tombstoned));
  std::printf("sync        %lld synced, %lld pending, %lld failed (%lld out of attempts)\n",
              static_cast<long long>(s.synced), static_cast<long long>(s.pending),
              static_cast<long long>(s.failed), static_cast<long long>(s.exhausted));
  if (s.oldest_pending_at) {
    std::printf("oldest      unsynced for %s\n", FormatDuration(now - *s.oldest_pending_at).c_str());
  }
  std::printf("skipped     %lld files (kbindex skipped)\n", static_cast<long long>(s.skipped));
  if (s.last_sync_run) {
    const SyncRun& r = *s.last_sync_run;
    std::printf("last run    %s at %s: %lld synced, %lld failed, %lld deleted%s%s\n", r.kind.c_str(),
                FormatIsoTime(r.started_at).c_str(), static_cast<long long>(r.synced),
                static_cast<long long>(r.failed), static_cast<long long>(r.deleted),
                r.error ? " - " : "", r.error ? r.error->c_str() : "");
  } else {
    std::printf("last run    never\n");
  }
  if (!extras.embedder.empty()) std::printf("embedder    %s\n", extras.embedder.c_str());
  if (extras.chroma_reachable.value_or(false)) {
    std::printf("chroma      %s, collection %s: %lld chunks\n", extras.chroma_url.c_str(),
                extras.collection.c_str(), static_cast<long long>(extras.chroma_count.value_or(0)));
  } else {
    std::printf("chroma      unreachable: %s\n", extras.chroma_error.c_str());
  }
  return kExitOk;
}

int RunShow(Globals& g, const std::string& id, bool body) {
  auto store = OpenStore(g);
  if (!store) return kExitFailure;
  auto doc = store->Get(id);
  if (!doc.ok()) return Fail(doc.status());
  if (!doc->has_value()) return Fail(Status::NotFound("no document with id '" + id + "'"));
  const Document& d = **doc;
  if (g.json) {
    PrintJson(DocumentToJson(d, body).dump());
    return kExitOk;
  }
  std::printf("id          %s\n", d.id.c_str());
  std::printf("title       %s\n", d.title.c_str());
  std::printf("source      %s%s%s\n", d.source.c_str(), d.path ? "  path " : "",
              d.path ? d.path->c_str() : "");
  std::printf("updated     %s%s\n", FormatIsoTime(d.updated_at).c_str(),
              d.deleted_at ? ("  (deleted " + FormatIsoTime(*d.deleted_at) + ")").c_str() : "");
  std::printf("hash        %s\n", d.content_hash.c_str());
  std::printf("sync        %s, %d attempts", SyncStatusName(d.sync_status), d.sync_attempts);
  if (d.last_sync_attempt) std::printf(", last %s", FormatIsoTime(*d.last_sync_attempt).c_str());
  std::printf("\n");
  if (d.sync_error) std::printf("error       %s\n", d.sync_error->c_str());
  if (d.sync_status == SyncStatus::kSynced) std::printf("chunks      %d\n", d.synced_chunks);
  if (d.metadata_json != "{}") std::printf("metadata    %s\n", d.metadata_json.c_str());
  if (body) std::printf("\n%s\n", d.body.c_str());
  return kExitOk;
}

int RunSkipped(Globals& g, const std::string& source) {
  auto store = OpenStore(g);
  if (!store) return kExitFailure;
  auto files = store->ListSkipped(source);
  if (!files.ok()) return Fail(files.status());
  if (g.json) {
    json arr = json::array();
    for (const auto& f : *files) arr.push_back(SkippedToJson(f));
    PrintJson(json{{"skipped", arr}}.dump());
    return kExitOk;
  }
  if (files->empty() && !g.quiet) std::printf("no skipped files\n");
  for (const auto& f : *files) {
    std::printf("%s:%s  %s  %s\n", f.source.c_str(), f.path.c_str(), f.reason.c_str(),
                f.detail.c_str());
  }
  return kExitOk;
}

}  // namespace kb::cli
