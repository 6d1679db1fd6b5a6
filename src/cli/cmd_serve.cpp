#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <future>

#include "api/api_server.h"
#include "api/token.h"
#include "cli/cli.h"
#include "lib/database_internal.h"
#include "mcp/http_transport.h"
#include "mcp/tools.h"
#include "worker/signals.h"

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
  auto db = OpenServingDatabase(g);
  if (!db) return kExitFailure;
  app::Services& services = DatabaseAccess::ServicesOf(*db);

  const std::string token_file =
      args.token_file.empty() ? DefaultTokenFile(db->options().db_path) : args.token_file;
  std::string token;
  if (Status st = api::LoadOrCreateToken(token_file, &token); !st.ok()) return Fail(st);

  if (!args.no_worker) {
    kbindex::WorkerOptions wo;
    wo.interval_ms = 1000LL * (args.interval_s > 0 ? args.interval_s : g.options.worker_interval_s);
    if (Status st = db->StartWorker(wo); !st.ok()) {
      if (st.code() == Status::Code::kConflict) return Fail(st);
      // Without Chroma the API still accepts notes (pending) and answers keyword searches.
      spdlog::warn("serving without the retry worker (Chroma unavailable): {}", st.message());
    }
  }

  api::ApiServerOptions so;
  so.host = args.host.empty() ? g.options.listen_host : args.host;
  so.port = args.port >= 0 ? args.port : g.options.listen_port;
  so.token = token;
  so.cors_origins = args.cors_origins.empty() ? g.options.cors_origins : args.cors_origins;
  so.folders = args.folders.empty() ? g.options.folders : args.folders;
  api::ApiServer server(services, so);
  // MCP over Streamable HTTP at /mcp, behind the same guard.
  const mcp::Catalog catalog = mcp::MakeCatalog(services);
  mcp::HttpTransport mcp_http(catalog);
  mcp_http.AddRoutes(server.router());
  if (Status st = server.Start(); !st.ok()) return Fail(st);
  if (args.watch) {
    kbindex::WatchRequest wr;
    wr.folders = so.folders;
    if (Status st = db->StartWatching(wr); !st.ok()) {
      server.Stop();
      db->StopWorker();
      return Fail(st);
    }
  }
  std::printf("kbindex API listening on http://%s:%d (MCP at /mcp; token in %s)\n", so.host.c_str(), server.port(),
              token_file.c_str());
  std::fflush(stdout);

  stop_requested.get_future().wait();
  spdlog::info("shutting down: finishing requests, the running job and the batch in hand");
  db->StopWatching();
  server.Stop();
  db->StopWorker();
  spdlog::info("stopped");
  return kExitOk;
}

}  // namespace kb::cli
