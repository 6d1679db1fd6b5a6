#include "app/state.h"

#include "app/convert.h"
#include "app/sources.h"
#include "app/index_check.h"
#include "app/watching.h"
#include "store/meta_keys.h"

namespace kb::app {

Result<kbindex::Stats> GetStats(Services& s) {
  const Config& c = s.config();
  KB_ASSIGN_OR_RETURN(StoreStats st, s.store().Stats(c.max_attempts));
  kbindex::Stats out;
  out.documents = st.live;
  out.tombstoned = st.tombstoned;
  out.synced = st.synced;
  out.pending = st.pending;
  out.failed = st.failed;
  out.exhausted = st.exhausted;
  out.partial = st.partial;
  out.max_attempts = c.max_attempts;
  out.skipped = st.skipped;
  if (st.last_sync_run) out.last_sync_run = ToPublic(*st.last_sync_run);
  const int64_t now = s.clock()->NowMs();
  if (st.oldest_pending_at) out.oldest_pending_age_s = (now - *st.oldest_pending_at) / 1000;
  KB_ASSIGN_OR_RETURN(CollectionMeta m, s.store().ReadCollectionMeta());
  out.embedder = m.embedder.value_or("");
  out.collection = m.collection.value_or(c.collection);

  kbindex::ChromaState chroma;
  VectorStore* probe = s.Probe();
  chroma.url = s.VectorUrl();
  if (probe == nullptr) {
    auto v = s.Vectors();
    chroma.error = v.ok() ? "no client" : v.status().message();
  } else if (Status hb = probe->Heartbeat(); !hb.ok()) {
    chroma.error = hb.message();
  } else {
    chroma.reachable = true;
    // The canary first: it writes its probe record when absent, which the count then leaves out.
    if (auto check = CheckIndex(s, kIndexCheckMaxAgeMs); check.ok()) out.index_check = *check;
    if (auto coll = probe->GetCollection(out.collection); coll.ok() && *coll) {
      if (auto n = probe->Count(**coll); n.ok()) chroma.count = *n;
    } else if (coll.ok()) {
      chroma.count = 0;
    }
  }
  if (out.index_check && out.index_check->collection == out.collection && chroma.count && *chroma.count > 0) {
    --*chroma.count;  // the probe record is kbindex's, not a note's chunk
  }
  out.chroma = chroma;
  out.watch = ReadWatchState(s);
  KB_ASSIGN_OR_RETURN(out.sources, ListSourceStates(s));
  return out;
}

kbindex::Health CheckHealth(Services& s) {
  kbindex::Health h;
  if (Status st = s.store().Ping(); !st.ok()) {
    h.sqlite_ok = false;
    h.sqlite_error = st.message();
    h.reasons.push_back("sqlite: " + h.sqlite_error);
  }
  VectorStore* probe = s.Probe();
  h.chroma_url = s.VectorUrl();
  if (probe == nullptr) {
    auto v = s.Vectors();
    h.chroma_error = v.ok() ? "no client" : v.status().message();
  } else if (Status hb = probe->Heartbeat(); !hb.ok()) {
    h.chroma_error = hb.message();
  } else {
    h.chroma_ok = true;
  }
  if (!h.chroma_ok) h.reasons.push_back("chroma: " + h.chroma_error);
  // Database sources whose last run failed (unreachable, ...): recorded by whichever process ran
  // them, so a worker in another process is seen too.
  if (!s.config().sources.empty()) {
    if (auto states = ListSourceStates(s); states.ok()) {
      for (auto& st : *states) {
        if (!st.configured) continue;
        if (!st.error.empty()) h.reasons.push_back("source " + st.name + ": " + st.error);
        h.sources.push_back(std::move(st));
      }
    }
  }
  if (h.chroma_ok) {
    if (auto check = CheckIndex(s, kIndexCheckMaxAgeMs); check.ok()) {
      h.index_check = *check;
      if (!check->ok) h.reasons.push_back("index: " + check->reason);
    }
  }
  if (auto w = s.WorkerState()) {
    h.worker = ToPublic(*w);
    if (w->consecutive_errors > 0) h.reasons.push_back("worker: " + w->last_error);
  }
  h.watch = ReadWatchState(s);
  if (h.watch && h.watch->running) {
    // A watched folder that is not followed right now (missing, unmounted, safety valve).
    for (const auto& f : h.watch->folders) {
      if (!f.error.empty()) h.reasons.push_back("watch: " + f.folder + ": " + f.error);
    }
  }
  h.ok = h.reasons.empty();
  return h;
}

Result<std::vector<kbindex::Failure>> ListFailures(Services& s, int limit) {
  if (limit < 1) return Status::InvalidArgument("limit must be at least 1");
  KB_ASSIGN_OR_RETURN(auto docs, s.store().ListFailed(std::min(limit, 10'000)));
  std::vector<kbindex::Failure> out;
  out.reserve(docs.size());
  for (const auto& d : docs) out.push_back(ToFailure(d, s.config().max_attempts));
  return out;
}

Result<std::vector<kbindex::Note>> ListPartial(Services& s, int limit) {
  if (limit < 1) return Status::InvalidArgument("limit must be at least 1");
  KB_ASSIGN_OR_RETURN(auto docs, s.store().ListPartial(std::min(limit, 10'000)));
  std::vector<kbindex::Note> out;
  out.reserve(docs.size());
  for (const auto& d : docs) out.push_back(ToNote(d, false));
  return out;
}

Result<int> Retry(Services& s, const std::string& id) {
  KB_ASSIGN_OR_RETURN(int n, s.store().ResetFailed(id, false, s.config().max_attempts));
  if (!id.empty() && n == 0) return Status::NotFound("'" + id + "' is not a failed document");
  if (n > 0) s.NudgeWorker();
  return n;
}

}  // namespace kb::app
