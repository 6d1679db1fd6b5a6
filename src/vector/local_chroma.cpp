#include "vector/local_chroma.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

namespace kb {
namespace {

constexpr const char* kCli = "/node_modules/chromadb/dist/cli.mjs";

bool Exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

std::string ExeDir() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  buf[n] = '\0';
  return std::filesystem::path(buf).parent_path().string();
}

// The folder of the binary this code is in: libkbindex.so when linked into an application.
std::string ModuleDir() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&ModuleDir), &info) == 0 || info.dli_fname == nullptr) return "";
  std::error_code ec;
  const auto path = std::filesystem::canonical(info.dli_fname, ec);
  return ec ? "" : path.parent_path().string();
}

bool ProcessAlive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

// Holds an exclusive flock for its scope.
class FileLock {
 public:
  explicit FileLock(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  int fd_ = -1;
};

}  // namespace

bool ChromaHeartbeat(const std::string& url, int timeout_ms) {
  httplib::Client c(url);
  c.set_connection_timeout(std::chrono::milliseconds(timeout_ms));
  c.set_read_timeout(std::chrono::milliseconds(timeout_ms));
  auto r = c.Get("/api/v2/heartbeat");
  return r && r->status == 200;
}

int LocalChroma::FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    socklen_t len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::vector<std::string> LocalChroma::HomeCandidates(const std::string& configured) {
  std::vector<std::string> c;
  if (!configured.empty()) return {configured};
  // Install-relative: beside the kbindex binary, or beside libkbindex.so for an application
  // that links the library (wherever the prefix was moved to).
  const std::string exe = ExeDir();
  const std::string module = ModuleDir();
  if (!exe.empty()) c.push_back(exe + "/" KBINDEX_BIN_TO_CHROMA);
  if (!module.empty() && module != exe) c.push_back(module + "/" KBINDEX_LIB_TO_CHROMA);
  if (const char* env = std::getenv("KBINDEX_CHROMA_HOME"); env && *env) c.emplace_back(env);
  // A per-user install (kbindex-install-chroma without write access to the prefix).
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) {
    c.push_back(std::string(xdg) + "/kbindex/chroma");
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    c.push_back(std::string(home) + "/.local/share/kbindex/chroma");
  }
  // A build tree inside a checkout (build/kbindex, build/tests/..., build/tools/...).
  for (const std::string& dir : {exe, module}) {
    if (dir.empty()) continue;
    for (const char* up : {"/..", "/../..", "/../../.."}) c.push_back(dir + up + "/.chroma");
  }
  return c;
}

Result<std::string> LocalChroma::FindHome(const std::string& configured) {
  const std::vector<std::string> candidates = HomeCandidates(configured);
  for (const auto& c : candidates) {
    if (Exists(c + kCli)) return std::filesystem::weakly_canonical(c).string();
  }
  if (!configured.empty()) {
    return Status::NotFound("no Chroma server in " + configured + " (chroma_home): it must hold node_modules/chromadb");
  }
  std::string looked = candidates.size() > 1 ? candidates[0] : "";
  // The installer is named by its path when it is installed beside this binary (it installs
  // next to the prefix it belongs to), else by name.
  std::string installer = "kbindex-install-chroma";
  if (const std::string beside = ExeDir() + "/" + installer; !ExeDir().empty() && Exists(beside)) {
    installer = std::filesystem::weakly_canonical(beside).string();
  }
  return Status::NotFound(
      "the managed Chroma server is not installed (looked in " + looked +
      ", $KBINDEX_CHROMA_HOME and ~/.local/share/kbindex/chroma). Install the pinned server with `" + installer +
      "` (needs Node.js and npm), or from a kbindex checkout with `tools/setup --prefix PREFIX`; or set "
      "KBINDEX_CHROMA_HOME to a folder holding node_modules/chromadb; or use a running server: --chroma-url URL");
}

