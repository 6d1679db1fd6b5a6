#include "util/http_client.h"

#include <httplib.h>

#include <signal.h>

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>

namespace kb {

HttpClient::HttpClient(HttpOptions options, std::string origin, std::string prefix)
    : options_(std::move(options)), origin_(std::move(origin)), prefix_(std::move(prefix)) {}

HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::Create(const HttpOptions& options) {
  // A server may answer (413, 5xx) and close while a large body is still being written; the
  // write must fail with EPIPE, not kill the process with SIGPIPE.
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { ::signal(SIGPIPE, SIG_IGN); });
  const std::string& url = options.base_url;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    return Status::InvalidArgument(options.service + " URL must look like http://host:port (got '" +
                                   url + "')");
  }
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    return Status::InvalidArgument(options.service + " URL must use http or https (got '" + url + "')");
  }
  const auto path_start = url.find('/', scheme_end + 3);
  std::string origin = path_start == std::string::npos ? url : url.substr(0, path_start);
  std::string prefix = path_start == std::string::npos ? "" : url.substr(path_start);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (origin.size() <= scheme_end + 3) {
    return Status::InvalidArgument(options.service + " URL has no host: '" + url + "'");
  }
  {
    httplib::Client probe(origin);
    if (!probe.is_valid()) return Status::InvalidArgument("invalid " + options.service + " URL '" + url + "'");
  }
  return std::unique_ptr<HttpClient>(new HttpClient(options, origin, prefix));
}

std::unique_ptr<httplib::Client> HttpClient::Acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  auto c = std::make_unique<httplib::Client>(origin_);
  const auto ms = [](int v) { return std::chrono::milliseconds(v); };
  c->set_connection_timeout(ms(options_.connect_timeout_ms));
  c->set_read_timeout(ms(options_.timeout_ms));
  c->set_write_timeout(ms(options_.timeout_ms));
  c->set_keep_alive(true);
  // httplib writes a request's headers and body separately: with Nagle's algorithm the body
  // waits for the server's delayed ACK, 40 ms on every query to a keep-alive connection.
  c->set_tcp_nodelay(true);
  httplib::Headers headers;
  for (const auto& [k, v] : options_.headers) headers.emplace(k, v);
  c->set_default_headers(headers);
  return c;
}

void HttpClient::Release(std::unique_ptr<httplib::Client> client) {
  std::lock_guard lock(mu_);
  if (idle_.size() < 8) idle_.push_back(std::move(client));
}

Result<HttpResponse> HttpClient::Send(Method method, const std::string& path, const std::string* body) {
  auto client = Acquire();
  const std::string full = prefix_ + path;
  const auto start = std::chrono::steady_clock::now();
  auto stream_body = [body](size_t offset, size_t length, httplib::DataSink& sink) {
    return sink.write(body->data() + offset, length);
  };
  // A POST body is streamed from our buffer: a batch can be tens of MB, and Post(path, body)
  // would copy it.
  httplib::Result res = method == Method::kGet  ? client->Get(full)
                        : method == Method::kPost ? client->Post(full, body->size(), stream_body, "application/json")
                                                  : client->Delete(full);
  if (!res) {
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - start)
                             .count();
    const httplib::Error err = res.error();
    const std::string where = options_.service + " at " + origin_ + prefix_;
    // The broken connection is dropped rather than returned to the pool.
    if (err == httplib::Error::ConnectionTimeout) {
      return Status::Timeout(where + ": no connection within " +
                             std::to_string(options_.connect_timeout_ms) + " ms");
    }
    if ((err == httplib::Error::Read || err == httplib::Error::Write) &&
        elapsed + 50 >= options_.timeout_ms) {
      return Status::Timeout(where + ": no answer within " + std::to_string(options_.timeout_ms) +
                             " ms");
    }
    if (err == httplib::Error::Connection) {
      return Status::Unavailable(where + " is not reachable (connection refused or no route)");
    }
    return Status::Unavailable(where + ": " + httplib::to_string(err) +
                               " (connection closed before a complete reply)");
  }
  HttpResponse out;
  out.status = res->status;
  out.body = std::move(res->body);
  Release(std::move(client));
  return out;
}

Result<HttpResponse> HttpClient::Get(const std::string& path) { return Send(Method::kGet, path, nullptr); }
Result<HttpResponse> HttpClient::Post(const std::string& path, const std::string& json_body) {
  return Send(Method::kPost, path, &json_body);
}
Result<HttpResponse> HttpClient::Delete(const std::string& path) {
  return Send(Method::kDelete, path, nullptr);
}

Status HttpStatusError(const std::string& service, const std::string& what, const HttpResponse& r) {
  std::string detail;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    if (j.contains("message") && j["message"].is_string()) detail = j["message"].get<std::string>();
    if (j.contains("error")) {
      const std::string kind = j["error"].is_string() ? j["error"].get<std::string>() : j["error"].dump();
      detail = detail.empty() ? kind : kind + ": " + detail;
    }
  }
  if (detail.empty()) detail = r.body.substr(0, 300);
  if (detail.empty()) detail = "(empty body)";
  const std::string msg =
      service + " " + what + " failed with HTTP " + std::to_string(r.status) + ": " + detail;
  if (r.status == 404) return Status::NotFound(msg);
  if (r.status == 408 || r.status == 429 || r.status >= 500) {
    return Status::RemoteTransient(msg, r.status);
  }
  if (r.status >= 400) return Status::RemotePermanent(msg, r.status);
  return Status::RemoteTransient(msg + " (unexpected status)", r.status);
}

void AppendJsonString(std::string& out, std::string_view s) {
  static const char* kHex = "0123456789abcdef";
  out.push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

}  // namespace kb
