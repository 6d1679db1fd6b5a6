// A private PostgreSQL server for tests and the benchmark (Debian `postgresql`): initdb into a
// temporary folder, started on a free loopback port with its socket in that folder.
//
// initdb and postgres refuse to run as root: when the tests run as root, the server runs as the
// `postgres` system user the package creates (setpriv), in a folder owned by it. The server dies
// with the process that started it even when that process is killed (parent-death signal
// SIGQUIT: an immediate shutdown), and a small guardian process removes the folder then; a
// normal destruction stops the server and removes the folder itself.
//
// No gtest here (the benchmark uses it too): errors are Status values.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

namespace kb::test {

struct PostgresServerOptions {
  // The superuser "kb" needs this password over TCP (scram-sha-256); the socket stays trusted.
  // Empty: no password anywhere.
  std::string password;
  bool fast = true;  // fsync off: the data is throwaway
};

class PostgresServer {
 public:
  static Result<std::unique_ptr<PostgresServer>> Start(const PostgresServerOptions& options = {});
  ~PostgresServer();  // stops the server, removes the folder
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  // Over the socket in dir() (trusted): "host=<dir> port=<port> dbname=<db> user=kb".
  std::string Conninfo(const std::string& db = "postgres") const;
  // Over TCP on 127.0.0.1 (needs the password when one was set; it is not included).
  std::string TcpConninfo(const std::string& db = "postgres") const;

  // Runs SQL (several statements allowed) as the superuser, over the socket.
  Status Exec(const std::string& sql, const std::string& db = "postgres") const;
  // One query's rows, every value as text (nullopt for NULL).
  Result<std::vector<std::vector<std::optional<std::string>>>> Query(const std::string& sql,
                                                                     const std::string& db = "postgres") const;

  // The server dies at once (SIGKILL), like a crash; the folder stays (Restart() uses it).
  void Kill();
  // Stops the server (fast shutdown).
  void Stop();
  // Starts it again on the same port and folder and waits until it answers.
  Status Restart();
  bool Running() const;

 private:
  PostgresServer() = default;
  Status Launch();
  Status WaitReady(int timeout_ms);

  std::string bin_;   // folder of initdb and postgres
  std::string user_;  // run as this user ("" when not root)
  std::string dir_;
  int port_ = 0;
  bool fast_ = true;
  pid_t pid_ = -1;       // postgres
  pid_t guardian_ = -1;  // removes dir_ when we die
};

}  // namespace kb::test
