#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <future>

#include "api/api_documents.h"
#include "api/api_server.h"
#include "api/token.h"
#include "cli/cli.h"
#include "search/semantic_index.h"
#include "worker/retry_worker.h"
#include "worker/signals.h"
#include "worker/worker_lock.h"

namespace kb::cli {

std::string DefaultTokenFile(const std::string& db_path) {
  const auto parent = std::filesystem::path(db_path).parent_path();
  return (parent.empty() ? std::filesystem::path(".") : parent).string() + "/api-token";
}

int RunServe(Globals& g, const ServeArgs& args) {
  std::promise<void> stop_requested;
  std::atomic<bool> stopping{false};
  SignalWatcher signals([&](int) {
    if (!stopping.exchange(true)) stop_requested.set_value();
  });
  if (!g.quiet && g.verbose == 0) spdlog::set_level(spdlog::level::info);
  auto store = OpenStore(g);
  if (!store) return kExitFailure;
  if (Status st = store->EnsureApiSource(kApiSource); !st.ok()) return Fail(st);
  Result<std::unique_ptr<WorkerLock>> lock = std::unique_ptr<WorkerLock>();
  if (!args.no_worker) {
    lock = WorkerLock::Acquire(g.config.db_path);
    if (!lock.ok()) return Fail(lock.status());
  }

  const std::string token_file = args.token_file.empty() ? DefaultTokenFile(g.config.db_path) : args.token_file;
  std::string token;
  if (Status st = LoadOrCreateToken(token_file, &token); !st.ok()) return Fail(st);

  ApiContext ctx;
  ctx.store = store.get();
  ctx.config = g.config;
  if (!args.folders.empty()) ctx.config.folders = args.folders;
  // The vector side is optional: without it the API still accepts notes (pending) and answers
  // keyword searches, degraded.
  std::optional<VectorSide> side;
  std::unique_ptr<ChromaClient> probe;
  std::unique_ptr<SyncEngine> engine;
  std::unique_ptr<RetryWorker> worker;
  std::unique_ptr<SemanticIndex> semantic;
  if (auto opened = OpenVectorSide(g.config, *store); opened.ok()) {
    side = std::move(opened).value();
    ChromaOptions po = side->chroma->options();
    po.connect_timeout_ms = 500;
    po.timeout_ms = 1000;
    if (auto p = ChromaClient::Create(po); p.ok()) probe = std::move(p).value();
    engine = MakeSyncEngine(*side, *store, g.config);
    WorkerOptions wo;
    wo.interval_ms = 1000LL * (args.interval_s > 0 ? args.interval_s : g.config.worker_interval_s);
    wo.batch = g.config.worker_batch;
    if (!args.no_worker) worker = std::make_unique<RetryWorker>(*store, *engine, *side->chroma, wo);
    semantic = std::make_unique<SemanticIndex>(*store, *side->chroma, *side->embedder, g.config);
    ctx.vectors = side->chroma.get();
    ctx.probe = probe.get();
    ctx.engine = engine.get();
    ctx.worker = worker.get();
    ctx.semantic = semantic.get();
    ctx.chroma_url = side->url;
  } else {
    ctx.vector_error = opened.status().message();
    spdlog::warn("serving without Chroma (keyword search only): {}", ctx.vector_error);
  }

  ApiServerOptions so;
  so.host = args.host.empty() ? g.config.listen_host : args.host;
  so.port = args.port >= 0 ? args.port : g.config.listen_port;
  so.token = token;
  so.cors_origins = args.cors_origins.empty() ? g.config.cors_origins : args.cors_origins;
  ApiServer server(ctx, so);
  if (Status st = server.Start(); !st.ok()) return Fail(st);
  std::printf("kbindex API listening on http://%s:%d (token in %s)\n", so.host.c_str(), server.port(),
              token_file.c_str());
  std::fflush(stdout);
  if (worker) worker->Start();

  stop_requested.get_future().wait();
  spdlog::info("shutting down: finishing requests, the running job and the batch in hand");
  server.Stop();
  if (worker) worker->Stop();
  spdlog::info("stopped");
  return kExitOk;
}

}  // namespace kb::cli
