#include "app/sources.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "app/convert.h"
#include "app/crash_points.h"
#include "app/source_config.h"
#include "sources/row_mapping.h"
#include "sources/row_source.h"

namespace kb::app {
namespace {

using sources::Event;
using sources::MappedRow;
using sources::Row;
using sources::RowSource;

// How long a run holds the source's lease before renewing it (it renews every page); a run
// that died without releasing it is replaced at once (its process is gone) or after this.
constexpr int64_t kLeaseMs = 10 * 60 * 1000;
// How long IndexSource waits for another run of the same source to finish.
constexpr int64_t kLeaseWaitMs = 30'000;
// After a full read of an outbox source, the cursor is set this many events before the newest
// one, so the events whose transactions were still open during the read are applied as well
// (applying an event again changes nothing).
constexpr int64_t kReplayAfterFull = 1000;
// At most this many ranges of awaited event ids are kept (the oldest go first).
constexpr size_t kMaxEventGaps = 1000;
// Tombstones per write transaction.
constexpr size_t kTombstoneBatch = 500;

std::string RandomToken() {
  std::random_device rd;
  char buf[33];
  std::snprintf(buf, sizeof buf, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  return buf;
}

const kbindex::DatabaseSource* FindSource(const Config& c, const std::string& name) {
  for (const auto& s : c.sources) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

// Starts a sync pass that follows the writes of a run (as IndexFolders does for a scan) and
// collects its report at the end.
class FollowingSync {
 public:
  FollowingSync(Services& s, const kbindex::SourceIndexRequest& request, kbindex::SourceReport& out) : out_(out) {
    if (!request.sync) return;
    auto engine = s.Engine();
    if (!engine.ok()) {
      out_.sync_status = engine.status();
      return;
    }
    engine_ = *engine;
    thread_ = std::thread([this, &request] {
      PassOptions pass;
      pass.kind = "index";
      pass.follow = &feed_;
      pass.stop = request.cancel;
      if (request.on_progress) {
        pass.on_progress = [&request](const SyncReport& r) {
          kbindex::IndexProgress p;
          p.phase = "sync";
          p.sync = ToPublic(r);
          request.on_progress(p);
        };
      }
      report_ = engine_->Run(pass);
    });
  }
  ~FollowingSync() { Finish(); }
  FollowingSync(const FollowingSync&) = delete;
  FollowingSync& operator=(const FollowingSync&) = delete;

  void Notify() { feed_.Notify(); }
  void Finish() {
    feed_.Finish();
    if (thread_.joinable()) {
      thread_.join();
      out_.sync = ToPublic(report_);
    }
  }

 private:
  kbindex::SourceReport& out_;
  SyncEngine* engine_ = nullptr;
  WorkFeed feed_;
  SyncReport report_;
  std::thread thread_;
};

// One run of one source: reads pages, writes them, records progress.
class SourceRun {
 public:
  SourceRun(Services& s, const kbindex::DatabaseSource& cfg, const kbindex::SourceIndexRequest& request,
            RowSource& rows, kbindex::SourceReport& report, FollowingSync& sync, const std::string& lease)
      : s_(s), cfg_(cfg), req_(request), src_(rows), report_(report), sync_(sync), lease_(lease) {
    map_.source = cfg.name;
    map_.max_body_bytes = s.config().max_file_bytes;
  }

  Status Full(const SourceProgress& progress);
  Status Incremental(const SourceProgress& progress);
  Status Outbox(const SourceProgress& progress);
  Status Item(const std::string& row_id);

 private:
  bool Cancelled() const { return req_.cancel && req_.cancel->load(); }
  int64_t Now() const { return s_.clock()->NowMs(); }
  Status Stopped() const {
    return Status::Aborted("stopped before the end of source '" + cfg_.name + "'; what was read is written, nothing was removed");
  }

  // Writes what a page of rows says (documents, removals, skipped rows) in batched transactions;
  // `ids` are the note ids the page was asked for (outbox, item): those without a row are
  // removed. In full mode, skipped rows are collected for one ReplaceSkipped at the end.
  Status Apply(const std::vector<Row>& rows, const std::vector<std::string>* asked_ids, bool full);
  Status Tombstone(std::vector<std::string> doc_ids);
  // After a page's documents committed: lets the sync follow, reports progress, renews the lease.
  void Committed();
  void Progress() {
    if (!req_.on_progress) return;
    kbindex::IndexProgress p;
    p.phase = "read";
    p.folder = cfg_.name;
    p.files = report_.rows;
    p.written = report_.added + report_.changed + report_.restored + report_.removed;
    req_.on_progress(p);
  }
  Status ApplyEvents(const std::vector<Event>& events);

  Services& s_;
  const kbindex::DatabaseSource& cfg_;
  const kbindex::SourceIndexRequest& req_;
  RowSource& src_;
  kbindex::SourceReport& report_;
  FollowingSync& sync_;
  const std::string& lease_;
  sources::MappingOptions map_;
  // Full mode: what the source held before, and what the read saw.
  std::unordered_map<std::string, IdState> known_;
  std::unordered_set<std::string> seen_;
  std::vector<SkippedFile> full_skipped_;
};

void SourceRun::Committed() {
  CrashPoints::Get().Reach("source-commit");
  sync_.Notify();
  Progress();
  (void)s_.store().AcquireSourceLease(cfg_.name, lease_, Now() + kLeaseMs);
}

Status SourceRun::Tombstone(std::vector<std::string> doc_ids) {
  for (size_t i = 0; i < doc_ids.size(); i += kTombstoneBatch) {
    const size_t n = std::min(kTombstoneBatch, doc_ids.size() - i);
    KB_ASSIGN_OR_RETURN(int removed, s_.store().Tombstone(std::span<const std::string>(doc_ids.data() + i, n)));
    report_.removed += removed;
  }
  return Status::Ok();
}

Status SourceRun::Apply(const std::vector<Row>& rows, const std::vector<std::string>* asked_ids, bool full) {
  const int64_t now = Now();
  std::vector<DocumentInput> docs;
  std::vector<std::string> gone;     // document ids to remove (checked to be ours below)
  std::vector<SkippedFile> skipped;  // rows that cannot be indexed
  std::vector<std::string> cleared;  // row ids that are fine (or gone) now
  std::set<std::string> answered;    // row ids the page holds
  for (const Row& row : rows) {
    ++report_.rows;
    MappedRow m = sources::MapRow(row, map_, now);
    if (!m.row_id.empty()) answered.insert(m.row_id);
    if (m.skipped) {
      // Like a bad file: listed with its reason; its last good version (if any) stays.
      if (!m.doc_id.empty()) seen_.insert(m.doc_id);
      skipped.push_back(std::move(*m.skipped));
      continue;
    }
    cleared.push_back(m.row_id);
    if (m.deleted) {
      gone.push_back(m.doc_id);
      continue;
    }
    seen_.insert(m.doc_id);
    if (full) {
      // Unchanged rows are not written at all (a re-read of 100,000 rows writes nothing).
      auto it = known_.find(m.doc_id);
      if (it != known_.end() && it->second.live && it->second.content_hash == m.doc->content_hash) {
        ++report_.unchanged;
        continue;
      }
    }
    docs.push_back(std::move(*m.doc));
  }
  if (asked_ids) {
    for (const std::string& id : *asked_ids) {
      if (answered.count(id)) continue;
      std::string why;
      sources::Value key;
      key.type = sources::Value::Type::kText;
      key.text = id;
      if (!sources::RowIdText(key, &why)) continue;  // cannot name one of our documents
      gone.push_back(sources::DocumentIdFor(cfg_.name, id));
      cleared.push_back(id);
    }
  }
  if (!docs.empty()) {
    KB_ASSIGN_OR_RETURN(auto outcomes, s_.store().PutDocuments(docs));
    for (size_t i = 0; i < outcomes.size(); ++i) {
      switch (outcomes[i]) {
        case PutOutcome::kInserted: ++report_.added; break;
        case PutOutcome::kChanged: ++report_.changed; break;
        case PutOutcome::kRestored: ++report_.restored; break;
        case PutOutcome::kUnchanged: ++report_.unchanged; break;
        case PutOutcome::kConflict:
          skipped.push_back(SkippedFile{cfg_.name, docs[i].id.substr(cfg_.name.size() + 1), "id_conflict",
                                        "the id '" + docs[i].id + "' belongs to a note of another source (pushed "
                                        "through the API); delete that note or rename the source",
                                        docs[i].file_size, std::nullopt, now});
          break;
      }
    }
  }
  if (!gone.empty() && !full) {
    // Only documents this source wrote, and only live ones, are removed.
    std::vector<std::string> ours;
    for (const std::string& id : gone) {
      KB_ASSIGN_OR_RETURN(auto doc, s_.store().Get(id));
      if (doc && doc->live() && doc->source == cfg_.name) ours.push_back(id);
    }
    KB_RETURN_IF_ERROR(Tombstone(std::move(ours)));
  }
  if (full) {
    for (auto& sk : skipped) full_skipped_.push_back(std::move(sk));
  } else {
    std::erase_if(cleared, [&](const std::string& id) {
      return std::any_of(skipped.begin(), skipped.end(), [&](const SkippedFile& f) { return f.path == id; });
    });
    KB_RETURN_IF_ERROR(s_.store().UpdateSkipped(cfg_.name, skipped, cleared));
    for (auto& sk : skipped) report_.skipped.push_back(ToPublic(sk));
  }
  return Status::Ok();
}

Status SourceRun::Full(const SourceProgress& progress) {
  KB_ASSIGN_OR_RETURN(auto states, s_.store().LoadIdStates(cfg_.name));
  int64_t live = 0;
  for (auto& st : states) {
    if (st.live) ++live;
    known_.emplace(st.id, std::move(st));
  }
  // The outbox's newest event before the read: events after it (and a few before, whose
  // transactions may still have been open) are applied by the next outbox run.
  std::optional<int64_t> newest_event;
  if (!cfg_.outbox_table.empty()) {
    KB_ASSIGN_OR_RETURN(newest_event, src_.MaxEventId());
  }
  std::optional<sources::RowKey> after;
  std::optional<int64_t> max_updated;
  for (;;) {
    if (Cancelled()) return Stopped();
    KB_ASSIGN_OR_RETURN(auto rows, src_.ReadByKey(after, cfg_.batch_rows));
    for (const Row& r : rows) {
      if (r.updated_ms) max_updated = std::max(max_updated.value_or(*r.updated_ms), *r.updated_ms);
    }
    KB_RETURN_IF_ERROR(Apply(rows, nullptr, /*full=*/true));
    Committed();
    if (static_cast<int>(rows.size()) < cfg_.batch_rows) break;
    after = rows.back().key;
  }

  // Reconcile: live documents whose row is gone or marked deleted.
  std::vector<std::string> gone;
  for (const auto& [id, st] : known_) {
    if (st.live && !seen_.count(id)) gone.push_back(id);
  }
  if (!gone.empty() && !req_.allow_mass_delete) {
    const bool empty = report_.rows == 0;
    const double share = static_cast<double>(gone.size()) / static_cast<double>(std::max<int64_t>(live, 1));
    if (empty || share > 0.9) {
      char pct[16];
      std::snprintf(pct, sizeof pct, "%.0f%%", share * 100.0);
      return Status::Aborted("refusing to remove " + std::to_string(gone.size()) + " of " + std::to_string(live) +
                             " documents (" + pct + ") of source '" + cfg_.name + "': " +
                             (empty ? "it reads as empty (" + src_.Describe() + ": wrong table, or emptied?)"
                                    : std::string("more than 90% of its rows are gone or marked deleted")) +
                             ". Nothing was removed; re-run with --allow-mass-delete if this is intended");
    }
  }
  KB_RETURN_IF_ERROR(Tombstone(std::move(gone)));
  if (report_.removed > 0) sync_.Notify();
  KB_RETURN_IF_ERROR(s_.store().ReplaceSkipped(cfg_.name, full_skipped_));
  for (const auto& sk : full_skipped_) report_.skipped.push_back(ToPublic(sk));

  SourceProgressUpdate update;
  if (max_updated) update.watermark_ms = std::max(progress.watermark_ms.value_or(*max_updated), *max_updated);
  if (newest_event) {
    const int64_t replay_from = std::max<int64_t>(0, *newest_event - kReplayAfterFull);
    if (progress.event_cursor && *progress.event_cursor > *newest_event) {
      spdlog::warn("source {}: the outbox's newest event ({}) is older than the last one applied ({}): was the outbox "
                   "recreated? Reading it from {} on",
                   cfg_.name, *newest_event, *progress.event_cursor, replay_from);
      update.event_cursor = replay_from;
      update.event_gaps = std::vector<EventGap>{};
    } else {
      update.event_cursor = std::max(progress.event_cursor.value_or(replay_from), replay_from);
    }
  }
  KB_RETURN_IF_ERROR(s_.store().SaveSourceProgress(cfg_.name, update));
  CrashPoints::Get().Reach("source-progress");
  report_.watermark_ms = update.watermark_ms ? update.watermark_ms : progress.watermark_ms;
  report_.event_cursor = update.event_cursor ? update.event_cursor : progress.event_cursor;
  return Status::Ok();
}

Status SourceRun::Incremental(const SourceProgress& progress) {
  // Rows committed late carry an updated_at older than rows already read (it is set when the
  // writing transaction runs, not when it commits; and clocks differ): reading from the
  // watermark minus the overlap window catches them. Rows read again are unchanged: no write.
  const int64_t overlap_ms = 1000LL * cfg_.overlap_s;
  constexpr int64_t kYearOne = -62'135'596'800'000;  // 0001-01-01: before any real updated_at
  const int64_t since = progress.watermark_ms ? *progress.watermark_ms - overlap_ms : kYearOne;
  int64_t watermark = progress.watermark_ms.value_or(kYearOne);
  std::optional<std::pair<int64_t, sources::RowKey>> cursor;
  for (;;) {
    if (Cancelled()) return Stopped();
    KB_ASSIGN_OR_RETURN(auto rows, src_.ReadUpdatedSince(since, cursor, cfg_.batch_rows));
    KB_RETURN_IF_ERROR(Apply(rows, nullptr, /*full=*/false));
    Committed();
    if (!rows.empty() && rows.back().updated_ms && rows.back().key) {
      // Pages come in updated_at order: the page's last row has its largest value.
      watermark = std::max(watermark, *rows.back().updated_ms);
      SourceProgressUpdate update;
      update.watermark_ms = watermark;
      KB_RETURN_IF_ERROR(s_.store().SaveSourceProgress(cfg_.name, update));
      CrashPoints::Get().Reach("source-progress");
      report_.watermark_ms = watermark;
      cursor.emplace(*rows.back().updated_ms, *rows.back().key);
    }
    if (static_cast<int>(rows.size()) < cfg_.batch_rows) break;
  }
  if (!report_.watermark_ms) report_.watermark_ms = progress.watermark_ms;
  return Status::Ok();
}

Status SourceRun::ApplyEvents(const std::vector<Event>& events) {
  report_.events += static_cast<int64_t>(events.size());
  // The event only says which note changed; its row says what the note is now. So a duplicate,
  // a replay or an event older than one already applied all end in the same state.
  std::vector<std::string> ids;
  std::set<std::string> unique;
  for (const Event& e : events) {
    if (e.note_id && unique.insert(*e.note_id).second) ids.push_back(*e.note_id);
  }
  if (ids.empty()) return Status::Ok();
  KB_ASSIGN_OR_RETURN(auto rows, src_.ReadItems(ids));
  return Apply(rows, &ids, /*full=*/false);
}

Status SourceRun::Outbox(const SourceProgress& progress) {
  const int64_t wait_ms = 1000LL * cfg_.overlap_s;
  const int64_t now = Now();
  int64_t cursor = progress.event_cursor.value_or(0);
  // Ranges of event ids skipped over earlier: their transactions may have committed since.
  std::vector<EventGap> gaps;
  for (const EventGap& g : progress.event_gaps) {
    if (now - g.first_seen_ms > wait_ms) {
      spdlog::info("source {}: stopped waiting for outbox events {}..{} (rolled back, or later than overlap_s)",
                   cfg_.name, g.lo, g.hi);
      continue;
    }
    gaps.push_back(g);
  }
  if (!gaps.empty()) {
    std::vector<EventGap> still;
    std::vector<Event> late;
    for (const EventGap& g : gaps) {
      KB_ASSIGN_OR_RETURN(auto found, src_.ReadEvents(g.lo - 1, g.hi, static_cast<int>(std::min<int64_t>(g.hi - g.lo + 1, 100'000))));
      int64_t next = g.lo;
      for (const Event& e : found) {
        if (e.id > next) still.push_back(EventGap{next, e.id - 1, g.first_seen_ms});
        next = e.id + 1;
        late.push_back(e);
      }
      if (next <= g.hi) still.push_back(EventGap{next, g.hi, g.first_seen_ms});
    }
    if (!late.empty()) {
      KB_RETURN_IF_ERROR(ApplyEvents(late));
      Committed();
    }
    gaps = std::move(still);
  }
  if (!progress.event_gaps.empty()) {
    SourceProgressUpdate update;
    update.event_gaps = gaps;
    KB_RETURN_IF_ERROR(s_.store().SaveSourceProgress(cfg_.name, update));
  }
  for (;;) {
    if (Cancelled()) return Stopped();
    KB_ASSIGN_OR_RETURN(auto events, src_.ReadEvents(cursor, std::nullopt, cfg_.batch_rows));
    int64_t prev = cursor;
    for (const Event& e : events) {
      if (e.id > prev + 1) gaps.push_back(EventGap{prev + 1, e.id - 1, Now()});
      prev = e.id;
    }
    if (gaps.size() > kMaxEventGaps) {
      spdlog::warn("source {}: more than {} ranges of outbox events awaited; giving up on the oldest", cfg_.name,
                   kMaxEventGaps);
      gaps.erase(gaps.begin(), gaps.end() - static_cast<std::ptrdiff_t>(kMaxEventGaps));
    }
    KB_RETURN_IF_ERROR(ApplyEvents(events));
    Committed();
    if (!events.empty()) {
      cursor = events.back().id;
      SourceProgressUpdate update;
      update.event_cursor = cursor;
      update.event_gaps = gaps;
      KB_RETURN_IF_ERROR(s_.store().SaveSourceProgress(cfg_.name, update));
      CrashPoints::Get().Reach("source-progress");
    }
    if (static_cast<int>(events.size()) < cfg_.batch_rows) break;
  }
  report_.event_cursor = cursor;
  report_.awaited_event_ranges = static_cast<int64_t>(gaps.size());
  return Status::Ok();
}

Status SourceRun::Item(const std::string& row_id) {
  std::vector<std::string> ids{row_id};
  KB_ASSIGN_OR_RETURN(auto rows, src_.ReadItems(ids));
  KB_RETURN_IF_ERROR(Apply(rows, &ids, /*full=*/false));
  Committed();
  return Status::Ok();
}

// Holds a source's lease for the length of a run.
class LeaseGuard {
 public:
  LeaseGuard(DocumentStore& store, std::string source) : store_(store), source_(std::move(source)) {}
  ~LeaseGuard() {
    if (held_) (void)store_.ReleaseSourceLease(source_, token_);
  }
  LeaseGuard(const LeaseGuard&) = delete;
  LeaseGuard& operator=(const LeaseGuard&) = delete;

  // Waits (up to kLeaseWaitMs, or until cancelled) for another run of the source to finish.
  Result<bool> Acquire(const std::atomic<bool>* cancel) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kLeaseWaitMs);
    for (;;) {
      KB_ASSIGN_OR_RETURN(held_, store_.AcquireSourceLease(source_, token_, store_.clock()->NowMs() + kLeaseMs));
      if (held_ || std::chrono::steady_clock::now() >= deadline || (cancel && cancel->load())) return held_;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  const std::string& token() const { return token_; }

 private:
  DocumentStore& store_;
  std::string source_;
  std::string token_ = RandomToken();
  bool held_ = false;
};

std::string Location(const kbindex::DatabaseSource& cfg) {
  auto rows = sources::MakeRowSource(cfg);
  return rows.ok() ? (*rows)->Describe() : cfg.kind;
}

}  // namespace

Result<kbindex::SourceReport> IndexSource(Services& s, const kbindex::SourceIndexRequest& request) {
  const kbindex::DatabaseSource* cfg = FindSource(s.config(), request.source);
  if (!cfg) {
    return Status::NotFound("no database source named '" + request.source +
                            "' is configured (\"sources\" in the config file)");
  }
  std::string mode = request.item.empty() ? (request.mode.empty() ? DefaultMode(*cfg) : request.mode) : "item";
  if (mode != "full" && mode != "incremental" && mode != "outbox" && mode != "item") {
    return Status::InvalidArgument("mode must be full, incremental or outbox (got '" + mode + "')");
  }
  if (mode == "incremental" && cfg->updated_at_column.empty()) {
    return Status::InvalidArgument("source '" + cfg->name + "' has no updated_at_column: it cannot be read incrementally");
  }
  if (mode == "outbox" && cfg->outbox_table.empty()) {
    return Status::InvalidArgument("source '" + cfg->name + "' has no outbox_table");
  }
  if (request.sync) KB_RETURN_IF_ERROR(s.CheckEmbedderChoice());
  KB_RETURN_IF_ERROR(s.store().EnsureDatabaseSource(cfg->name, cfg->kind));

  kbindex::SourceReport report;
  report.source = cfg->name;
  report.kind = cfg->kind;
  auto made = sources::MakeRowSource(*cfg);
  report.location = made.ok() ? (*made)->Describe() : cfg->kind;

  LeaseGuard lease(s.store(), cfg->name);
  KB_ASSIGN_OR_RETURN(bool held, lease.Acquire(request.cancel));
  if (!held) {
    report.mode = mode;
    report.status = Status::Conflict("source '" + cfg->name +
                                     "' is being read by another kbindex run (the worker, or another process); try again");
    return report;
  }
  KB_ASSIGN_OR_RETURN(SourceProgress progress, s.store().GetSourceProgress(cfg->name));
  // A source's first run reads everything: it reconciles what kbindex holds and sets where the
  // incremental or outbox runs start from.
  if ((mode == "incremental" && !progress.watermark_ms && !progress.last_full_at) ||
      (mode == "outbox" && !progress.event_cursor)) {
    mode = "full";
  }
  report.mode = mode;

  Status st = made.status();
  if (st.ok()) st = (*made)->Open();
  if (st.ok()) {
    FollowingSync sync(s, request, report);
    SourceRun run(s, *cfg, request, **made, report, sync, lease.token());
    if (mode == "full") {
      st = run.Full(progress);
    } else if (mode == "incremental") {
      st = run.Incremental(progress);
    } else if (mode == "outbox") {
      st = run.Outbox(progress);
    } else {
      st = run.Item(request.item);
    }
    sync.Finish();
  }
  report.status = st;
  const int64_t written = report.added + report.changed + report.restored + report.removed;
  if (written > 0) s.NudgeWorker();
  if (st.code() == Status::Code::kAborted && request.cancel && request.cancel->load()) return report;  // stopped
  s.store().MergeKeywordIndexAfter(written);
  SourceRunRecord record;
  record.mode = mode;
  record.ok = st.ok();
  record.error = st.ok() ? "" : st.message();
  record.complete_full = st.ok() && mode == "full";
  if (Status rec = s.store().RecordSourceRun(cfg->name, record); !rec.ok()) {
    spdlog::warn("source {}: could not record the run: {}", cfg->name, rec.message());
  }
  return report;
}

Result<std::vector<kbindex::SourceState>> ListSourceStates(Services& s) {
  KB_ASSIGN_OR_RETURN(auto counts, s.store().CountBySource());
  KB_ASSIGN_OR_RETURN(auto progress, s.store().ListSourceProgress());
  std::map<std::string, kbindex::SourceState> by;
  for (const SourceCounts& c : counts) {
    kbindex::SourceState st;
    st.name = c.source;
    st.kind = c.kind.empty() ? "unknown" : c.kind;
    st.location = c.root.value_or("");
    st.documents = c.live;
    st.tombstoned = c.tombstoned;
    st.synced = c.synced;
    st.pending = c.pending;
    st.failed = c.failed;
    st.skipped = c.skipped;
    by[c.source] = std::move(st);
  }
  for (const auto& cfg : s.config().sources) {
    kbindex::SourceState& st = by[cfg.name];
    st.name = cfg.name;
    st.kind = cfg.kind;
    st.location = Location(cfg);
    st.configured = true;
    st.mode = DefaultMode(cfg);
    st.interval_s = PollIntervalSeconds(cfg);
  }
  for (const SourceProgress& p : progress) {
    auto it = by.find(p.source);
    if (it == by.end()) continue;
    kbindex::SourceState& st = it->second;
    st.last_run_ms = p.last_run_at;
    st.last_success_ms = p.last_ok_at;
    st.last_full_ms = p.last_full_at;
    st.error = p.last_error.value_or("");
    st.error_since_ms = p.error_since;
    st.watermark_ms = p.watermark_ms;
    st.event_cursor = p.event_cursor;
    st.awaited_event_ranges = static_cast<int64_t>(p.event_gaps.size());
  }
  std::vector<kbindex::SourceState> out;
  for (auto& [name, st] : by) out.push_back(std::move(st));
  return out;
}

}  // namespace kb::app