Result<std::unique_ptr<LocalChroma>> LocalChroma::Start(const LocalChromaOptions& options) {
  KB_ASSIGN_OR_RETURN(std::string home, FindHome(options.chroma_home));
  // The data folder is the user's alone (Chroma 1.0 has no access control of its own).
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) return Status::IOError("cannot create Chroma data folder " + options.data_dir + ": " + ec.message());
  ::chmod(options.data_dir.c_str(), 0700);
  std::unique_ptr<LocalChroma> lc(new LocalChroma(options));
  lc->cli_path_ = home + kCli;
  const std::string state = options.data_dir + "/kbindex-server.json";
  FileLock start_lock(options.data_dir + "/kbindex-start.lock");
  if (options.shared && Exists(state)) {
    std::ifstream in(state);
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (!j.is_discarded() && j.contains("pid") && j.contains("port")) {
      const pid_t pid = j["pid"].get<pid_t>();
      const int port = j["port"].get<int>();
      if (ProcessAlive(pid) && ChromaHeartbeat("http://127.0.0.1:" + std::to_string(port), 2000)) {
        lc->pid_ = pid;
        lc->port_ = port;
        lc->TakeUserLock();
        spdlog::debug("reusing local Chroma on port {} (pid {})", port, pid);
        return lc;
      }
      if (ProcessAlive(pid)) ::kill(pid, SIGKILL);  // there but not answering: replace it
    }
  }
  lc->port_ = options.port ? options.port : FreePort();
  if (lc->port_ == 0) return Status::IOError("no free loopback port for Chroma");
  KB_RETURN_IF_ERROR(lc->Spawn());
  Status ready = lc->WaitReady(options.startup_timeout_ms);
  if (!ready.ok()) {
    lc->Kill();
    return ready;
  }
  if (options.shared) {
    std::ofstream out(state + ".tmp");
    out << nlohmann::json{{"pid", lc->pid_}, {"port", lc->port_}}.dump();
    out.close();
    std::filesystem::rename(state + ".tmp", state, ec);
  }
  lc->TakeUserLock();
  return lc;
}

void LocalChroma::TakeUserLock() {
  if (!options_.shared) return;
  users_fd_ = ::open((options_.data_dir + "/kbindex-users.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (users_fd_ >= 0) ::flock(users_fd_, LOCK_SH);
}

Status LocalChroma::Spawn() {
  const std::string log = options_.data_dir + "/server.log";
  const std::string port = std::to_string(port_);
  const pid_t pid = ::fork();
  if (pid < 0) return Status::IOError(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    // A session of its own: Ctrl-C at a terminal reaches kbindex only (which stops the server
    // in order), and a shared server outlives the terminal. It also makes the server its own
    // scheduling group where the kernel groups by session (autogroup): under load Chroma keeps
    // its share of the CPU. In kbindex's session instead, keyword p95 fell 10-14 -> 4-6 ms
    // but hybrid p95 rose to 34-41 ms and a quarter fewer searches were answered: each query
    // hands work between Chroma's threads, and every hand-off queued behind kbindex's
    // (tools/bench --api at 100,000 notes; README, design notes).
    ::setsid();
    // SCHED_BATCH: the server keeps its full share of the CPU but does not preempt a running
    // thread when it wakes. Its own threads hand work to each other on every query and every
    // write; under the normal policy each hand-off could push a kbindex search off the CPU,
    // which is where the keyword tail under load came from (a read of 0.7 ms CPU took 5.7 ms
    // at p95). Unprivileged, and inherited by every thread the server starts. Measured with
    // tools/bench --api at 100,000 notes: see the README's design notes.
    const sched_param batch{};
    (void)::sched_setscheduler(0, SCHED_BATCH, &batch);
    // A private server (tests, benchmarks) dies with its owner even if the owner is killed;
    // a shared one outlives a crash and is adopted by the next kbindex run.
    if (!options_.shared) ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    ::umask(077);  // everything the server writes is private to the user
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    for (int i = 3; i < 1024; ++i) ::close(i);  // no inherited locks or database handles
    ::execlp("node", "node", cli_path_.c_str(), "run", "--path", options_.data_dir.c_str(), "--port",
             port.c_str(), "--host", "127.0.0.1", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  pid_ = pid;
  owner_ = true;
  return Status::Ok();
}

Status LocalChroma::WaitReady(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ChromaHeartbeat(url(), 500)) return Status::Ok();
    if (owner_) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return Status::Unavailable("the local Chroma server exited at start (exit " +
                                   std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                                   "); see " + options_.data_dir + "/server.log" +
                                   (WIFEXITED(status) && WEXITSTATUS(status) == 127
                                        ? " (is Node.js installed? run tools/setup)"
                                        : ""));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::Timeout("the local Chroma server did not answer within " +
                         std::to_string(timeout_ms) + " ms; see " + options_.data_dir + "/server.log");
}

bool LocalChroma::Running() const { return ProcessAlive(pid_); }

void LocalChroma::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  if (owner_) ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void LocalChroma::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (owner_) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
    } else if (!ProcessAlive(pid_)) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill();
}

Status LocalChroma::Restart() {
  Stop();
  KB_RETURN_IF_ERROR(Spawn());
  return WaitReady(options_.startup_timeout_ms);
}

LocalChroma::~LocalChroma() {
  if (!options_.shared) {
    Stop();
    return;
  }
  FileLock start_lock(options_.data_dir + "/kbindex-start.lock");
  bool last = true;
  if (users_fd_ >= 0) {
    // Converting our shared lock to exclusive succeeds only if nobody else holds one.
    last = ::flock(users_fd_, LOCK_EX | LOCK_NB) == 0;
  }
  if (last) {
    Stop();
    std::error_code ec;
    std::filesystem::remove(options_.data_dir + "/kbindex-server.json", ec);
  }
  if (users_fd_ >= 0) ::close(users_fd_);
}

}  // namespace kb
