// MCP's transports without a client: stdio over pipes (fuzzer-style malformed input, oversized
// lines, only protocol on the output) and Streamable HTTP through the API's guard and router.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <future>
#include <thread>

#include "api/api_server.h"
#include "mcp/http_transport.h"
#include "mcp/stdio.h"
#include "mcp/tools.h"
#include "support/fake_vector_store.h"
#include "support/test_services.h"

namespace kb {
namespace {

using json = nlohmann::json;

constexpr const char* kToken = "0123456789abcdef0123456789abcdef";

// Runs ServeStdio over pipes with `input` (then, after `between` returns, `more`), returns
// every output line.
std::vector<std::string> ServeLines(mcp::Session& session, const std::string& input, mcp::StdioOptions o = {},
                                    const std::function<void()>& between = {}, const std::string& more = "") {
  int in[2], out[2];
  EXPECT_EQ(::pipe(in), 0);
  EXPECT_EQ(::pipe(out), 0);
  std::atomic<bool> stop{false};
  int rc = -1;
  std::thread server([&] { rc = mcp::ServeStdio(session, in[0], out[1], stop, o); ::close(out[1]); });
  std::thread writer([&] {
    auto write_all = [&](const std::string& data) {
      size_t done = 0;
      while (done < data.size()) {
        const ssize_t n = ::write(in[1], data.data() + done, data.size() - done);
        if (n <= 0) break;
        done += static_cast<size_t>(n);
      }
    };
    write_all(input);
    if (between) between();
    write_all(more);
    ::close(in[1]);
  });
  std::string output;
  char buf[65536];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) output.append(buf, static_cast<size_t>(n));
  writer.join();
  server.join();
  ::close(in[0]);
  ::close(out[0]);
  EXPECT_EQ(rc, 0);
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = output.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(output.substr(start, nl - start));
  }
  EXPECT_EQ(start, output.size()) << "output does not end with a newline";
  return lines;
}

class McpStdioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    services_ = test::OpenTestServices(fake_);
    ASSERT_TRUE(services_);
    catalog_ = std::make_unique<mcp::Catalog>(mcp::MakeCatalog(*services_));
  }
  test::FakeVectorStore fake_;
  std::unique_ptr<app::Services> services_;
  std::unique_ptr<mcp::Catalog> catalog_;
};

