// kbindex::Database: the public API, a thin facade over the use cases in src/app/.
#include "kbindex/kbindex.h"

#include <algorithm>
#include <mutex>

#include "app/indexing.h"
#include "app/index_check.h"
#include "app/maintenance.h"
#include "app/notes.h"
#include "app/search.h"
#include "app/services.h"
#include "app/sources.h"
#include "app/state.h"
#include "lib/database_internal.h"
#include "watch/folder_watch.h"

namespace kbindex {

struct Database::Rep {
  std::unique_ptr<kb::app::Services> services;
  std::mutex watch_mu;
  std::unique_ptr<kb::watch::FolderWatch> watch;  // declared after services: stopped first
};

Database::Database(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
Database::~Database() = default;

Result<std::unique_ptr<Database>> Database::Open(const Options& options) {
  KB_ASSIGN_OR_RETURN(auto services, kb::app::Services::Open(options));
  return kb::DatabaseAccess::Wrap(std::move(services));
}

const Options& Database::options() const { return rep_->services->config(); }

Result<PutResult> Database::Put(const NoteInput& note) { return kb::app::PutNote(*rep_->services, note); }

Result<DeleteResult> Database::Delete(const std::string& id) { return kb::app::DeleteNote(*rep_->services, id); }

Result<std::optional<Note>> Database::Get(const std::string& id, bool with_body) {
  return kb::app::GetNote(*rep_->services, id, with_body);
}

Result<IndexReport> Database::IndexFolders(const IndexRequest& request) {
  return kb::app::IndexFolders(*rep_->services, request);
}

Result<std::vector<SkippedFile>> Database::Skipped(const std::string& source) {
  return kb::app::ListSkipped(*rep_->services, source);
}

Status Database::StartWatching(const WatchRequest& request) {
  const Options& o = options();
  kb::watch::FolderWatchOptions wo;
  wo.folders = request.folders;
  wo.source_name = request.source_name;
  wo.tree.coalesce.quiet_ms = request.quiet_ms > 0 ? request.quiet_ms : o.watch_quiet_ms;
  // Closed files settle for a fifth of the quiet period (at most 20 ms): the rest of a burst
  // (an editor's rename after its write) arrives in that time.
  wo.tree.coalesce.settle_ms = std::min<int64_t>(20, std::max<int64_t>(1, wo.tree.coalesce.quiet_ms / 5));
  wo.tree.coalesce.max_delay_ms = std::max<int64_t>(2'000, 20LL * wo.tree.coalesce.quiet_ms);
  const int reconcile_s = request.reconcile_s >= 0 ? request.reconcile_s : o.watch_reconcile_s;
  wo.tree.reconcile_interval_ms = 1000LL * reconcile_s;
  std::lock_guard lock(rep_->watch_mu);
  if (rep_->watch) return Status::Conflict("this database is already being watched by this process");
  KB_ASSIGN_OR_RETURN(rep_->watch, kb::watch::FolderWatch::Start(*rep_->services, std::move(wo)));
  return Status::Ok();
}

void Database::StopWatching() {
  std::unique_ptr<kb::watch::FolderWatch> w;
  {
    std::lock_guard lock(rep_->watch_mu);
    w = std::move(rep_->watch);
  }
  if (w) w->Stop();
}

std::optional<WatchState> Database::GetWatchState() {
  std::lock_guard lock(rep_->watch_mu);
  if (!rep_->watch) return std::nullopt;
  return rep_->watch->state();
}

Result<SourceReport> Database::IndexSource(const SourceIndexRequest& request) {
  return kb::app::IndexSource(*rep_->services, request);
}

Result<SearchResults> Database::Search(const SearchRequest& request) {
  return kb::app::Search(*rep_->services, request);
}

Result<Stats> Database::GetStats() { return kb::app::GetStats(*rep_->services); }

Health Database::CheckHealth() { return kb::app::CheckHealth(*rep_->services); }

Result<std::vector<Failure>> Database::Failures(int limit) { return kb::app::ListFailures(*rep_->services, limit); }

Result<std::vector<Note>> Database::PartlyIndexed(int limit) { return kb::app::ListPartial(*rep_->services, limit); }

Result<int> Database::Retry(const std::string& id) { return kb::app::Retry(*rep_->services, id); }

Result<SyncSummary> Database::SyncNow(const std::atomic<bool>* cancel) {
  return kb::app::SyncNow(*rep_->services, cancel, "sync");
}

namespace {
kb::WorkerOptions WorkerOptionsFor(const Options& o, const WorkerOptions& w) {
  kb::WorkerOptions wo;
  wo.interval_ms = w.interval_ms > 0 ? w.interval_ms : 1000LL * o.worker_interval_s;
  wo.batch = w.batch > 0 ? w.batch : o.worker_batch;
  return wo;
}
}  // namespace

Status Database::StartWorker(const WorkerOptions& options) {
  return rep_->services->StartWorker(WorkerOptionsFor(this->options(), options));
}

void Database::StopWorker() { rep_->services->StopWorker(); }

std::optional<WorkerState> Database::GetWorkerState() {
  auto w = rep_->services->WorkerState();
  if (!w) return std::nullopt;
  WorkerState s;
  s.running = w->running;
  s.passes = w->passes;
  s.last_pass_ms = w->last_pass_at;
  s.next_pass_ms = w->next_pass_at;
  s.consecutive_errors = w->consecutive_errors;
  s.last_error = w->last_error;
  return s;
}

Result<SyncSummary> Database::RunWorkerPass() {
  return kb::app::RunWorkerPass(*rep_->services, WorkerOptionsFor(options(), {}));
}

Result<ReindexReport> Database::Reindex(const ReindexRequest& request) {
  return kb::app::Reindex(*rep_->services, request);
}

Result<IndexCheck> Database::CheckIndex() { return kb::app::CheckIndex(*rep_->services, 0); }

Result<VerifyResult> Database::Verify(const VerifyRequest& request) {
  return kb::app::Verify(*rep_->services, request);
}

const char* Version() { return KBINDEX_VERSION; }

}  // namespace kbindex

namespace kb {

app::Services& DatabaseAccess::ServicesOf(kbindex::Database& db) { return *db.rep_->services; }

watch::FolderWatch* DatabaseAccess::WatchOf(kbindex::Database& db) {
  std::lock_guard lock(db.rep_->watch_mu);
  return db.rep_->watch.get();
}

std::unique_ptr<kbindex::Database> DatabaseAccess::Wrap(std::unique_ptr<app::Services> services) {
  auto rep = std::make_unique<kbindex::Database::Rep>();
  rep->services = std::move(services);
  return std::unique_ptr<kbindex::Database>(new kbindex::Database(std::move(rep)));
}

}  // namespace kb
