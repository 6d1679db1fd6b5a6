#include "app/convert.h"

namespace kb::app {

kbindex::SyncState ToPublic(SyncStatus s) {
  switch (s) {
    case SyncStatus::kPending: return kbindex::SyncState::kPending;
    case SyncStatus::kSynced: return kbindex::SyncState::kSynced;
    case SyncStatus::kFailed: return kbindex::SyncState::kFailed;
  }
  return kbindex::SyncState::kPending;
}

kbindex::Note ToNote(const Document& d, bool with_body) {
  kbindex::Note n;
  n.id = d.id;
  n.source = d.source;
  n.path = d.path;
  n.title = d.title;
  if (with_body) n.body = d.body;
  n.metadata_json = d.metadata_json;
  n.content_hash = d.content_hash;
  n.created_ms = d.created_at;
  n.updated_ms = d.updated_at;
  n.deleted_ms = d.deleted_at;
  n.file_size = d.file_size;
  n.sync.state = ToPublic(d.sync_status);
  n.sync.attempts = d.sync_attempts;
  n.sync.last_attempt_ms = d.last_sync_attempt;
  n.sync.error = d.sync_error;
  n.sync.synced_hash = d.synced_hash;
  n.sync.chunks = d.synced_chunks;
  n.sync.notice = d.sync_notice;
  return n;
}

kbindex::SkippedFile ToPublic(const SkippedFile& f) {
  return kbindex::SkippedFile{f.source, f.path, f.reason, f.detail, f.file_size, f.seen_at};
}

kbindex::SyncSummary ToPublic(const SyncReport& r) {
  kbindex::SyncSummary s;
  s.run_id = r.run_id;
  s.attempted = r.attempted;
  s.synced = r.synced;
  s.failed = r.failed;
  s.deleted = r.deleted;
  s.superseded = r.superseded;
  s.batches = r.batches;
  s.chunks = r.chunks;
  s.stopped = r.stopped;
  s.unreachable = r.unreachable;
  s.error = r.error;
  return s;
}

kbindex::SyncRunInfo ToPublic(const SyncRun& r) {
  return kbindex::SyncRunInfo{r.id,     r.kind,   r.started_at, r.finished_at, r.attempted,
                              r.synced, r.failed, r.deleted,    r.batches,     r.error};
}

kbindex::Failure ToFailure(const Document& d, int max_attempts) {
  kbindex::Failure f;
  f.id = d.id;
  f.attempts = d.sync_attempts;
  f.exhausted = d.sync_attempts >= max_attempts;
  f.last_attempt_ms = d.last_sync_attempt;
  f.deleted = d.deleted_at.has_value();
  f.error = d.sync_error.value_or("");
  return f;
}

kbindex::WorkerState ToPublic(const WorkerStatus& w) {
  kbindex::WorkerState s;
  s.running = w.running;
  s.passes = w.passes;
  s.last_pass_ms = w.last_pass_at;
  s.next_pass_ms = w.next_pass_at;
  s.consecutive_errors = w.consecutive_errors;
  s.last_error = w.last_error;
  return s;
}

}  // namespace kb::app
