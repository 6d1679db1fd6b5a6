// Database sources: their registration, the ids they own, their skipped rows, how far each has
// been applied (watermark, outbox cursor and gaps), the outcome of their runs, and the lease
// that keeps two runs of one source apart.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <nlohmann/json.hpp>

#include "store/document_store.h"
#include "store/store_impl.h"

namespace kb {
namespace {

std::string GapsToJson(const std::vector<EventGap>& gaps) {
  nlohmann::json j = nlohmann::json::array();
  for (const EventGap& g : gaps) j.push_back({g.lo, g.hi, g.first_seen_ms});
  return j.dump();
}

std::vector<EventGap> GapsFromJson(const std::string& text) {
  std::vector<EventGap> out;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& g : j) {
    if (g.is_array() && g.size() == 3 && g[0].is_number_integer() && g[1].is_number_integer() &&
        g[2].is_number_integer()) {
      out.push_back(EventGap{g[0].get<int64_t>(), g[1].get<int64_t>(), g[2].get<int64_t>()});
    }
  }
  return out;
}

bool ProcessGone(int64_t pid) {
  return pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH);
}

constexpr const char* kProgressColumns =
    "source, watermark_ms, event_cursor, event_gaps, last_run_at, last_mode, last_ok_at, last_full_at, "
    "last_error, error_since";

SourceProgress ReadProgress(SQLite::Statement& q) {
  SourceProgress p;
  p.source = q.getColumn(0).getString();
  p.watermark_ms = OptInt(q.getColumn(1));
  p.event_cursor = OptInt(q.getColumn(2));
  p.event_gaps = GapsFromJson(q.getColumn(3).getString());
  p.last_run_at = OptInt(q.getColumn(4));
  p.last_mode = q.getColumn(5).isNull() ? "" : q.getColumn(5).getString();
  p.last_ok_at = OptInt(q.getColumn(6));
  p.last_full_at = OptInt(q.getColumn(7));
  p.last_error = OptText(q.getColumn(8));
  p.error_since = OptInt(q.getColumn(9));
  return p;
}

}  // namespace

Status DocumentStore::EnsureDatabaseSource(const std::string& name, const std::string& kind) {
  const int64_t now = clock_->NowMs();
  std::string other;
  Status st = impl_->Write("registering database source", [&](Conn& c) {
    other.clear();
    {
      auto q = c.Stmt("SELECT kind FROM sources WHERE name=?");
      q->bind(1, name);
      if (q->executeStep()) {
        const std::string k = q->getColumn(0).getString();
        if (k == "folder" || k == "api") {
          other = k;
          return;
        }
      }
    }
    auto q = c.Stmt(
        "INSERT INTO sources(name, kind, root, created_at) VALUES (?, ?, NULL, ?) "
        "ON CONFLICT(name) DO UPDATE SET kind=excluded.kind");
    q->bind(1, name);
    q->bind(2, kind);
    q->bind(3, now);
    q->exec();
  });
  if (!st.ok()) return st;
  if (!other.empty()) {
    return Status::Conflict("source name '" + name + "' already belongs to " +
                            (other == "api" ? std::string("the API") : "a folder") +
                            "; give the database source another name");
  }
  return Status::Ok();
}

Result<std::vector<IdState>> DocumentStore::LoadIdStates(const std::string& source) {
  std::vector<IdState> out;
  Status st = impl_->Read("loading document states", [&](Conn& c) {
    out.clear();
    auto q = c.Stmt("SELECT id, content_hash, deleted_at IS NULL FROM documents WHERE source=?");
    q->bind(1, source);
    while (q->executeStep()) {
      out.push_back(IdState{q->getColumn(0).getString(), q->getColumn(1).getString(), q->getColumn(2).getInt() != 0});
    }
  });
  if (!st.ok()) return st;
  return out;
}

Status DocumentStore::UpdateSkipped(const std::string& source, std::span<const SkippedFile> add,
                                    std::span<const std::string> cleared) {
  if (add.empty() && cleared.empty()) return Status::Ok();
  return impl_->Write("recording skipped rows", [&](Conn& c) {
    for (const std::string& path : cleared) {
      auto q = c.Stmt("DELETE FROM skipped WHERE source=? AND path=?");
      q->bind(1, source);
      q->bind(2, path);
      q->exec();
    }
    InsertSkipped(c, source, add);
  });
}

