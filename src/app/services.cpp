#include "app/services.h"

#include "app/index_check.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "app/crash_points.h"
#include "app/source_poller.h"
#include "util/files.h"
#include "vector/chroma_client.h"
#include "vector/local_chroma.h"

namespace kb::app {
namespace {

// How long a failure to reach (or start) Chroma is remembered before trying again.
constexpr int64_t kVectorRetryMs = 5'000;

std::string LocalChromaDataDir(const std::string& db_path) { return db_path + ".chroma"; }

ChunkerOptions ChunkerOptionsFrom(const Config& c) {
  ChunkerOptions o;
  o.mode = c.chunking == "none" ? ChunkerOptions::Mode::kNone : ChunkerOptions::Mode::kMarkdown;
  o.max_bytes = static_cast<size_t>(c.chunk_max_bytes);
  o.max_chunks = static_cast<size_t>(c.max_chunks_per_document);
  return o;
}

}  // namespace

Result<std::unique_ptr<Services>> Services::Open(Config config, ServicesOptions options) {
  KB_RETURN_IF_ERROR(ValidateConfig(config));
  if (config.db_path.empty()) config.db_path = DefaultDataDir() + "/kbindex.db";
  if (config.db_path != ":memory:") {
    // Folders kbindex creates are private to the user (the database, the token and the managed
    // Chroma's data live there); folders that exist are left as they are.
    const auto parent = std::filesystem::path(config.db_path).parent_path();
    if (!parent.empty()) KB_RETURN_IF_ERROR(CreatePrivateDirectories(parent.string()));
  }
  StoreOptions so;
  so.busy_timeout_ms = config.busy_timeout_ms;
  so.reader_mmap_bytes = config.search_mmap_bytes;
  so.clock = options.clock;
  KB_ASSIGN_OR_RETURN(auto store, DocumentStore::Open(config.db_path, so));
  return std::unique_ptr<Services>(new Services(std::move(config), options, std::move(store)));
}

Services::Services(Config config, ServicesOptions options, std::unique_ptr<DocumentStore> store)
    : config_(std::move(config)),
      options_(options),
      clock_(options.clock ? options.clock : Clock::Real()),
      store_(std::move(store)) {}

Services::~Services() {
  StopWorker();
  // Members go in reverse order: semantic index and engine before the clients they use, the
  // clients before the local server, the server before the store.
  std::lock_guard lock(mu_);
  semantic_.reset();
  engine_.reset();
  probe_.reset();
  chroma_.reset();
  local_.reset();
}

bool Services::VectorsConfigured() const {
  return options_.vectors != nullptr || !config_.chroma_url.empty() ||
         LocalChroma::FindHome(config_.chroma_home).ok();
}

Result<VectorStore*> Services::Vectors() {
  std::lock_guard lock(mu_);
  return VectorsLocked();
}

Result<VectorStore*> Services::VectorsLocked() {
  if (options_.vectors) return options_.vectors;
  if (chroma_) return chroma_.get();
  if (!vector_error_.ok() && clock_->NowMs() < vector_retry_at_ms_) return vector_error_;
  auto connect = [&]() -> Status {
    std::string url = config_.chroma_url;
    if (url.empty()) {
      if (config_.db_path == ":memory:") {
        return Status::InvalidArgument("an in-memory database needs a Chroma URL (--chroma-url)");
      }
      if (!local_) {
        LocalChromaOptions lo;
        lo.chroma_home = config_.chroma_home;
        lo.data_dir = LocalChromaDataDir(config_.db_path);
        auto local = LocalChroma::Start(lo);
        if (!local.ok()) return local.status().WithContext("starting the local Chroma server");
        local_ = std::move(local).value();
        spdlog::debug("local Chroma at {}", local_->url());
      }
      url = local_->url();
    }
    ChromaOptions co;
    co.url = url;
    co.tenant = config_.chroma_tenant;
    co.database = config_.chroma_database;
    co.token = config_.chroma_token;
    co.connect_timeout_ms = config_.chroma_connect_timeout_ms;
    co.timeout_ms = config_.chroma_timeout_ms;
    KB_ASSIGN_OR_RETURN(auto client, ChromaClient::Create(co));
    ChromaOptions po = co;
    po.connect_timeout_ms = std::min(co.connect_timeout_ms, 500);
    po.timeout_ms = std::min(co.timeout_ms, 1000);
    KB_ASSIGN_OR_RETURN(auto probe, ChromaClient::Create(po));
    chroma_ = std::move(client);
    probe_ = std::move(probe);
    url_ = url;
    return Status::Ok();
  };
  Status st = connect();
  if (!st.ok()) {
    vector_error_ = st;
    vector_retry_at_ms_ = clock_->NowMs() + kVectorRetryMs;
    return st;
  }
  vector_error_ = Status::Ok();
  return chroma_.get();
}

VectorStore* Services::Probe() {
  std::lock_guard lock(mu_);
  if (options_.vectors) return options_.vectors;
  if (!VectorsLocked().ok()) return nullptr;
  return probe_.get();
}

std::string Services::VectorUrl() {
  std::lock_guard lock(mu_);
  return options_.vectors ? "(injected)" : url_;
}

EmbedderSpec Services::ConfiguredEmbedderSpec() const {
  EmbedderSpec s;
  s.kind = config_.embedder;
  s.model = config_.embed_model;
  s.url = config_.embed_url;
  s.api_key = config_.embed_api_key;
  s.dims = config_.embed_dims;
  s.batch = config_.embed_batch;
  s.timeout_ms = config_.embed_timeout_ms;
  return s;
}

Result<Embedder*> Services::AdoptEmbedder(const EmbedderSpec& spec) {
  KB_ASSIGN_OR_RETURN(auto made, MakeEmbedder(spec));
  std::lock_guard lock(embedders_mu_);
  auto [it, inserted] = embedders_.try_emplace(made->Id(), nullptr);
  if (inserted) it->second = std::move(made);
  return it->second.get();
}

Result<Embedder*> Services::EmbedderFor(const std::string& id) {
  {
    std::lock_guard lock(embedders_mu_);
    if (auto it = embedders_.find(id); it != embedders_.end()) return it->second.get();
  }
  KB_ASSIGN_OR_RETURN(auto made, MakeEmbedderForId(id, ConfiguredEmbedderSpec()));
  std::lock_guard lock(embedders_mu_);
  auto [it, inserted] = embedders_.try_emplace(id, nullptr);
  if (inserted) it->second = std::move(made);
  return it->second.get();
}

Result<Embedder*> Services::DefaultEmbedder() {
  if (!config_.embedder.empty()) return AdoptEmbedder(ConfiguredEmbedderSpec());
  KB_ASSIGN_OR_RETURN(CollectionMeta m, store_->ReadCollectionMeta());
  if (m.embedder) return EmbedderFor(*m.embedder);
  return AdoptEmbedder(ConfiguredEmbedderSpec());
}

Status Services::CheckEmbedderChoice() {
  if (config_.embedder.empty()) return Status::Ok();
  KB_ASSIGN_OR_RETURN(Embedder * configured, AdoptEmbedder(ConfiguredEmbedderSpec()));
  KB_ASSIGN_OR_RETURN(CollectionMeta m, store_->ReadCollectionMeta());
  if (m.embedder && *m.embedder != configured->Id()) {
    return Status::Conflict("this database holds vectors from embedder '" + *m.embedder + "', not '" +
                            configured->Id() +
                            "'; mixing them would corrupt semantic search. Use the same embedder, or "
                            "switch without downtime: kbindex reindex --embedder ...");
  }
  return Status::Ok();
}

SyncOptions Services::SyncOptionsFromConfig() const {
  SyncOptions o;
  // Fault-injection tests choose where the process dies (KBINDEX_CRASH_AT); a no-op otherwise.
  o.before_send = [](const std::vector<int64_t>&) { CrashPoints::Get().Reach("before-send"); };
  o.before_mark = [](const std::vector<int64_t>&) { CrashPoints::Get().Reach("before-mark"); };
  o.after_mark = [](const std::vector<int64_t>&) { CrashPoints::Get().Reach("after-mark"); };
  o.collection = config_.collection;
  o.store_text = config_.store_text;
  o.chunker = ChunkerOptionsFrom(config_);
  o.max_attempts = config_.max_attempts;
  o.backoff_base_ms = config_.backoff_base_ms;
  o.backoff_max_ms = config_.backoff_max_ms;
  return o;
}

Result<SyncEngine*> Services::Engine() {
  {
    std::lock_guard lock(mu_);
    if (engine_) return engine_.get();
  }
  KB_ASSIGN_OR_RETURN(Embedder * embedder, DefaultEmbedder());
  std::lock_guard lock(mu_);
  if (engine_) return engine_.get();
  KB_ASSIGN_OR_RETURN(VectorStore * vectors, VectorsLocked());
  SyncOptions o = SyncOptionsFromConfig();
  o.resolve_embedder = [this](const std::string& id) { return EmbedderFor(id); };
  engine_ = std::make_unique<SyncEngine>(*store_, *vectors, *embedder, std::move(o));
  return engine_.get();
}

Result<SemanticIndex*> Services::Semantic() {
  {
    std::lock_guard lock(mu_);
    if (semantic_) return semantic_.get();
  }
  KB_ASSIGN_OR_RETURN(Embedder * embedder, DefaultEmbedder());
  std::lock_guard lock(mu_);
  if (semantic_) return semantic_.get();
  KB_ASSIGN_OR_RETURN(VectorStore * vectors, VectorsLocked());
  semantic_ = std::make_unique<SemanticIndex>(
      *store_, *vectors, *embedder, [this](const std::string& id) { return EmbedderFor(id); },
      ChunkerOptionsFrom(config_), config_.collection);
  return semantic_.get();
}

Status Services::StartWorker(const WorkerOptions& options) {
  KB_ASSIGN_OR_RETURN(SyncEngine * engine, Engine());
  KB_ASSIGN_OR_RETURN(VectorStore * vectors, Vectors());
  std::lock_guard lock(mu_);
  if (worker_) return Status::Conflict("the worker is already running");
  KB_ASSIGN_OR_RETURN(worker_lock_, WorkerLock::Acquire(config_.db_path));
  WorkerOptions with_check = options;
  if (!with_check.after_pass) with_check.after_pass = [this](const SyncReport& r) { AfterWorkerPass(*this, r); };
  worker_ = std::make_unique<RetryWorker>(*store_, *engine, *vectors, with_check);
  worker_->Start();
  if (!config_.sources.empty()) {
    poller_ = std::make_unique<SourcePoller>(*this);
    poller_->Start();
  }
  return Status::Ok();
}

void Services::StopWorker() {
  std::unique_ptr<RetryWorker> worker;
  std::unique_ptr<WorkerLock> lock_file;
  std::unique_ptr<SourcePoller> poller;
  {
    std::lock_guard lock(mu_);
    worker = std::move(worker_);
    lock_file = std::move(worker_lock_);
    poller = std::move(poller_);
  }
  if (poller) poller->Stop();  // first: its page in hand may nudge the worker
  if (worker) worker->Stop();  // outside mu_: the batch in hand may need the store
}

std::optional<WorkerStatus> Services::WorkerState() {
  std::lock_guard lock(mu_);
  if (!worker_) return std::nullopt;
  return worker_->status();
}

void Services::NudgeWorker() {
  std::lock_guard lock(mu_);
  if (worker_) worker_->Trigger();
}

void Services::PollSourcesNow() {
  std::lock_guard lock(mu_);
  if (poller_) poller_->Trigger();
}

std::optional<kbindex::IndexCheck> Services::CachedIndexCheck() {
  std::lock_guard lock(mu_);
  return index_check_;
}

void Services::CacheIndexCheck(const kbindex::IndexCheck& check) {
  std::lock_guard lock(mu_);
  index_check_ = check;
}

Status Services::EnsureApiSource() {
  {
    std::lock_guard lock(mu_);
    if (api_source_) return Status::Ok();
  }
  KB_RETURN_IF_ERROR(store_->EnsureApiSource(kApiSource));
  std::lock_guard lock(mu_);
  api_source_ = true;
  return Status::Ok();
}

}  // namespace kb::app
