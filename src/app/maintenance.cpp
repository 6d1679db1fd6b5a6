#include "app/maintenance.h"

#include <algorithm>

#include "app/convert.h"
#include "app/index_check.h"
#include "sync/reindex.h"
#include "sync/verifier.h"

namespace kb::app {
namespace {

kbindex::VerifyReport ToPublic(const VerifyReport& v, const Status& integrity) {
  constexpr size_t kSample = 20;
  kbindex::VerifyReport r;
  r.rows = v.rows;
  r.unsynced_rows = v.unsynced_rows;
  r.expected_chunks = v.expected_chunks;
  r.chroma_chunks = v.vector_chunks;
  r.missing = static_cast<int64_t>(v.missing.size());
  r.stale = static_cast<int64_t>(v.stale.size());
  r.orphans = static_cast<int64_t>(v.orphans.size());
  r.drifted_documents.assign(v.drifted_documents.begin(),
                             v.drifted_documents.begin() + std::min(v.drifted_documents.size(), kSample));
  r.orphan_sample.assign(v.orphans.begin(), v.orphans.begin() + std::min(v.orphans.size(), kSample));
  r.integrity = integrity.ok() ? "ok" : integrity.message();
  return r;
}

}  // namespace

Result<kbindex::SyncSummary> SyncNow(Services& s, const std::atomic<bool>* cancel, const std::string& kind,
                                     const std::function<void(const kbindex::SyncSummary&)>& on_progress) {
  KB_RETURN_IF_ERROR(s.CheckEmbedderChoice());
  KB_ASSIGN_OR_RETURN(SyncEngine * engine, s.Engine());
  PassOptions pass;
  pass.kind = kind;
  pass.stop = cancel;
  if (on_progress) pass.on_progress = [&](const SyncReport& r) { on_progress(ToPublic(r)); };
  return ToPublic(engine->Run(pass));
}

Result<kbindex::SyncSummary> RunWorkerPass(Services& s, const WorkerOptions& options) {
  KB_RETURN_IF_ERROR(s.CheckEmbedderChoice());
  KB_ASSIGN_OR_RETURN(SyncEngine * engine, s.Engine());
  KB_ASSIGN_OR_RETURN(VectorStore * vectors, s.Vectors());
  // One worker per database, also for a single pass.
  KB_ASSIGN_OR_RETURN(auto lock, WorkerLock::Acquire(s.config().db_path));
  WorkerOptions with_check = options;
  with_check.after_pass = [&s](const SyncReport& r) { AfterWorkerPass(s, r); };
  RetryWorker worker(s.store(), *engine, *vectors, with_check);
  return ToPublic(worker.RunOnce());
}

Result<kbindex::ReindexReport> Reindex(Services& s, const kbindex::ReindexRequest& request) {
  KB_ASSIGN_OR_RETURN(VectorStore * vectors, s.Vectors());
  KB_ASSIGN_OR_RETURN(SyncEngine * engine, s.Engine());
  Embedder* target = nullptr;
  if (request.rebuild && !request.embedder.empty()) {
    return Status::InvalidArgument("a rebuild keeps the current embedder; switching embedders rebuilds anyway");
  }
  if (!request.embedder.empty()) {
    EmbedderSpec spec = s.ConfiguredEmbedderSpec();
    spec.kind = request.embedder;
    if (!request.embed_model.empty()) spec.model = request.embed_model;
    if (!request.embed_url.empty()) spec.url = request.embed_url;
    if (request.embed_dims > 0) spec.dims = request.embed_dims;
    if (spec.kind != "hash" && spec.kind != "ollama" && spec.kind != "openai") {
      return Status::InvalidArgument("embedder must be hash, ollama or openai (got '" + spec.kind + "')");
    }
    if (spec.dims < 8 || spec.dims > 8192) return Status::InvalidArgument("embed dims must be 8..8192");
    KB_ASSIGN_OR_RETURN(target, s.AdoptEmbedder(spec));
  } else {
    KB_ASSIGN_OR_RETURN(target, s.DefaultEmbedder());
  }
  KB_ASSIGN_OR_RETURN(CollectionMeta m, s.store().ReadCollectionMeta());
  ReindexOptions ro;
  ro.stop = request.cancel;
  if (request.on_progress) {
    ro.on_progress = [&](const std::string& phase, const SyncReport& r) { request.on_progress(phase, ToPublic(r)); };
  }
  if (request.rebuild && m.embedder.has_value() && *m.embedder != target->Id()) {
    KB_ASSIGN_OR_RETURN(target, s.EmbedderFor(*m.embedder));  // rebuild what is there
  }
  // A rebuild is a switch to the same embedder: the machinery that builds a collection beside
  // the active one and swaps it in.
  const bool switching = request.rebuild || (m.embedder.has_value() && *m.embedder != target->Id());
  Result<ReindexReport> r = switching
                                ? SwitchEmbedder(s.store(), *vectors, *target, s.SyncOptionsFromConfig(), ro)
                                : ReindexInPlace(s.store(), *vectors, *engine, ro);
  if (!r.ok()) return r.status();
  kbindex::ReindexReport out;
  out.collection = r->collection;
  out.previous_collection = r->previous_collection;
  out.embedder = target->Id();
  out.switched = r->switched;
  out.rebuilt = request.rebuild && r->switched;
  out.dropped_previous = r->dropped_previous;
  out.documents = r->documents;
  out.chunks = r->chunks;
  out.failed = r->failed;
  out.orphans_deleted = r->orphans_deleted;
  return out;
}

Result<kbindex::VerifyResult> Verify(Services& s, const kbindex::VerifyRequest& request) {
  KB_ASSIGN_OR_RETURN(VectorStore * vectors, s.Vectors());
  KB_ASSIGN_OR_RETURN(SyncEngine * engine, s.Engine());
  KB_ASSIGN_OR_RETURN(CollectionBinding bound, engine->Bound());
  const Status integrity = s.store().CheckIntegrity();
  KB_ASSIGN_OR_RETURN(VerifyReport before, kb::Verify(s.store(), *vectors, bound.collection));
  kbindex::VerifyResult out;
  out.before = ToPublic(before, integrity);
  if (auto check = CheckIndex(s, 0); check.ok()) {
    out.index_check = *check;
  } else {
    return check.status();
  }
  if (request.repair && !out.index_check->ok) {
    // The index itself does not answer: no repair inside it helps (deletes make it worse), so a
    // fresh collection is built beside it and swapped in; search answers throughout.
    kbindex::ReindexRequest rebuild;
    rebuild.rebuild = true;
    KB_ASSIGN_OR_RETURN(out.rebuild, Reindex(s, rebuild));
    KB_ASSIGN_OR_RETURN(bound, engine->Bound());
    KB_ASSIGN_OR_RETURN(VerifyReport after, kb::Verify(s.store(), *vectors, bound.collection));
    out.after = ToPublic(after, integrity);
    KB_ASSIGN_OR_RETURN(out.index_check_after, CheckIndex(s, 0));
    return out;
  }
  if (request.repair && !before.consistent()) {
    KB_RETURN_IF_ERROR(RepairDrift(s.store(), *vectors, bound.collection, before));
    PassOptions pass;
    pass.kind = "repair";
    out.repair = ToPublic(engine->Run(pass));
    KB_ASSIGN_OR_RETURN(bound, engine->Bound());
    KB_ASSIGN_OR_RETURN(VerifyReport after, kb::Verify(s.store(), *vectors, bound.collection));
    out.after = ToPublic(after, integrity);
  }
  return out;
}

}  // namespace kb::app
