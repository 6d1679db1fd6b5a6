// HttpClient: a small JSON-over-HTTP client (cpp-httplib underneath) shared by the Chroma client
// and the HTTP embedders. Thread-safe: each call borrows a keep-alive connection from a pool.
//
// Transport failures come back as Status: Unavailable (refused, reset, DNS) or Timeout (no
// answer within the timeout). Any HTTP answer, 2xx or not, comes back as an HttpResponse;
// HttpStatusError() turns a non-2xx one into a typed Status with the server's message.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "util/status.h"

namespace httplib {
class Client;
}

namespace kb {

struct HttpOptions {
  std::string base_url;  // scheme://host:port[/prefix]
  std::string service = "server";  // named in error messages, e.g. "Chroma"
  int connect_timeout_ms = 3'000;
  int timeout_ms = 60'000;  // for each read/write on the socket
  std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  bool ok() const { return status >= 200 && status < 300; }
};

class HttpClient {
 public:
  // InvalidArgument for a malformed URL. The first call sets SIGPIPE to ignored for the
  // process (a peer closing mid-request must be an error, not a crash).
  static Result<std::unique_ptr<HttpClient>> Create(const HttpOptions& options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  Result<HttpResponse> Get(const std::string& path);
  Result<HttpResponse> Post(const std::string& path, const std::string& json_body);
  Result<HttpResponse> Delete(const std::string& path);

  const HttpOptions& options() const { return options_; }

 private:
  explicit HttpClient(HttpOptions options, std::string origin, std::string prefix);
  enum class Method { kGet, kPost, kDelete };
  Result<HttpResponse> Send(Method method, const std::string& path, const std::string* body);
  std::unique_ptr<httplib::Client> Acquire();
  void Release(std::unique_ptr<httplib::Client> client);

  HttpOptions options_;
  std::string origin_;  // scheme://host:port
  std::string prefix_;  // path prefix without trailing '/'
  std::mutex mu_;
  std::vector<std::unique_ptr<httplib::Client>> idle_;
};

// Typed Status for a non-2xx response: 408/429/5xx and garbled replies are transient
// (RemoteTransient), 404 is NotFound, other 4xx are RemotePermanent. The message carries the
// server's own explanation ({"error","message"} JSON or plain text).
Status HttpStatusError(const std::string& service, const std::string& what, const HttpResponse& r);

// Appends `s` to `out` as a JSON string literal (quotes included).
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace kb
