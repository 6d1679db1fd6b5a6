// Sync bookkeeping: what is due, claims and send leases, outcomes, sync runs, resets.
#include "store/document_store.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "store/meta_keys.h"
#include "store/store_impl.h"

namespace kb {

Result<std::vector<Document>> DocumentStore::DueForSync(const DueQuery& dq) {
  std::vector<Document> out;
  const int64_t now = clock_->NowMs();
  std::string sql = std::string("SELECT ") + kDocumentColumns + kDocumentFrom +
                    " WHERE d.sync_status <> 'synced' AND d.sync_attempts < ? AND "
                    "(d.sync_status = 'pending'";
  if (dq.include_failed) {
    sql += " OR (d.sync_status = 'failed'";
    if (dq.respect_backoff) {
      // Exponential backoff: base * 2^(attempts-1), capped.
      sql +=
          " AND (d.last_sync_attempt IS NULL OR d.last_sync_attempt + "
          "min(? * (1 << min(max(d.sync_attempts - 1, 0), 30)), ?) <= ?)";
    }
    sql += ")";
  }
  sql += ")";
  if (dq.attempted_before) sql += " AND (d.last_sync_attempt IS NULL OR d.last_sync_attempt < ?)";
  sql += " AND (d.sync_lease_pid IS NULL OR d.sync_lease_until < ?)";
  sql += " ORDER BY coalesce(d.last_sync_attempt, d.updated_at), d.doc_key LIMIT ?";
  Status st = impl_->Read("selecting documents to sync", [&](Conn& c) {
    out.clear();
    auto q = c.Stmt(sql);
    int i = 1;
    q->bind(i++, dq.max_attempts);
    if (dq.include_failed && dq.respect_backoff) {
      q->bind(i++, dq.backoff_base_ms);
      q->bind(i++, dq.backoff_max_ms);
      q->bind(i++, now);
    }
    if (dq.attempted_before) q->bind(i++, *dq.attempted_before);
    q->bind(i++, now);
    q->bind(i++, dq.limit);
    while (q->executeStep()) out.push_back(ReadDocument(*q));
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<bool>> DocumentStore::ClaimForSend(std::span<const SendClaim> claims,
                                                      int64_t lease_until_ms) {
  std::vector<bool> out;
  if (claims.empty()) return out;
  const int64_t now = clock_->NowMs();
  const int64_t pid = ::getpid();
  Status st = impl_->Write("recording documents in flight", [&](Conn& c) {
    out.assign(claims.size(), false);
    for (size_t i = 0; i < claims.size(); ++i) {
      const SendClaim& claim = claims[i];
      if (claim.deleted_at) {
        auto q = c.Stmt(
            "UPDATE documents SET last_sync_attempt=?, sync_lease_pid=?, sync_lease_until=? "
            "WHERE doc_key=? AND deleted_at=? AND (sync_lease_pid IS NULL OR sync_lease_until < ?)");
        q->bind(1, now);
        q->bind(2, pid);
        q->bind(3, lease_until_ms);
        q->bind(4, claim.key);
        q->bind(5, *claim.deleted_at);
        q->bind(6, now);
        out[i] = q->exec() > 0;
      } else {
        auto q = c.Stmt(
            "UPDATE documents SET chunks_hwm=max(chunks_hwm, ?), last_sync_attempt=?, "
            "sync_lease_pid=?, sync_lease_until=? WHERE doc_key=? AND content_hash=? AND "
            "deleted_at IS NULL AND (sync_lease_pid IS NULL OR sync_lease_until < ?)");
        q->bind(1, claim.chunks);
        q->bind(2, now);
        q->bind(3, pid);
        q->bind(4, lease_until_ms);
        q->bind(5, claim.key);
        q->bind(6, claim.content_hash);
        q->bind(7, now);
        out[i] = q->exec() > 0;
      }
    }
  });
  if (!st.ok()) return st;
  return out;
}

Result<int> DocumentStore::ReleaseDeadLeases() {
  std::vector<int64_t> pids;
  Status st = impl_->Read("reading leases", [&](Conn& c) {
    pids.clear();
    auto q = c.Stmt("SELECT DISTINCT sync_lease_pid FROM documents WHERE sync_lease_pid IS NOT NULL");
    while (q->executeStep()) pids.push_back(q->getColumn(0).getInt64());
  });
  if (!st.ok()) return st;
  std::vector<int64_t> dead;
  for (int64_t pid : pids) {
    if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) dead.push_back(pid);
  }
  int n = 0;
  if (dead.empty()) return n;
  st = impl_->Write("releasing leases of dead processes", [&](Conn& c) {
    n = 0;
    for (int64_t pid : dead) {
      auto q = c.Stmt("UPDATE documents SET sync_lease_pid=NULL, sync_lease_until=NULL WHERE sync_lease_pid=?");
      q->bind(1, pid);
      n += q->exec();
    }
  });
  if (!st.ok()) return st;
  return n;
}

Result<SyncApplyResult> DocumentStore::ApplySyncOutcomes(std::span<const SyncOutcome> outcomes,
                                                        std::optional<int64_t> generation) {
  SyncApplyResult r;
  const int64_t now = clock_->NowMs();
  const int64_t pid = ::getpid();
  Status st = impl_->Write("recording sync results", [&](Conn& c) {
    r = SyncApplyResult{};
    for (const SyncOutcome& o : outcomes) {
      auto q = c.Stmt(
          "UPDATE documents SET sync_lease_pid=NULL, sync_lease_until=NULL WHERE doc_key=? AND sync_lease_pid=?");
      q->bind(1, o.key);
      q->bind(2, pid);
      q->exec();
    }
    if (generation) {
      auto g = c.Stmt("SELECT value FROM meta WHERE key=?");
      g->bind(1, meta::kCollectionGeneration);
      const int64_t current = g->executeStep() ? std::stoll(g->getColumn(0).getString()) : 0;
      if (current != *generation) {
        r.superseded = static_cast<int>(outcomes.size());  // sent to a collection no longer active
        return;
      }
    }
    for (const SyncOutcome& o : outcomes) {
      int n = 0;
      switch (o.kind) {
        case SyncOutcome::Kind::kSynced: {
          auto q = c.Stmt(
              "UPDATE documents SET sync_status='synced', synced_hash=content_hash, "
              "synced_chunks=?, chunks_hwm=?, sync_attempts=0, sync_error=NULL, "
              "last_sync_attempt=?, sync_notice=? WHERE doc_key=? AND content_hash=? AND deleted_at IS NULL");
          q->bind(1, o.chunks);
          q->bind(2, o.chunks);
          q->bind(3, now);
          if (o.notice.empty()) {
            q->bind(4);
          } else {
            q->bind(4, o.notice);
          }
          q->bind(5, o.key);
          q->bind(6, o.sent_hash);
          n = q->exec();
          r.synced += n;
          break;
        }
        case SyncOutcome::Kind::kFailed: {
          auto q = c.Stmt(
              "UPDATE documents SET sync_status='failed', sync_attempts=sync_attempts+1, "
              "last_sync_attempt=?, sync_error=? WHERE doc_key=? AND content_hash=? AND "
              "(deleted_at IS NULL) = ?");
          q->bind(1, now);
          q->bind(2, o.error);
          q->bind(3, o.key);
          q->bind(4, o.sent_hash);
          q->bind(5, o.deleted_at ? 0 : 1);
          n = q->exec();
          r.failed += n;
          break;
        }
        case SyncOutcome::Kind::kPurged: {
          auto q = c.Stmt("DELETE FROM documents WHERE doc_key=? AND deleted_at=?");
          q->bind(1, o.key);
          q->bind(2, o.deleted_at.value_or(-1));
          n = q->exec();
          r.purged += n;
          break;
        }
      }
      if (n == 0) ++r.superseded;
    }
  });
  if (!st.ok()) return st;
  return r;
}

Result<int64_t> DocumentStore::BeginSyncRun(const std::string& kind) {
  int64_t id = 0;
  const int64_t now = clock_->NowMs();
  Status st = impl_->Write("starting sync run", [&](Conn& c) {
    auto q = c.Stmt("INSERT INTO sync_runs(kind, started_at) VALUES (?, ?)");
    q->bind(1, kind);
    q->bind(2, now);
    q->exec();
    id = c.db.getLastInsertRowid();
  });
  if (!st.ok()) return st;
  return id;
}

Status DocumentStore::FinishSyncRun(const SyncRun& run) {
  const int64_t now = clock_->NowMs();
  return impl_->Write("finishing sync run", [&](Conn& c) {
    auto q = c.Stmt(
        "UPDATE sync_runs SET finished_at=?, attempted=?, synced=?, failed=?, deleted=?, "
        "batches=?, error=? WHERE id=?");
    q->bind(1, run.finished_at.value_or(now));
    q->bind(2, run.attempted);
    q->bind(3, run.synced);
    q->bind(4, run.failed);
    q->bind(5, run.deleted);
    q->bind(6, run.batches);
    BindOpt(*q, 7, run.error);
    q->bind(8, run.id);
    q->exec();
  });
}

Result<std::optional<SyncRun>> DocumentStore::LastSyncRun() {
  KB_ASSIGN_OR_RETURN(auto runs, RecentSyncRuns(1));
  if (runs.empty()) return std::optional<SyncRun>();
  return std::optional<SyncRun>(runs.front());
}

Result<int64_t> DocumentStore::DeletedSince(int64_t since_ms) {
  int64_t n = 0;
  Status st = impl_->Read("reading sync runs", [&](Conn& c) {
    auto q = c.Stmt("SELECT COALESCE(SUM(deleted), 0) FROM sync_runs WHERE started_at >= ?");
    q->bind(1, static_cast<int64_t>(since_ms));
    n = q->executeStep() ? q->getColumn(0).getInt64() : 0;
  });
  if (!st.ok()) return st;
  return n;
}

Result<std::vector<SyncRun>> DocumentStore::RecentSyncRuns(int limit) {
  std::vector<SyncRun> out;
  Status st = impl_->Read("reading sync runs", [&](Conn& c) {
    out.clear();
    auto q = c.Stmt(std::string("SELECT ") + kSyncRunColumns +
                         " FROM sync_runs ORDER BY id DESC LIMIT ?");
    q->bind(1, limit);
    while (q->executeStep()) out.push_back(ReadSyncRun(*q));
  });
  if (!st.ok()) return st;
  return out;
}

Result<int> DocumentStore::ResetFailed(const std::string& id, bool only_exhausted,
                                       int max_attempts) {
  int n = 0;
  Status st = impl_->Write("resetting failed documents", [&](Conn& c) {
    auto q = c.Stmt(
        "UPDATE documents SET sync_status='pending', sync_attempts=0, last_sync_attempt=NULL "
        "WHERE sync_status='failed' AND (?='' OR id=?) AND (?=0 OR sync_attempts >= ?)");
    q->bind(1, id);
    q->bind(2, id);
    q->bind(3, only_exhausted ? 1 : 0);
    q->bind(4, max_attempts);
    n = q->exec();
  });
  if (!st.ok()) return st;
  return n;
}

Result<int> DocumentStore::MarkAllPending() {
  int n = 0;
  Status st = impl_->Write("marking documents pending", [&](Conn& c) {
    n = c.db.exec(
        "UPDATE documents SET sync_status='pending', sync_attempts=0, last_sync_attempt=NULL, "
        "sync_error=NULL WHERE deleted_at IS NULL");
  });
  if (!st.ok()) return st;
  return n;
}

Result<int> DocumentStore::MarkPending(std::span<const std::string> ids) {
  int n = 0;
  Status st = impl_->Write("marking documents pending", [&](Conn& c) {
    n = 0;
    for (const std::string& id : ids) {
      auto q = c.Stmt(
          "UPDATE documents SET sync_status='pending', sync_attempts=0, last_sync_attempt=NULL, "
          "sync_error=NULL WHERE id=?");
      q->bind(1, id);
      n += q->exec();
    }
  });
  if (!st.ok()) return st;
  return n;
}


}  // namespace kb