Result<SourceProgress> DocumentStore::GetSourceProgress(const std::string& source) {
  SourceProgress out;
  Status st = impl_->Read("reading source progress", [&](Conn& c) {
    out = SourceProgress{};
    out.source = source;
    auto q = c.Stmt(std::string("SELECT ") + kProgressColumns + " FROM source_progress WHERE source=?");
    q->bind(1, source);
    if (q->executeStep()) out = ReadProgress(*q);
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<SourceProgress>> DocumentStore::ListSourceProgress() {
  std::vector<SourceProgress> out;
  Status st = impl_->Read("reading source progress", [&](Conn& c) {
    out.clear();
    auto q = c.Stmt(std::string("SELECT ") + kProgressColumns + " FROM source_progress ORDER BY source");
    while (q->executeStep()) out.push_back(ReadProgress(*q));
  });
  if (!st.ok()) return st;
  return out;
}

Status DocumentStore::SaveSourceProgress(const std::string& source, const SourceProgressUpdate& u) {
  return impl_->Write("recording source progress", [&](Conn& c) {
    {
      auto q = c.Stmt("INSERT INTO source_progress(source) VALUES (?) ON CONFLICT(source) DO NOTHING");
      q->bind(1, source);
      q->exec();
    }
    if (u.watermark_ms) {
      auto q = c.Stmt("UPDATE source_progress SET watermark_ms=? WHERE source=?");
      q->bind(1, *u.watermark_ms);
      q->bind(2, source);
      q->exec();
    }
    if (u.event_cursor) {
      auto q = c.Stmt("UPDATE source_progress SET event_cursor=? WHERE source=?");
      q->bind(1, *u.event_cursor);
      q->bind(2, source);
      q->exec();
    }
    if (u.event_gaps) {
      auto q = c.Stmt("UPDATE source_progress SET event_gaps=? WHERE source=?");
      q->bind(1, GapsToJson(*u.event_gaps));
      q->bind(2, source);
      q->exec();
    }
  });
}

Status DocumentStore::RecordSourceRun(const std::string& source, const SourceRunRecord& run) {
  const int64_t now = clock_->NowMs();
  return impl_->Write("recording source run", [&](Conn& c) {
    {
      auto q = c.Stmt("INSERT INTO source_progress(source) VALUES (?) ON CONFLICT(source) DO NOTHING");
      q->bind(1, source);
      q->exec();
    }
    if (run.ok) {
      auto q = c.Stmt(
          "UPDATE source_progress SET last_run_at=?, last_mode=?, last_ok_at=?, last_error=NULL, error_since=NULL, "
          "last_full_at=CASE WHEN ? THEN ? ELSE last_full_at END WHERE source=?");
      q->bind(1, now);
      q->bind(2, run.mode);
      q->bind(3, now);
      q->bind(4, run.complete_full ? 1 : 0);
      q->bind(5, now);
      q->bind(6, source);
      q->exec();
    } else {
      auto q = c.Stmt(
          "UPDATE source_progress SET last_run_at=?, last_mode=?, last_error=?, "
          "error_since=coalesce(error_since, ?) WHERE source=?");
      q->bind(1, now);
      q->bind(2, run.mode);
      q->bind(3, run.error);
      q->bind(4, now);
      q->bind(5, source);
      q->exec();
    }
  });
}

Result<bool> DocumentStore::AcquireSourceLease(const std::string& source, const std::string& token,
                                               int64_t until_ms) {
  const int64_t now = clock_->NowMs();
  bool got = false;
  Status st = impl_->Write("taking the source lease", [&](Conn& c) {
    got = false;
    {
      auto q = c.Stmt("INSERT INTO source_progress(source) VALUES (?) ON CONFLICT(source) DO NOTHING");
      q->bind(1, source);
      q->exec();
    }
    std::optional<int64_t> pid, until;
    std::optional<std::string> holder;
    {
      auto q = c.Stmt("SELECT lease_pid, lease_token, lease_until FROM source_progress WHERE source=?");
      q->bind(1, source);
      if (q->executeStep()) {
        pid = OptInt(q->getColumn(0));
        holder = OptText(q->getColumn(1));
        until = OptInt(q->getColumn(2));
      }
    }
    const bool free = !holder || *holder == token || !until || *until < now || !pid || ProcessGone(*pid);
    if (!free) return;
    auto q = c.Stmt("UPDATE source_progress SET lease_pid=?, lease_token=?, lease_until=? WHERE source=?");
    q->bind(1, static_cast<int64_t>(::getpid()));
    q->bind(2, token);
    q->bind(3, until_ms);
    q->bind(4, source);
    q->exec();
    got = true;
  });
  if (!st.ok()) return st;
  return got;
}

Status DocumentStore::ReleaseSourceLease(const std::string& source, const std::string& token) {
  return impl_->Write("releasing the source lease", [&](Conn& c) {
    auto q = c.Stmt(
        "UPDATE source_progress SET lease_pid=NULL, lease_token=NULL, lease_until=NULL WHERE source=? AND lease_token=?");
    q->bind(1, source);
    q->bind(2, token);
    q->exec();
  });
}

Result<std::vector<SourceCounts>> DocumentStore::CountBySource() {
  std::vector<SourceCounts> out;
  Status st = impl_->Read("counting documents per source", [&](Conn& conn) {
    out.clear();
    std::map<std::string, SourceCounts> by;
    {
      auto q = conn.Stmt("SELECT name, kind, root FROM sources ORDER BY name");
      while (q->executeStep()) {
        SourceCounts c;
        c.source = q->getColumn(0).getString();
        c.kind = q->getColumn(1).getString();
        c.root = OptText(q->getColumn(2));
        by[c.source] = std::move(c);
      }
    }
    {
      auto q = conn.Stmt(
          "SELECT source, sum(deleted_at IS NULL), sum(deleted_at IS NOT NULL), sum(sync_status='synced'), "
          "sum(sync_status='pending'), sum(sync_status='failed') FROM documents GROUP BY source");
      while (q->executeStep()) {
        SourceCounts& c = by[q->getColumn(0).getString()];
        c.source = q->getColumn(0).getString();
        c.live = q->getColumn(1).getInt64();
        c.tombstoned = q->getColumn(2).getInt64();
        c.synced = q->getColumn(3).getInt64();
        c.pending = q->getColumn(4).getInt64();
        c.failed = q->getColumn(5).getInt64();
      }
    }
    {
      auto q = conn.Stmt("SELECT source, count(*) FROM skipped GROUP BY source");
      while (q->executeStep()) {
        SourceCounts& c = by[q->getColumn(0).getString()];
        c.source = q->getColumn(0).getString();
        c.skipped = q->getColumn(1).getInt64();
      }
    }
    for (auto& [name, c] : by) out.push_back(std::move(c));
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace kb
