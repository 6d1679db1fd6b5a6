#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/json_shapes.h"
#include "cli/cli.h"
#include "util/clock.h"

namespace kb::cli {

using json = nlohmann::json;

int RunStats(Globals& g) {
  auto db = OpenDatabase(g);
  if (!db) return kExitFailure;
  auto stats = db->GetStats();
  if (!stats.ok()) return Fail(stats.status());
  const kbindex::Stats& s = *stats;
  if (g.json) {
    PrintJson(app::StatsToJson(s).dump());
    return kExitOk;
  }
  std::printf("documents   %lld live, %lld tombstoned (awaiting vector delete)\n",
              static_cast<long long>(s.documents), static_cast<long long>(s.tombstoned));
  std::printf("sync        %lld synced, %lld pending, %lld failed (%lld out of attempts)\n",
              static_cast<long long>(s.synced), static_cast<long long>(s.pending),
              static_cast<long long>(s.failed), static_cast<long long>(s.exhausted));
  if (s.partial > 0) {
    std::printf("partial     %lld notes only in part in the semantic index (kbindex failures)\n",
                static_cast<long long>(s.partial));
  }
  if (s.oldest_pending_age_s) {
    std::printf("oldest      unsynced for %s\n", FormatDuration(*s.oldest_pending_age_s * 1000).c_str());
  }
  std::printf("skipped     %lld files (kbindex skipped)\n", static_cast<long long>(s.skipped));
  if (s.last_sync_run) {
    const kbindex::SyncRunInfo& r = *s.last_sync_run;
    std::printf("last run    %s at %s: %lld synced, %lld failed, %lld deleted%s%s\n", r.kind.c_str(),
                FormatIsoTime(r.started_ms).c_str(), static_cast<long long>(r.synced),
                static_cast<long long>(r.failed), static_cast<long long>(r.deleted), r.error ? " - " : "",
                r.error ? Printable(*r.error).c_str() : "");
  } else {
    std::printf("last run    never\n");
  }
  if (!s.embedder.empty()) std::printf("embedder    %s\n", s.embedder.c_str());
  if (s.chroma && s.chroma->reachable) {
    std::printf("chroma      %s, collection %s: %lld chunks\n", s.chroma->url.c_str(), s.collection.c_str(),
                static_cast<long long>(s.chroma->count.value_or(0)));
  } else {
    std::printf("chroma      unreachable: %s\n", s.chroma ? Printable(s.chroma->error).c_str() : "");
  }
  if (s.index_check) {
    if (s.index_check->ok) {
      std::printf("index       answers (checked %s)\n", FormatIsoTime(s.index_check->checked_at_ms).c_str());
    } else {
      std::printf("index       BROKEN: %s\n", s.index_check->reason.c_str());
    }
  }
  return kExitOk;
}

int RunShow(Globals& g, const std::string& id, bool body) {
  auto db = OpenDatabase(g);
  if (!db) return kExitFailure;
  auto note = db->Get(id, body);
  if (!note.ok()) return Fail(note.status());
  if (!note->has_value()) return Fail(kbindex::Status::NotFound("no document with id '" + id + "'"));
  const kbindex::Note& d = **note;
  if (g.json) {
    PrintJson(app::NoteToJson(d, body).dump());
    return kExitOk;
  }
  std::printf("id          %s\n", Printable(d.id).c_str());
  std::printf("title       %s\n", Printable(d.title).c_str());
  std::printf("source      %s%s%s\n", Printable(d.source).c_str(), d.path ? "  path " : "",
              d.path ? Printable(*d.path).c_str() : "");
  std::printf("updated     %s%s\n", FormatIsoTime(d.updated_ms).c_str(),
              d.deleted_ms ? ("  (deleted " + FormatIsoTime(*d.deleted_ms) + ")").c_str() : "");
  std::printf("hash        %s\n", d.content_hash.c_str());
  std::printf("sync        %s, %d attempts", kbindex::SyncStateName(d.sync.state), d.sync.attempts);
  if (d.sync.last_attempt_ms) std::printf(", last %s", FormatIsoTime(*d.sync.last_attempt_ms).c_str());
  std::printf("\n");
  if (d.sync.error) std::printf("error       %s\n", Printable(*d.sync.error).c_str());
  if (d.sync.notice) std::printf("notice      %s\n", Printable(*d.sync.notice).c_str());
  if (d.sync.state == kbindex::SyncState::kSynced) std::printf("chunks      %d\n", d.sync.chunks);
  if (d.metadata_json != "{}") std::printf("metadata    %s\n", Printable(d.metadata_json).c_str());
  if (body) std::printf("\n%s\n", d.body.c_str());
  return kExitOk;
}

int RunSkipped(Globals& g, const std::string& source) {
  auto db = OpenDatabase(g);
  if (!db) return kExitFailure;
  auto files = db->Skipped(source);
  if (!files.ok()) return Fail(files.status());
  if (g.json) {
    json arr = json::array();
    for (const auto& f : *files) arr.push_back(app::SkippedToJson(f));
    PrintJson(json{{"skipped", arr}}.dump());
    return kExitOk;
  }
  if (files->empty() && !g.quiet) std::printf("no skipped files\n");
  for (const auto& f : *files) {
    std::printf("%s:%s  %s  %s\n", Printable(f.source).c_str(), Printable(f.path).c_str(), f.reason.c_str(),
                Printable(f.detail).c_str());
  }
  return kExitOk;
}

}  // namespace kb::cli
