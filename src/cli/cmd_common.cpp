#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "cli/cli.h"

namespace kb::cli {

std::unique_ptr<DocumentStore> OpenStore(const Globals& g) {
  const std::string& path = g.config.db_path;
  if (path != ":memory:") {
    std::error_code ec;
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  }
  StoreOptions opt;
  opt.busy_timeout_ms = g.config.busy_timeout_ms;
  auto store = DocumentStore::Open(path, opt);
  if (!store.ok()) {
    Fail(store.status());
    return nullptr;
  }
  return std::move(store).value();
}

int Fail(const Status& status) {
  std::fprintf(stderr, "kbindex: %s\n", status.message().c_str());
  return status.code() == Status::Code::kInvalidArgument && status.message().empty() ? kExitUsage
                                                                                     : kExitFailure;
}

std::atomic<bool> g_stop{false};

namespace {
void OnStopSignal(int sig) {
  if (g_stop.exchange(true)) {
    ::signal(sig, SIG_DFL);
    ::raise(sig);
    return;
  }
  const char msg[] = "\nkbindex: stopping after the current batch (press Ctrl-C again to quit now)\n";
  (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
}
}  // namespace

void InstallStopHandler() {
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

int ReportSync(const Globals& g, const SyncReport& r, const char* what) {
  if (!g.json && !g.quiet) {
    std::printf("%s: %lld synced, %lld failed, %lld deleted from Chroma (%lld chunks in %lld batches)%s\n",
                what, static_cast<long long>(r.synced), static_cast<long long>(r.failed),
                static_cast<long long>(r.deleted), static_cast<long long>(r.chunks),
                static_cast<long long>(r.batches), r.stopped ? " - stopped early" : "");
    if (!r.first_error.empty()) std::printf("  first error: %s\n", r.first_error.c_str());
    if (r.failed > 0) {
      std::printf("  failed documents stay in SQLite and are retried by `kbindex sync` or the worker; "
                  "see `kbindex failures`\n");
    }
  }
  return (r.failed > 0 || (!r.first_error.empty() && r.synced == 0 && r.attempted == 0)) ? kExitFailure
                                                                                       : kExitOk;
}

void PrintJson(const std::string& serialised) {
  std::fwrite(serialised.data(), 1, serialised.size(), stdout);
  std::fputc('\n', stdout);
}

}  // namespace kb::cli