TEST_F(McpStdioTest, MalformedInputGetsTheRightErrorsAndServingGoesOn) {
  const std::string init = R"({"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25"}})";
  // id -> expected error code (0: a result)
  std::vector<std::pair<std::string, int>> cases;
  std::string input = init + "\n";
  auto add = [&](const std::string& line) { input += line + "\n"; };
  add(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  add("{this is not json");
  add("\x01\x02\xff\xfe garbage");
  add(R"([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"ping"}])");
  add("[]");
  add(R"("just a string")");
  add(R"({"jsonrpc":"2.0","id":10,"method":"tools/list","params":"oops"})");
  add(R"({"jsonrpc":"2.0","id":11,"method":"does/not/exist"})");
  add(R"({"jsonrpc":"2.0","id":12,"method":"notifications/cancelled","params":{"requestId":1}})");
  add(R"({"jsonrpc":"2.0","id":13,"method":"tools/call","params":{"name":"search","arguments":[1,2]}})");
  add(R"({"jsonrpc":"2.0","id":14,"method":"tools/call","params":{"name":"no_such_tool"}})");
  add(R"({"jsonrpc":"2.0","id":15,"method":"tools/call","params":{"name":"search","arguments":{"query":)" +
      json(std::string(2 * 1024 * 1024, 'z')).dump() + "}}}");
  add(R"({"jsonrpc":"2.0","id":16,"method":"tools/call","params":{"name":"get_note","arguments":{"id":12345}}})");
  add(R"({"jsonrpc":"2.0","id":17,"method":"resources/read","params":{"uri":"kbindex://note/nope"}})");
  add(std::string(200, '{') + std::string(200, '}'));
  add(R"({"jsonrpc":"2.0","id":18,"method":"tools/call","params":{"name":"put_note","arguments":{"id":"n","body":"hello"}}})");
  add(R"({"jsonrpc":"2.0","id":19,"method":"ping"})");
  add("");
  add("   ");
  add(R"({"jsonrpc":"2.0","id":20,"method":"tools/call","params":{"name":"get_note","arguments":{"id":"n"}}})");
  add(R"({"jsonrpc":"2.0","id":null,"method":"ping"})");
  add(R"({"jsonrpc":"2.0","method":"notifications/unknown","params":{"x":1}})");
  add(R"({"jsonrpc":"2.0","id":21,"result":{}})");  // a response to a request we never sent
  mcp::Session session(*catalog_);
  const auto lines = ServeLines(session, input);

  std::map<std::string, json> by_id;
  int null_id_errors = 0;
  std::map<int, int> null_codes;
  for (const auto& line : lines) {
    json j = json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not JSON on the output: " << line.substr(0, 200);
    ASSERT_EQ(j["jsonrpc"], "2.0") << line.substr(0, 200);
    ASSERT_TRUE(j.contains("id")) << line.substr(0, 200);
    ASSERT_NE(j.contains("result"), j.contains("error")) << line.substr(0, 200);
    if (j["id"].is_null()) {
      ++null_id_errors;
      ++null_codes[j["error"]["code"].get<int>()];
    } else {
      by_id[j["id"].dump()] = j;
    }
  }
  auto code = [&](const std::string& id) {
    const json& j = by_id.at(id);
    return j.contains("error") ? j["error"]["code"].get<int>() : 0;
  };
  EXPECT_EQ(code("\"init\""), 0);
  EXPECT_EQ(code("10"), mcp::kInvalidRequest);
  EXPECT_EQ(code("11"), mcp::kMethodNotFound);
  EXPECT_EQ(code("12"), mcp::kInvalidRequest);  // a notification with an id
  EXPECT_EQ(code("13"), mcp::kInvalidParams);
  EXPECT_EQ(code("14"), mcp::kInvalidParams);
  EXPECT_EQ(by_id.at("15")["result"]["isError"], true);  // huge query: a tool error
  EXPECT_EQ(by_id.at("16")["result"]["isError"], true);  // wrong type
  EXPECT_EQ(code("17"), mcp::kResourceNotFound);
  EXPECT_EQ(by_id.at("18")["result"]["isError"], false);
  EXPECT_EQ(code("19"), 0);
  EXPECT_EQ(by_id.at("20")["result"]["structuredContent"]["text"], "hello");
  EXPECT_EQ(by_id.count("21"), 0u);
  // bad JSON x2 + too deep: parse errors; batch, [], string, null id: invalid requests.
  EXPECT_EQ(null_codes[mcp::kParseError], 3);
  EXPECT_EQ(null_codes[mcp::kInvalidRequest], 4);
  EXPECT_EQ(null_id_errors, 7);
  EXPECT_EQ(lines.size(), by_id.size() + 7);
}

TEST_F(McpStdioTest, AnOversizedLineIsRefusedAndTheNextOneServed) {
  mcp::Session session(*catalog_);
  mcp::StdioOptions o;
  o.max_line_bytes = 1000;
  const std::string input = R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":")" + std::string(5000, 'p') +
                            "\"}}\n" + R"({"jsonrpc":"2.0","id":2,"method":"ping"})" + "\n";
  const auto lines = ServeLines(session, input, o);
  ASSERT_EQ(lines.size(), 2u);
  json first = json::parse(lines[0]);
  EXPECT_EQ(first["error"]["code"], mcp::kInvalidRequest);
  EXPECT_NE(first["error"]["message"].get<std::string>().find("too large"), std::string::npos);
  EXPECT_EQ(json::parse(lines[1])["id"], 2);
}

TEST_F(McpStdioTest, ALastLineWithoutNewlineIsServed) {
  mcp::Session session(*catalog_);
  const auto lines = ServeLines(session, R"({"jsonrpc":"2.0","id":5,"method":"ping"})");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(json::parse(lines[0])["id"], 5);
}

// A long call runs on the worker while the reader goes on: ping is answered during it, and
// notifications/cancelled stops it (no answer for it).
TEST(McpStdioCancelTest, PingAndCancelAreSeenWhileACallRuns) {
  mcp::Catalog catalog;
  mcp::Tool wait;
  wait.name = "wait";
  wait.input_schema = json{{"type", "object"}};
  wait.output_schema = json{{"type", "object"}};
  std::atomic<bool> cancelled{false};
  std::promise<void> running;
  wait.run = [&](const json&, mcp::ToolContext& ctx) {
    running.set_value();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!ctx.Cancelled() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    cancelled = ctx.Cancelled();
    return mcp::ToolResult::Error("stopped");
  };
  catalog.tools.push_back(wait);
  mcp::Session session(catalog);
  const std::string input =
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}})" "\n"
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"wait"}})" "\n";
  const std::string more =  // once the call runs
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"wait"}})" "\n"
      R"({"jsonrpc":"2.0","id":3,"method":"ping"})" "\n"
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":2,"reason":"test"}})" "\n"
      R"({"jsonrpc":"2.0","id":4,"method":"ping"})" "\n";
  const auto lines = ServeLines(session, input, {}, [&] { running.get_future().wait(); }, more);
  EXPECT_TRUE(cancelled);
  std::vector<json> answers;
  for (const auto& l : lines) answers.push_back(json::parse(l));
  ASSERT_EQ(answers.size(), 4u) << ::testing::PrintToString(lines);  // initialize, duplicate id, 2 pings
  int duplicate = 0, pings = 0;
  for (const auto& a : answers) {
    if (a["id"] == 2) duplicate += a["error"]["code"] == mcp::kInvalidRequest;
    if (a["id"] == 3 || a["id"] == 4) pings += a.contains("result");
  }
  EXPECT_EQ(duplicate, 1);
  EXPECT_EQ(pings, 2);
}

