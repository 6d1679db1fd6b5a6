#include "support/postgres_server.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "vector/local_chroma.h"

namespace kb::test {
namespace {

namespace fs = std::filesystem;

// The newest /usr/lib/postgresql/<version>/bin holding initdb (Debian puts it off the PATH).
std::string FindBinDir() {
  std::string best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    const int v = std::atoi(name.c_str());
    if (v > best_version && fs::exists(e.path() / "bin/initdb")) {
      best_version = v;
      best = (e.path() / "bin").string();
    }
  }
  return best;
}

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

// Forks and execs `argv` with stdout/stderr to `log`; `pdeathsig`, when set, is the signal the
// child gets when this thread dies (set after any change of user, which would clear it).
pid_t SpawnLogged(const std::vector<std::string>& argv, const std::string& log, int pdeathsig) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  if (pdeathsig) {
    ::prctl(PR_SET_PDEATHSIG, pdeathsig);
    if (::getppid() != parent) ::_exit(1);
  }
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0666);
  const int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd >= 0) ::dup2(null_fd, 0);
  if (fd >= 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
  }
  for (int i = 3; i < 1024; ++i) ::close(i);
  ::execvp(args[0], args.data());
  ::_exit(127);
}

int WaitExit(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

Result<std::unique_ptr<PostgresServer>> PostgresServer::Start(const PostgresServerOptions& options) {
  std::unique_ptr<PostgresServer> s(new PostgresServer());
  s->fast_ = options.fast;
  s->bin_ = FindBinDir();
  if (s->bin_.empty()) {
    return Status::NotFound("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run tools/setup, "
                            "which installs the Debian package postgresql");
  }
  uid_t uid = ::geteuid();
  gid_t gid = ::getegid();
  if (uid == 0) {
    // initdb and postgres refuse to run as root: the package's system user runs them.
    const passwd* pw = ::getpwnam("postgres");
    if (!pw) return Status::NotFound("running as root, but there is no 'postgres' user to run PostgreSQL as");
    s->user_ = "postgres";
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }
  char tmpl[] = "/tmp/kbpg-XXXXXX";  // short: the socket path must fit in 107 bytes
  if (!::mkdtemp(tmpl)) return Status::IOError(std::string("mkdtemp: ") + std::strerror(errno));
  s->dir_ = tmpl;
  if (::chown(s->dir_.c_str(), uid, gid) != 0) return Status::IOError(std::string("chown: ") + std::strerror(errno));

  // The guardian: removes the folder when we die without cleaning up (SIGKILL). The server
  // itself is tied to us by its own parent-death signal.
  s->guardian_ = SpawnLogged({"/bin/sh", "-c",
                              "trap 'kill $s 2>/dev/null; sleep 1; rm -rf \"$0\"; exit 0' TERM; "
                              "sleep 1000000 & s=$!; wait $s",
                              s->dir_},
                             "/dev/null", SIGTERM);

  std::vector<std::string> initdb;
  if (!s->user_.empty()) {
    initdb = {"setpriv", "--reuid=" + s->user_, "--regid=" + s->user_, "--init-groups", "--"};
  }
  initdb.insert(initdb.end(), {s->bin_ + "/initdb", "-D", s->dir_ + "/data", "-U", "kb", "-E", "UTF8", "--locale=C",
                               "--no-sync", "--auth-local=trust"});
  if (!options.password.empty()) {
    const std::string pwfile = s->dir_ + "/pw";
    std::ofstream(pwfile) << options.password << "\n";
    (void)::chown(pwfile.c_str(), uid, gid);
    initdb.push_back("--auth-host=scram-sha-256");
    initdb.push_back("--pwfile=" + pwfile);
  } else {
    initdb.push_back("--auth-host=trust");
  }
  const std::string log = s->dir_ + "/initdb.log";
  const int code = WaitExit(SpawnLogged(initdb, log, 0));
  fs::remove(s->dir_ + "/pw");
  if (code != 0) return Status::IOError("initdb failed (exit " + std::to_string(code) + "): " + Tail(log));
  s->port_ = LocalChroma::FreePort();
  if (s->port_ == 0) return Status::IOError("no free loopback port for PostgreSQL");
  KB_RETURN_IF_ERROR(s->Launch());
  return s;
}

Status PostgresServer::Launch() {
  std::vector<std::string> argv;
  if (!user_.empty()) {
    argv = {"setpriv", "--reuid=" + user_, "--regid=" + user_, "--init-groups", "--pdeathsig", "SIGQUIT", "--"};
  }
  argv.insert(argv.end(), {bin_ + "/postgres", "-D", dir_ + "/data", "-p", std::to_string(port_), "-k", dir_, "-c",
                           "listen_addresses=127.0.0.1", "-c", "unix_socket_permissions=0777", "-c",
                           "max_connections=40"});
  if (fast_) {
    // Not synchronous_commit=off: a commit must reach the kernel before it returns, or a test
    // that kills the server (a crash, not a power cut) would lose what it had just committed.
    for (const char* c : {"fsync=off", "full_page_writes=off"}) {
      argv.push_back("-c");
      argv.push_back(c);
    }
  }
  pid_ = SpawnLogged(argv, dir_ + "/server.log", user_.empty() ? SIGQUIT : 0);
  return WaitReady(30'000);
}

Status PostgresServer::WaitReady(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  const std::string conninfo = Conninfo();
  while (std::chrono::steady_clock::now() < deadline) {
    if (PQping(conninfo.c_str()) == PQPING_OK) return Status::Ok();
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Status::Unavailable("PostgreSQL exited at start: " + Tail(dir_ + "/server.log"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::Timeout("PostgreSQL did not answer within " + std::to_string(timeout_ms) +
                         " ms: " + Tail(dir_ + "/server.log"));
}

std::string PostgresServer::Conninfo(const std::string& db) const {
  return "host=" + dir_ + " port=" + std::to_string(port_) + " dbname=" + db + " user=kb";
}

std::string PostgresServer::TcpConninfo(const std::string& db) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=" + db + " user=kb";
}

bool PostgresServer::Running() const { return pid_ > 0 && ::kill(pid_, 0) == 0; }

void PostgresServer::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void PostgresServer::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGINT);  // fast shutdown: disconnects clients, then exits
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill();
}

Status PostgresServer::Restart() {
  Stop();
  // After a kill the old server's backends notice their postmaster is gone and exit; until
  // they have, a new postmaster refuses to start on the same folder: try again for a while.
  Status st;
  for (int attempt = 0; attempt < 20; ++attempt) {
    st = Launch();
    if (st.ok()) return st;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return st;
}

PostgresServer::~PostgresServer() {
  Stop();
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  if (guardian_ > 0) {
    ::kill(guardian_, SIGKILL);
    ::waitpid(guardian_, nullptr, 0);
  }
}

Status PostgresServer::Exec(const std::string& sql, const std::string& db) const {
  PGconn* c = PQconnectdb(Conninfo(db).c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string m = PQerrorMessage(c);
    PQfinish(c);
    return Status::Unavailable("connecting to the test PostgreSQL: " + m);
  }
  PGresult* r = PQexec(c, sql.c_str());
  const auto rs = PQresultStatus(r);
  Status st = (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK)
                  ? Status::Ok()
                  : Status::Internal(std::string("SQL failed: ") + PQresultErrorMessage(r));
  PQclear(r);
  PQfinish(c);
  return st;
}

Result<std::vector<std::vector<std::optional<std::string>>>> PostgresServer::Query(const std::string& sql,
                                                                                   const std::string& db) const {
  PGconn* c = PQconnectdb(Conninfo(db).c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string m = PQerrorMessage(c);
    PQfinish(c);
    return Status::Unavailable("connecting to the test PostgreSQL: " + m);
  }
  PGresult* r = PQexec(c, sql.c_str());
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    Status st = Status::Internal(std::string("SQL failed: ") + PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    return st;
  }
  std::vector<std::vector<std::optional<std::string>>> rows;
  for (int i = 0; i < PQntuples(r); ++i) {
    std::vector<std::optional<std::string>> row;
    for (int j = 0; j < PQnfields(r); ++j) {
      if (PQgetisnull(r, i, j)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(r, i, j), static_cast<size_t>(PQgetlength(r, i, j))));
      }
    }
    rows.push_back(std::move(row));
  }
  PQclear(r);
  PQfinish(c);
  return rows;
}

}  // namespace kb::test
