// LocalChroma: the project-local Chroma server (npm `chromadb`, installed by `tools/chroma
// install`) run as a child process on a loopback port with its own data folder.
//
// kbindex uses it when no Chroma URL is configured, and the tests use it for a real server.
// Several kbindex processes on one data folder share one server: the first starts it and
// records {pid, port} in the folder; others reuse it while it answers; each holds a shared
// lock while using it, and whichever leaves last stops it. A server orphaned by a crash is
// adopted by the next process. The server runs in its own session, so Ctrl-C on kbindex lets
// kbindex finish its batch before the server is stopped.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "util/status.h"

namespace kb {

struct LocalChromaOptions {
  std::string chroma_home;  // folder holding node_modules/chromadb; empty: auto-detect
  std::string data_dir;     // server data; created if missing
  int port = 0;             // 0: a free loopback port
  int startup_timeout_ms = 60'000;
  bool shared = true;       // reuse a server already running on data_dir, stop when last out;
                            // false: a private server that dies with the process that started it
};

class LocalChroma {
 public:
  // Starts (or, when shared, reuses) the server and waits until its heartbeat answers.
  static Result<std::unique_ptr<LocalChroma>> Start(const LocalChromaOptions& options);
  // Stops the server if this was its last user.
  ~LocalChroma();
  LocalChroma(const LocalChroma&) = delete;
  LocalChroma& operator=(const LocalChroma&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& data_dir() const { return options_.data_dir; }

  // For tests: kill -9 the server (no cleanup), stop it gracefully, or start it again on the
  // same port and data folder.
  void Kill();
  void Stop();
  Status Restart();
  bool Running() const;

  // Where the pinned chroma npm package is installed, or NotFound saying what to run. Looks in
  // `configured` (only, when given), then install-relative (<prefix>/share/kbindex/chroma beside
  // the binary or libkbindex.so), then $KBINDEX_CHROMA_HOME, then a per-user install
  // ($XDG_DATA_HOME/kbindex/chroma), then a checkout's .chroma/ (build trees).
  static Result<std::string> FindHome(const std::string& configured);
  static std::vector<std::string> HomeCandidates(const std::string& configured);
  // A free TCP port on 127.0.0.1.
  static int FreePort();

 private:
  explicit LocalChroma(LocalChromaOptions options) : options_(std::move(options)) {}
  Status Spawn();
  Status WaitReady(int timeout_ms);
  void TakeUserLock();

  LocalChromaOptions options_;
  std::string cli_path_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool owner_ = false;      // we spawned this process (we can waitpid it)
  int users_fd_ = -1;
};

// True when GET url/api/v2/heartbeat answers 200 within timeout_ms.
bool ChromaHeartbeat(const std::string& url, int timeout_ms);

}  // namespace kb
