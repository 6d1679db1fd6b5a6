#include "support/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace kb::test {
namespace {

bool WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Reads one HTTP message (headers, then a Content-Length or chunked body, or until EOF when
// `until_eof_ok`). Returns false on EOF before a complete message.
bool ReadMessage(int fd, std::string& buffer, std::string* message, bool until_eof_ok) {
  auto fill = [&]() -> bool {
    char tmp[65536];
    const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buffer.append(tmp, static_cast<size_t>(n));
    return true;
  };
  size_t header_end;
  while ((header_end = buffer.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return false;
  }
  std::string headers = buffer.substr(0, header_end + 4);
  std::string lower = headers;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  size_t body_len = 0;
  bool chunked = lower.find("transfer-encoding: chunked") != std::string::npos;
  const auto cl = lower.find("content-length:");
  if (cl != std::string::npos) body_len = std::stoul(lower.substr(cl + 15));
  if (chunked) {
    size_t end;
    while ((end = buffer.find("\r\n0\r\n\r\n", header_end)) == std::string::npos &&
           buffer.compare(header_end + 4, 5, "0\r\n\r\n") != 0) {
      if (!fill()) return false;
    }
    const size_t total = end == std::string::npos ? header_end + 9 : end + 7;
    *message = buffer.substr(0, total);
    buffer.erase(0, total);
    return true;
  }
  if (cl == std::string::npos && until_eof_ok && lower.rfind("http/", 0) == 0 &&
      lower.find("connection: close") != std::string::npos) {
    while (fill()) {
    }
    *message = buffer;
    buffer.clear();
    return true;
  }
  while (buffer.size() < header_end + 4 + body_len) {
    if (!fill()) return false;
  }
  *message = buffer.substr(0, header_end + 4 + body_len);
  buffer.erase(0, header_end + 4 + body_len);
  return true;
}

void ResetAndClose(int fd) {
  linger l{1, 0};  // RST instead of FIN
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

}  // namespace

FaultProxy::FaultProxy(int upstream_port) : upstream_port_(upstream_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0) {
    throw std::runtime_error("fault proxy: cannot listen");
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

FaultProxy::~FaultProxy() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
}

void FaultProxy::Inject(Fault fault, int count, const std::string& match, int delay_ms) {
  std::lock_guard lock(mu_);
  fault_ = fault;
  fault_count_ = count;
  fault_match_ = match;
  delay_ms_ = delay_ms;
}

void FaultProxy::Clear() { Inject(Fault::kNone, 0); }

int FaultProxy::Requests(const std::string& match) const {
  std::lock_guard lock(mu_);
  return static_cast<int>(std::count_if(request_lines_.begin(), request_lines_.end(), [&](const std::string& l) {
    return match.empty() || l.find(match) != std::string::npos;
  }));
}

FaultProxy::Fault FaultProxy::Decide(const std::string& request, int* delay_ms) {
  std::lock_guard lock(mu_);
  const std::string line = request.substr(0, request.find("\r\n"));
  request_lines_.push_back(line);
  if (fault_ == Fault::kNone || fault_count_ == 0) return Fault::kNone;
  if (fault_match_.rfind("body:", 0) == 0) {
    const auto body = request.find("\r\n\r\n");
    if (body == std::string::npos || request.find(fault_match_.substr(5), body) == std::string::npos) {
      return Fault::kNone;
    }
  } else if (!fault_match_.empty() && line.find(fault_match_) == std::string::npos) {
    return Fault::kNone;
  }
  if (fault_count_ > 0) --fault_count_;
  *delay_ms = delay_ms_;
  ++faults_applied_;
  return fault_;
}

void FaultProxy::AcceptLoop() {
  while (!stopping_) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    std::lock_guard lock(mu_);
    open_fds_.push_back(fd);
    workers_.emplace_back([this, fd] { Serve(fd); });
  }
}

void FaultProxy::Serve(int client) {
  std::string inbuf;
  bool closed = false;
  while (!stopping_) {
    std::string request;
    if (!ReadMessage(client, inbuf, &request, false)) break;
    int delay = 0;
    const Fault fault = Decide(request, &delay);
    if (fault == Fault::kReset) {
      ResetAndClose(client);
      closed = true;
      break;
    }
    if (fault == Fault::kReturn500) {
      const std::string body = R"({"error":"InjectedFault","message":"fault proxy: injected 500"})";
      WriteAll(client, "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
                       "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
      continue;
    }
    if (fault == Fault::kReturn400) {
      const std::string body = R"({"error":"InvalidArgumentError","message":"fault proxy: injected 400"})";
      WriteAll(client, "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                       "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
      continue;
    }
    if (fault == Fault::kBlackHole) {
      // Hold the connection open, answer nothing, until the client or the proxy gives up.
      pollfd p{client, POLLIN, 0};
      while (!stopping_) {
        if (::poll(&p, 1, 100) > 0) {
          char tmp[4096];
          if (::recv(client, tmp, sizeof tmp, 0) <= 0) break;
        }
      }
      break;
    }
    if (fault == Fault::kDelay) std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    // Forward on a fresh upstream connection.
    const int up = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(upstream_port_));
    if (::connect(up, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(up);
      ResetAndClose(client);  // upstream down: the client sees a dropped connection
      closed = true;
      break;
    }
    std::string upbuf, response;
    const bool relayed = WriteAll(up, request) && ReadMessage(up, upbuf, &response, true);
    ::close(up);
    if (!relayed || fault == Fault::kSwallowResponse) {
      ResetAndClose(client);
      closed = true;
      break;
    }
    if (!WriteAll(client, response)) break;
  }
  std::lock_guard lock(mu_);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), client), open_fds_.end());
  if (!closed) ::close(client);
}

}  // namespace kb::test