// The input ended, the last call is still running, then a signal comes: the call is cancelled
// and the server returns (it does not wait for the call to finish on its own).
TEST(McpStdioCancelTest, AStopAfterTheInputEndedCancelsTheRunningCall) {
  mcp::Catalog catalog;
  mcp::Tool wait;
  wait.name = "wait";
  wait.input_schema = json{{"type", "object"}};
  wait.output_schema = json{{"type", "object"}};
  std::promise<void> running;
  std::atomic<bool> cancelled{false};
  wait.run = [&](const json&, mcp::ToolContext& ctx) {
    running.set_value();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!ctx.Cancelled() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    cancelled = ctx.Cancelled();
    return mcp::ToolResult::Error("stopped");
  };
  catalog.tools.push_back(wait);
  mcp::Session session(catalog);
  int in[2], out[2];
  ASSERT_EQ(::pipe(in), 0);
  ASSERT_EQ(::pipe(out), 0);
  const std::string input =
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}})" "\n"
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"wait"}})" "\n";
  ASSERT_EQ(::write(in[1], input.data(), input.size()), static_cast<ssize_t>(input.size()));
  ::close(in[1]);
  std::atomic<bool> stop{false};
  std::thread server([&] { mcp::ServeStdio(session, in[0], out[1], stop); ::close(out[1]); });
  running.get_future().wait();
  const auto stopped_at = std::chrono::steady_clock::now();
  stop = true;
  server.join();
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, std::chrono::seconds(5));
  EXPECT_TRUE(cancelled);
  std::string output;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) output.append(buf, static_cast<size_t>(n));
  ::close(in[0]);
  ::close(out[0]);
  EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), 1) << output;  // initialize only
}

// ---------------------------------------------------------------- Streamable HTTP

class McpHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    services_ = test::OpenTestServices(fake_);
    ASSERT_TRUE(services_);
    api::ApiServerOptions o;
    o.token = kToken;
    o.cors_origins = {"app://kb"};
    server_ = std::make_unique<api::ApiServer>(*services_, o);
    catalog_ = std::make_unique<mcp::Catalog>(mcp::MakeCatalog(*services_));
    transport_ = std::make_unique<mcp::HttpTransport>(*catalog_, mcp::HttpTransportOptions{3});
    transport_->AddRoutes(server_->router());
  }
  api::HttpResponse Post(const json& body, std::map<std::string, std::string> headers = {}) {
    api::HttpRequest req;
    req.method = "POST";
    req.path = "/mcp";
    req.headers["Host"] = "127.0.0.1:7420";
    req.headers["Authorization"] = std::string("Bearer ") + kToken;
    req.headers["Content-Type"] = "application/json";
    req.headers["Accept"] = "application/json, text/event-stream";
    for (auto& [k, v] : headers) {
      if (v.empty()) {
        req.headers.erase(k);
      } else {
        req.headers[k] = v;
      }
    }
    req.body = body.is_string() ? body.get<std::string>() : body.dump();
    return server_->Handle(req);
  }
  std::string Initialize() {
    auto r = Post({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"}, {"params", {{"protocolVersion", "2025-06-18"}}}});
    EXPECT_EQ(r.status, 200) << r.body;
    for (const auto& [k, v] : r.headers) {
      if (k == "Mcp-Session-Id") return v;
    }
    ADD_FAILURE() << "no Mcp-Session-Id";
    return "";
  }
  static json Body(const api::HttpResponse& r) { return json::parse(r.body, nullptr, false); }

  test::FakeVectorStore fake_;
  std::unique_ptr<app::Services> services_;
  std::unique_ptr<api::ApiServer> server_;
  std::unique_ptr<mcp::Catalog> catalog_;
  std::unique_ptr<mcp::HttpTransport> transport_;
};

TEST_F(McpHttpTest, SessionsCarryRequestsAndEnd) {
  const std::string sid = Initialize();
  ASSERT_EQ(sid.size(), 32u);
  const json list{{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/list"}};
  auto listed = Post(list, {{"Mcp-Session-Id", sid}, {"MCP-Protocol-Version", "2025-06-18"}});
  EXPECT_EQ(listed.status, 200);
  EXPECT_EQ(listed.content_type, "application/json");
  EXPECT_EQ(Body(listed)["result"]["tools"].size(), 6u);
  auto note = Post({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}, {{"Mcp-Session-Id", sid}});
  EXPECT_EQ(note.status, 202);
  EXPECT_TRUE(note.body.empty());
  auto call = Post({{"jsonrpc", "2.0"}, {"id", 3}, {"method", "tools/call"},
                    {"params", {{"name", "put_note"}, {"arguments", {{"id", "h1"}, {"body", "over http"}}}}}},
                   {{"Mcp-Session-Id", sid}});
  EXPECT_EQ(Body(call)["result"]["structuredContent"]["result"], "created");

  EXPECT_EQ(Post(list).status, 400);                                   // no session id
  EXPECT_EQ(Post(list, {{"Mcp-Session-Id", "feedbeef"}}).status, 404);  // unknown
  EXPECT_EQ(Post(list, {{"Mcp-Session-Id", sid}, {"MCP-Protocol-Version", "1999-01-01"}}).status, 400);
  EXPECT_EQ(Post(list, {{"Mcp-Session-Id", sid}, {"Content-Type", "text/plain"}}).status, 415);
  EXPECT_EQ(Post(list, {{"Mcp-Session-Id", sid}, {"Accept", "text/html"}}).status, 406);
  auto bad = Post(json("{broken"), {{"Mcp-Session-Id", sid}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Body(bad)["error"]["code"], mcp::kParseError);
  EXPECT_EQ(Body(Post(json::array({list}), {{"Mcp-Session-Id", sid}}))["error"]["code"], mcp::kInvalidRequest);

  api::HttpRequest del;
  del.method = "DELETE";
  del.path = "/mcp";
  del.headers["Host"] = "localhost";
  del.headers["Authorization"] = std::string("Bearer ") + kToken;
  del.headers["Mcp-Session-Id"] = sid;
  EXPECT_EQ(server_->Handle(del).status, 204);
  EXPECT_EQ(Post(list, {{"Mcp-Session-Id", sid}}).status, 404);
  EXPECT_EQ(server_->Handle(del).status, 404);
}

TEST_F(McpHttpTest, GetIsNotAllowedAndTheGuardApplies) {
  api::HttpRequest get;
  get.method = "GET";
  get.path = "/mcp";
  get.headers["Host"] = "localhost";
  get.headers["Authorization"] = std::string("Bearer ") + kToken;
  auto r = server_->Handle(get);
  EXPECT_EQ(r.status, 405);
  const json init{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"}, {"params", {{"protocolVersion", "2025-06-18"}}}};
  EXPECT_EQ(Post(init, {{"Authorization", ""}}).status, 401);
  EXPECT_EQ(Post(init, {{"Authorization", "Bearer wrong-token-wrong-token"}}).status, 401);
  EXPECT_EQ(Post(init, {{"Origin", "https://evil.example"}}).status, 403);
  EXPECT_EQ(Post(init, {{"Host", "evil.example"}}).status, 403);
  EXPECT_EQ(transport_->sessions(), 0u);
  auto allowed = Post(init, {{"Origin", "app://kb"}});
  EXPECT_EQ(allowed.status, 200);
  bool exposed = false;
  for (const auto& [k, v] : allowed.headers) exposed |= k == "Access-Control-Expose-Headers" && v == "Mcp-Session-Id";
  EXPECT_TRUE(exposed);
  // The same refusal holds on /v1.
  api::HttpRequest stats;
  stats.method = "GET";
  stats.path = "/v1/stats";
  stats.headers["Host"] = "localhost";
  stats.headers["Authorization"] = std::string("Bearer ") + kToken;
  stats.headers["Origin"] = "https://evil.example";
  EXPECT_EQ(server_->Handle(stats).status, 403);
}

TEST_F(McpHttpTest, SessionsAreBounded) {
  for (int i = 0; i < 5; ++i) Initialize();
  EXPECT_EQ(transport_->sessions(), 3u);
}

}  // namespace
}  // namespace kb
