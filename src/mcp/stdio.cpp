#include "mcp/stdio.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace kb::mcp {

using json = nlohmann::json;

namespace {

// Writes whole lines, one writer at a time.
class LineWriter {
 public:
  explicit LineWriter(int fd) : fd_(fd) {}
  void Write(const json& message) {
    std::string line = message.dump(-1, ' ', false, json::error_handler_t::replace);
    line.push_back('\n');
    std::lock_guard lock(mu_);
    if (broken_) return;
    size_t done = 0;
    while (done < line.size()) {
      const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        spdlog::warn("mcp: the output is closed ({}): stopping", ::strerror(errno));
        broken_ = true;
        return;
      }
      done += static_cast<size_t>(n);
    }
  }
  bool broken() {
    std::lock_guard lock(mu_);
    return broken_;
  }

 private:
  const int fd_;
  std::mutex mu_;
  bool broken_ = false;
};

}  // namespace

int ServeStdio(Session& session, int in_fd, int out_fd, const std::atomic<bool>& stop, StdioOptions options) {
  LineWriter out(out_fd);
  const Session::Notify notify = [&out](const json& n) { out.Write(n); };

  std::mutex mu;
  std::condition_variable cv;
  std::deque<Message> queue;
  bool closing = false;
  std::atomic<bool> worker_done{false};
  std::thread worker([&] {
    for (;;) {
      Message m;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return closing || !queue.empty(); });
        if (queue.empty()) {
          worker_done = true;
          cv.notify_all();
          return;
        }
        m = std::move(queue.front());
        queue.pop_front();
      }
      if (auto reply = session.Handle(m, notify)) out.Write(*reply);
    }
  });

  auto handle_line = [&](std::string_view line) {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;  // blank line
    Message m = ParseMessage(line);
    if (!Session::IsLong(m)) {
      if (auto reply = session.Handle(m, notify)) out.Write(*reply);
      return;
    }
    std::unique_lock lock(mu);
    if (queue.size() >= options.max_queued) {
      lock.unlock();
      out.Write(MakeError(m.id, kInvalidRequest, "too many requests waiting (" +
                                                     std::to_string(options.max_queued) + "): try again when some answered"));
      return;
    }
    if (!session.Accept(m)) {
      lock.unlock();
      out.Write(Session::DuplicateId(m));
      return;
    }
    queue.push_back(std::move(m));
    cv.notify_one();
  };

  std::string buffer;
  bool discarding = false;  // inside a line over the limit
  char chunk[64 * 1024];
  for (;;) {
    if (stop.load() || out.broken()) break;
    pollfd p{in_fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, 200);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t n = ::read(in_fd, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;  // EOF: the client closed our input
    std::string_view data(chunk, static_cast<size_t>(n));
    while (!data.empty()) {
      const size_t nl = data.find('\n');
      const std::string_view part = data.substr(0, nl);
      if (!discarding) {
        if (buffer.size() + part.size() > options.max_line_bytes) {
          discarding = true;
          buffer.clear();
          buffer.shrink_to_fit();
        } else {
          buffer.append(part);
        }
      }
      if (nl == std::string_view::npos) break;
      data.remove_prefix(nl + 1);
      if (discarding) {
        discarding = false;
        spdlog::warn("mcp: a message over {} bytes was discarded", options.max_line_bytes);
        out.Write(MakeError(nullptr, kInvalidRequest,
                            "message too large: at most " + std::to_string(options.max_line_bytes) + " bytes per line"));
      } else {
        handle_line(buffer);
        buffer.clear();
        if (buffer.capacity() > 1024 * 1024) buffer.shrink_to_fit();
      }
    }
  }
  if (!buffer.empty() && !discarding) handle_line(buffer);  // a last line without its newline

  // Input ended: the calls it asked for are answered before returning. Stopped (a signal, or
  // nobody reads our output): they are cancelled.
  {
    std::lock_guard lock(mu);
    closing = true;
  }
  cv.notify_all();
  // (A stop may also come while the last calls are being answered: a client that closed our
  // input waits a little, then sends SIGTERM.)
  while (!worker_done.load()) {
    if (stop.load() || out.broken()) session.CancelAll();
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return worker_done.load(); });
  }
  worker.join();
  return out.broken() ? 1 : 0;
}

}  // namespace kb::mcp
