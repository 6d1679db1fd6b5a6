#include "sync/reindex.h"
#include "store/meta_keys.h"

#include <spdlog/spdlog.h>

#include <unordered_map>

#include "sync/chunk_records.h"
#include "sync/verifier.h"

namespace kb {
namespace {

// Deletes every record of `c` that `allowed` (id -> chunk count) does not account for.
Result<int64_t> SweepOrphans(VectorStore& vectors, const CollectionRef& c,
                             const std::unordered_map<std::string, int>& allowed) {
  std::vector<std::string> orphans;
  KB_RETURN_IF_ERROR(ForEachRecord(vectors, c, false, [&](const std::string& id, const std::string&) {
    if (id == kProbeId) return;
    const auto parts = SplitChunkId(id);
    const auto it = parts ? allowed.find(parts->first) : allowed.end();
    if (it == allowed.end() || parts->second >= it->second) orphans.push_back(id);
  }));
  if (!orphans.empty()) KB_RETURN_IF_ERROR(vectors.Delete(c, orphans));
  return static_cast<int64_t>(orphans.size());
}

bool Stopped(const ReindexOptions& o) { return o.stop && o.stop->load(); }

}  // namespace

Result<ReindexReport> ReindexInPlace(DocumentStore& store, VectorStore& vectors, SyncEngine& engine,
                                     const ReindexOptions& options) {
  ReindexReport report;
  KB_RETURN_IF_ERROR(engine.Prepare());
  KB_ASSIGN_OR_RETURN(int marked, store.MarkAllPending());
  spdlog::info("re-index: {} documents marked for re-embedding", marked);
  PassOptions pass;
  pass.kind = "reindex";
  pass.stop = options.stop;
  if (options.on_progress) pass.on_progress = [&](const SyncReport& r) { options.on_progress("upsert", r); };
  SyncReport r = engine.Run(pass);
  report.documents = r.synced;
  report.chunks = r.chunks;
  report.failed = r.failed;
  if (r.stopped || Stopped(options)) return Status::Aborted("re-index stopped; run it again to finish");
  KB_ASSIGN_OR_RETURN(CollectionBinding bound, engine.Bound());
  report.collection = bound.collection.name;
  // Sweep: ids SQLite does not account for (left by crashes, other tools, old chunking).
  KB_ASSIGN_OR_RETURN(VerifyReport v, Verify(store, vectors, bound.collection));
  if (!v.orphans.empty()) KB_RETURN_IF_ERROR(vectors.Delete(bound.collection, v.orphans));
  report.orphans_deleted = static_cast<int64_t>(v.orphans.size());
  if (r.failed > 0) {
    return Status::RemoteTransient(std::to_string(r.failed) + " documents failed to re-index (first: " +
                                   r.error.message() + "); they stay pending/failed and are retried");
  }
  return report;
}

Result<ReindexReport> SwitchEmbedder(DocumentStore& store, VectorStore& vectors, Embedder& next,
                                     const SyncOptions& base, const ReindexOptions& options) {
  ReindexReport report;
  KB_ASSIGN_OR_RETURN(auto current_embedder, store.GetMeta(meta::kEmbedder));
  KB_ASSIGN_OR_RETURN(auto active, store.GetMeta(meta::kCollection));
  KB_ASSIGN_OR_RETURN(auto base_name, store.GetMeta(meta::kCollectionBase));
  KB_ASSIGN_OR_RETURN(auto version_s, store.GetMeta(meta::kCollectionVersion));
  KB_ASSIGN_OR_RETURN(auto generation_s, store.GetMeta(meta::kCollectionGeneration));
  const std::string old_name = active.value_or(base.collection);
  const std::string stem = base_name.value_or(base.collection);
  const int version = version_s ? std::stoi(*version_s) : 1;
  const int64_t generation = generation_s ? std::stoll(*generation_s) : 0;
  std::string new_name = stem + "__v" + std::to_string(version + 1);
  if (new_name == old_name) new_name = stem + "__v" + std::to_string(version + 2);

  // A leftover from an interrupted attempt is rebuilt from scratch.
  if (auto existing = vectors.GetCollection(new_name); existing.ok() && existing->has_value()) {
    KB_RETURN_IF_ERROR(vectors.DeleteCollection(new_name));
  }
  KB_RETURN_IF_ERROR(store.ClearShadow());
  SyncOptions shadow_opts = base;
  shadow_opts.shadow_collection = new_name;
  SyncEngine builder(store, vectors, next, shadow_opts);
  KB_ASSIGN_OR_RETURN(CollectionBinding built, builder.Bound());
  const CollectionRef target = built.collection;
  spdlog::info("embedder switch: building '{}' with {} beside '{}' ({})", new_name, next.Id(),
               old_name, current_embedder.value_or("none"));

  // Build, then catch up with edits made meanwhile, until nothing is behind.
  auto build = [&](const char* phase) -> Status {
    for (int round = 0; round < 10; ++round) {
      PassOptions pass;
      pass.kind = "reindex-build";
      pass.stop = options.stop;
      if (options.on_progress) pass.on_progress = [&](const SyncReport& r) { options.on_progress(phase, r); };
      SyncReport r = builder.Run(pass);
      report.documents += r.synced;
      report.chunks += r.chunks;
      if (r.stopped || Stopped(options)) {
        return Status::Aborted("embedder switch stopped before the switch; '" + old_name +
                               "' is still active. Run it again to finish");
      }
      if (r.failed > 0) {
        return Status::RemoteTransient("building '" + new_name + "' failed for " +
                                       std::to_string(r.failed) + " documents (" + r.error.message() +
                                       "); '" + old_name + "' is still active");
      }
      KB_ASSIGN_OR_RETURN(auto behind, store.ShadowBehind(0, 1));
      if (behind.empty()) return Status::Ok();
    }
    return Status::Conflict("documents keep changing faster than the new collection catches up");
  };
  KB_RETURN_IF_ERROR(build("build"));
  // Chunks of documents deleted, or shrunk, while building.
  {
    KB_ASSIGN_OR_RETURN(auto expect, store.ShadowExpectations());
    std::unordered_map<std::string, int> allowed(expect.begin(), expect.end());
    KB_ASSIGN_OR_RETURN(int64_t swept, SweepOrphans(vectors, target, allowed));
    report.orphans_deleted += swept;
  }
  KB_RETURN_IF_ERROR(build("catch-up"));
  if (options.before_switch) options.before_switch();

  std::vector<std::pair<std::string, std::string>> switch_meta{
      {meta::kEmbedder, next.Id()},
      {meta::kCollection, new_name},
      {meta::kCollectionId, target.id},
      {meta::kCollectionBase, stem},
      {meta::kCollectionVersion, std::to_string(version + 1)},
      {meta::kCollectionGeneration, std::to_string(generation + 1)},
      {meta::kCollectionToDrop, old_name}};
  if (next.Dimensions() > 0) switch_meta.emplace_back(meta::kEmbedderDims, std::to_string(next.Dimensions()));
  KB_RETURN_IF_ERROR(store.SwitchToShadow(switch_meta));
  report.switched = true;
  report.previous_collection = old_name;
  report.collection = new_name;
  spdlog::info("embedder switch: '{}' is now active", new_name);

  Status dropped = DropRetiredCollection(store, vectors);
  report.dropped_previous = dropped.ok();
  if (!dropped.ok()) {
    spdlog::warn("could not drop the old collection '{}' yet ({}); it is retried later", old_name,
                 dropped.message());
  }
  // Anything edited in the last moments, and stale chunks of shrunk documents.
  SyncOptions normal = base;
  normal.shadow_collection.clear();
  SyncEngine after(store, vectors, next, normal);
  PassOptions pass;
  pass.kind = "reindex";
  pass.stop = options.stop;
  SyncReport r = after.Run(pass);
  report.failed += r.failed;
  if (auto bound = after.Bound(); bound.ok()) {
    KB_ASSIGN_OR_RETURN(VerifyReport v, Verify(store, vectors, bound->collection));
    if (!v.orphans.empty()) KB_RETURN_IF_ERROR(vectors.Delete(bound->collection, v.orphans));
    report.orphans_deleted += static_cast<int64_t>(v.orphans.size());
  }
  return report;
}

}  // namespace kb
