#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include "cli/cli.h"

namespace kb::cli {

std::unique_ptr<kbindex::Database> OpenDatabase(const Globals& g) {
  auto db = kbindex::Database::Open(g.options);
  if (!db.ok()) {
    Fail(db.status());
    return nullptr;
  }
  return std::move(db).value();
}

std::unique_ptr<kbindex::Database> OpenServingDatabase(Globals& g) {
  if (g.options.search_mmap_bytes == 0) g.options.search_mmap_bytes = int64_t{2} << 30;
  return OpenDatabase(g);
}

int Fail(const kbindex::Status& status) {
  std::fprintf(stderr, "kbindex: %s\n", Printable(status.message()).c_str());
  return kExitFailure;
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

int ReportSync(const Globals& g, const kbindex::SyncSummary& r, const char* what) {
  if (!g.json && !g.quiet) {
    std::printf("%s: %lld synced, %lld failed, %lld deleted from Chroma (%lld chunks in %lld batches)%s\n",
                what, static_cast<long long>(r.synced), static_cast<long long>(r.failed),
                static_cast<long long>(r.deleted), static_cast<long long>(r.chunks),
                static_cast<long long>(r.batches), r.stopped ? " - stopped early" : "");
    if (!r.error.ok()) std::printf("  first error: %s\n", Printable(r.error.message()).c_str());
    if (r.failed > 0) {
      std::printf("  failed documents stay in SQLite and are retried by `kbindex sync` or the worker; "
                  "see `kbindex failures`\n");
    }
  }
  return (r.failed > 0 || (!r.error.ok() && r.synced == 0 && r.attempted == 0)) ? kExitFailure : kExitOk;
}

void PrintJson(const std::string& serialised) {
  std::fwrite(serialised.data(), 1, serialised.size(), stdout);
  std::fputc('\n', stdout);
}

std::string Printable(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    // C0 controls, DEL, and the C1 controls U+0080..U+009F (UTF-8 C2 80..9F).
    const bool c1 = c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(text[i + 1]) <= 0x9F;
    if (c < 0x20 || c == 0x7F || c1) {
      char buf[8];
      const unsigned v = c1 ? static_cast<unsigned char>(text[++i]) : c;
      std::snprintf(buf, sizeof buf, "\\x%02x", v);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace kb::cli
