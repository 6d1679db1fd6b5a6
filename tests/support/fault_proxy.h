// FaultProxy: a small HTTP-aware TCP proxy on loopback that sits between kbindex and Chroma
// and breaks things on purpose (toxiproxy and tc netem are not available here).
//
// Every request is read whole (headers + Content-Length body) and forwarded on a fresh
// upstream connection; the response is read whole and relayed. A fault rule applies to the
// next `count` requests whose request line contains `match`:
//   kDelay            wait delay_ms, then forward
//   kReset            close the client connection with a TCP reset, forward nothing
//   kSwallowResponse  forward (the write is applied), then reset instead of replying
//   kReturn500        answer 500 with a JSON error, forward nothing
//   kReturn400        answer 400 with a JSON error (a permanent rejection), forward nothing
//   kBlackHole        accept the request and never answer (until the client gives up)
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kb::test {

class FaultProxy {
 public:
  enum class Fault { kNone, kDelay, kReset, kSwallowResponse, kReturn500, kReturn400, kBlackHole };

  explicit FaultProxy(int upstream_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // count < 0: every matching request until Clear().
  void Inject(Fault fault, int count = -1, const std::string& match = "", int delay_ms = 0);
  void Clear();
  // Requests seen (all, or those whose request line contains `match`).
  int Requests(const std::string& match = "") const;
  int FaultsApplied() const { return faults_applied_; }

 private:
  void AcceptLoop();
  void Serve(int client_fd);
  Fault Decide(const std::string& request, int* delay_ms);

  int upstream_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::thread> workers_;
  std::vector<int> open_fds_;
  std::vector<std::string> request_lines_;
  Fault fault_ = Fault::kNone;
  int fault_count_ = 0;
  std::string fault_match_;
  int delay_ms_ = 0;
  std::atomic<int> faults_applied_{0};
};

}  // namespace kb::test
