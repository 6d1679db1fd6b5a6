// The MCP protocol layer without a transport: JSON-RPC classification, initialize and version
// negotiation, tools/list and tools/call envelopes, argument checks against the declared
// schemas, cancellation and progress. (mcp_tools_test.cpp covers kbindex's own tools.)
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "mcp/jsonrpc.h"
#include "mcp/session.h"

namespace kb {
namespace {

using json = nlohmann::json;
using mcp::Message;

json Request(int id, const std::string& method, json params = json::object()) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}

int ErrorCode(const std::optional<json>& r) {
  if (!r || !r->contains("error")) return 0;
  return (*r)["error"]["code"].get<int>();
}

// A catalog with an echo tool, a tool that waits to be cancelled, and a tool with progress.
struct TestCatalog {
  TestCatalog() {
    mcp::Tool echo;
    echo.name = "echo";
    echo.title = "Echo";
    echo.description = "echoes";
    echo.input_schema = json{{"type", "object"},
                             {"properties", {{"text", {{"type", "string"}, {"maxLength", 10}}},
                                             {"n", {{"type", "integer"}, {"minimum", 1}, {"maximum", 5}}}}},
                             {"required", {"text"}},
                             {"additionalProperties", false}};
    echo.output_schema = json{{"type", "object"}, {"properties", {{"text", {{"type", "string"}}}}}};
    echo.run = [](const json& a, mcp::ToolContext&) {
      mcp::ToolResult r;
      r.structured = json{{"text", a["text"]}};
      r.text = a["text"].get<std::string>();
      return r;
    };
    mcp::Tool wait;
    wait.name = "wait";
    wait.input_schema = json{{"type", "object"}};
    wait.output_schema = json{{"type", "object"}};
    wait.run = [this](const json&, mcp::ToolContext& ctx) {
      started.set_value();
      // Bounded, so that a broken cancellation fails the test instead of hanging it.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (!ctx.Cancelled() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      saw_cancel = ctx.Cancelled();
      return mcp::ToolResult::Error(saw_cancel ? "cancelled" : "never cancelled");
    };
    mcp::Tool progress;
    progress.name = "progress";
    progress.input_schema = json{{"type", "object"}};
    progress.output_schema = json{{"type", "object"}};
    progress.run = [](const json&, mcp::ToolContext& ctx) {
      ctx.progress(0, 2, "start");
      ctx.progress(1, 2, "half");
      ctx.progress(1, 2, "again");  // not increasing: dropped
      ctx.progress(2, 2, "");
      mcp::ToolResult r;
      r.structured = json::object();
      r.text = "done";
      return r;
    };
    mcp::Tool big;
    big.name = "big";
    big.input_schema = json{{"type", "object"}};
    big.output_schema = json{{"type", "object"}};
    big.run = [](const json&, mcp::ToolContext&) {
      mcp::ToolResult r;
      r.text = std::string(5000, 'x');
      r.structured = json::object();
      return r;
    };
    catalog.tools = {echo, wait, progress, big};
    catalog.templates.push_back({"test://{x}", "x", "X", "an x", "text/plain"});
    catalog.read_resource = [](const std::string& uri, size_t) -> Result<mcp::ResourceContents> {
      if (uri == "test://a") return mcp::ResourceContents{uri, "text/plain", "A"};
      return Status::NotFound("no resource " + uri);
    };
  }
  mcp::Catalog catalog;
  std::promise<void> started;
  std::atomic<bool> saw_cancel{false};
};

class McpSessionTest : public ::testing::Test {
 protected:
  std::optional<json> Send(const json& m, const mcp::Session::Notify& notify = {}) {
    return session_.Handle(mcp::ClassifyMessage(m), notify);
  }
  json Initialize(const std::string& version = mcp::kLatestProtocolVersion) {
    auto r = Send(Request(0, "initialize", {{"protocolVersion", version}, {"capabilities", json::object()},
                                            {"clientInfo", {{"name", "t"}, {"version", "1"}}}}));
    EXPECT_TRUE(r && r->contains("result")) << (r ? r->dump() : "no answer");
    Send(json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
    return r ? (*r)["result"] : json();
  }
  TestCatalog test_;
  mcp::SessionLimits limits_{2000};
  mcp::Session session_{test_.catalog, limits_};
};

TEST(McpJsonRpcTest, MalformedMessagesAreClassifiedWithTheRightCode) {
  auto code = [](std::string_view text) {
    Message m = mcp::ParseMessage(text);
    return m.kind == Message::Kind::kInvalid ? m.error["error"]["code"].get<int>() : 0;
  };
  EXPECT_EQ(code("{not json"), mcp::kParseError);
  EXPECT_EQ(code(""), mcp::kParseError);
  EXPECT_EQ(code(std::string(100, '[') + std::string(100, ']')), mcp::kParseError);  // too deep
  EXPECT_EQ(code("\"\xff\""), mcp::kParseError);                                      // not UTF-8
  EXPECT_EQ(code(R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])"), mcp::kInvalidRequest);  // batch
  EXPECT_EQ(code("[]"), mcp::kInvalidRequest);
  EXPECT_EQ(code("42"), mcp::kInvalidRequest);
  EXPECT_EQ(code(R"({"id":1,"method":"ping"})"), mcp::kInvalidRequest);                  // no jsonrpc
  EXPECT_EQ(code(R"({"jsonrpc":"1.0","id":1,"method":"ping"})"), mcp::kInvalidRequest);
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":null,"method":"ping"})"), mcp::kInvalidRequest);
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":{"a":1},"method":"ping"})"), mcp::kInvalidRequest);
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})"), mcp::kInvalidRequest);
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":1,"method":7})"), mcp::kInvalidRequest);
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":1})"), mcp::kInvalidRequest);
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":1,"method":"ping","params":5})"), mcp::kInvalidRequest);
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":1,"method":"ping","params":[1]})"), mcp::kInvalidParams);
  EXPECT_EQ(code(R"({"jsonrpc":"2.0","id":1,"method":"notifications/initialized"})"), mcp::kInvalidRequest);
  // The id is echoed when it could be read.
  EXPECT_EQ(mcp::ParseMessage(R"({"jsonrpc":"1.0","id":"x","method":"ping"})").error["id"], "x");
  EXPECT_TRUE(mcp::ParseMessage("{oops").error["id"].is_null());
  // Valid ones.
  EXPECT_EQ(mcp::ParseMessage(R"({"jsonrpc":"2.0","id":"a","method":"ping"})").kind, Message::Kind::kRequest);
  EXPECT_EQ(mcp::ParseMessage(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{}})").kind,
            Message::Kind::kNotification);
  EXPECT_EQ(mcp::ParseMessage(R"({"jsonrpc":"2.0","id":3,"result":{}})").kind, Message::Kind::kResponse);
}

TEST_F(McpSessionTest, InitializeNegotiatesTheProtocolVersion) {
  for (const char* v : {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}) {
    mcp::Session s(test_.catalog);
    auto r = s.Handle(mcp::ClassifyMessage(Request(1, "initialize", {{"protocolVersion", v}})));
    ASSERT_TRUE(r && r->contains("result")) << v;
    EXPECT_EQ((*r)["result"]["protocolVersion"], v);
    EXPECT_EQ((*r)["result"]["serverInfo"]["name"], "kbindex");
    EXPECT_TRUE((*r)["result"]["capabilities"].contains("tools"));
    EXPECT_TRUE((*r)["result"]["capabilities"].contains("resources"));
  }
  EXPECT_EQ(mcp::NegotiateProtocolVersion("1999-01-01"), mcp::kLatestProtocolVersion);
  auto result = Initialize("2030-01-01");  // unknown: the server proposes its latest
  EXPECT_EQ(result["protocolVersion"], mcp::kLatestProtocolVersion);
  EXPECT_EQ(ErrorCode(Send(Request(2, "initialize", {{"protocolVersion", "2025-06-18"}}))), mcp::kInvalidRequest);
}

TEST_F(McpSessionTest, NothingButPingAndInitializeBeforeInitialize) {
  EXPECT_EQ(ErrorCode(Send(Request(1, "tools/list"))), mcp::kInvalidRequest);
  auto pong = Send(Request(2, "ping"));
  ASSERT_TRUE(pong);
  EXPECT_EQ((*pong)["result"], json::object());
  EXPECT_EQ(ErrorCode(Send(Request(3, "initialize", {{"protocolVersion", 20250618}}))), mcp::kInvalidParams);
  EXPECT_EQ(ErrorCode(Send(Request(4, "initialize"))), mcp::kInvalidParams);
  EXPECT_FALSE(session_.initialized());
}

TEST_F(McpSessionTest, UnknownMethodsNotificationsAndResponses) {
  Initialize();
  EXPECT_EQ(ErrorCode(Send(Request(1, "prompts/list"))), mcp::kMethodNotFound);
  EXPECT_EQ(ErrorCode(Send(Request(2, "no/such/method"))), mcp::kMethodNotFound);
  EXPECT_FALSE(Send(json{{"jsonrpc", "2.0"}, {"method", "notifications/whatever"}}));
  EXPECT_FALSE(Send(json{{"jsonrpc", "2.0"}, {"id", 9}, {"result", json::object()}}));
  auto r = Send(Request(3, "ping"));
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["id"], 3);
}

TEST_F(McpSessionTest, ToolsListShowsSchemasAndNewerFieldsOnlyToNewerClients) {
  Initialize("2025-06-18");
  auto r = Send(Request(1, "tools/list"));
  ASSERT_TRUE(r);
  const json& echo = (*r)["result"]["tools"][0];
  EXPECT_EQ(echo["name"], "echo");
  EXPECT_EQ(echo["title"], "Echo");
  EXPECT_EQ(echo["inputSchema"]["type"], "object");
  EXPECT_TRUE(echo.contains("outputSchema"));
  auto called = Send(Request(2, "tools/call", {{"name", "echo"}, {"arguments", {{"text", "hi"}}}}));
  EXPECT_EQ((*called)["result"]["structuredContent"]["text"], "hi");

  mcp::Session old(test_.catalog);
  old.Handle(mcp::ClassifyMessage(Request(1, "initialize", {{"protocolVersion", "2025-03-26"}})));
  auto listed = old.Handle(mcp::ClassifyMessage(Request(2, "tools/list")));
  EXPECT_FALSE((*listed)["result"]["tools"][0].contains("outputSchema"));
  auto old_call = old.Handle(mcp::ClassifyMessage(Request(3, "tools/call", {{"name", "echo"}, {"arguments", {{"text", "hi"}}}})));
  EXPECT_FALSE((*old_call)["result"].contains("structuredContent"));
  EXPECT_EQ((*old_call)["result"]["content"][0]["text"], "hi");
}

TEST_F(McpSessionTest, BadToolCallsAreProtocolErrorsBadArgumentsAreToolErrors) {
  Initialize();
  EXPECT_EQ(ErrorCode(Send(Request(1, "tools/call", {{"name", "nope"}}))), mcp::kInvalidParams);
  EXPECT_EQ(ErrorCode(Send(Request(2, "tools/call", json::object()))), mcp::kInvalidParams);
  EXPECT_EQ(ErrorCode(Send(Request(3, "tools/call", {{"name", 5}}))), mcp::kInvalidParams);
  EXPECT_EQ(ErrorCode(Send(Request(4, "tools/call", {{"name", "echo"}, {"arguments", "text"}}))), mcp::kInvalidParams);
  auto tool_error = [&](json args) {
    auto r = Send(Request(5, "tools/call", {{"name", "echo"}, {"arguments", std::move(args)}}));
    EXPECT_TRUE(r && r->contains("result")) << (r ? r->dump() : "");
    EXPECT_EQ((*r)["result"]["isError"], true);
    EXPECT_FALSE((*r)["result"].contains("structuredContent"));
    return (*r)["result"]["content"][0]["text"].get<std::string>();
  };
  EXPECT_NE(tool_error(json::object()).find("missing required argument 'text'"), std::string::npos);
  EXPECT_NE(tool_error({{"text", 5}}).find("'text' must be a string"), std::string::npos);
  EXPECT_NE(tool_error({{"text", "a"}, {"n", 9}}).find("'n' must be at most 5"), std::string::npos);
  EXPECT_NE(tool_error({{"text", "a"}, {"n", "2"}}).find("'n' must be an integer"), std::string::npos);
  EXPECT_NE(tool_error({{"text", "a"}, {"colour", 1}}).find("unknown argument 'colour'"), std::string::npos);
  EXPECT_NE(tool_error({{"text", std::string(100000, 'y')}}).find("too long"), std::string::npos);
}

TEST_F(McpSessionTest, ResultsOverTheLimitBecomeToolErrors) {
  Initialize();
  auto r = Send(Request(1, "tools/call", {{"name", "big"}}));
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["result"]["isError"], true);
  EXPECT_NE((*r)["result"]["content"][0]["text"].get<std::string>().find("limit"), std::string::npos);
  EXPECT_LT(r->dump().size(), 2000u);
}

TEST_F(McpSessionTest, ResourcesAreListedAndRead) {
  Initialize();
  auto t = Send(Request(1, "resources/templates/list"));
  EXPECT_EQ((*t)["result"]["resourceTemplates"][0]["uriTemplate"], "test://{x}");
  auto ok = Send(Request(2, "resources/read", {{"uri", "test://a"}}));
  EXPECT_EQ((*ok)["result"]["contents"][0]["text"], "A");
  EXPECT_EQ(ErrorCode(Send(Request(3, "resources/read", {{"uri", "test://b"}}))), mcp::kResourceNotFound);
  EXPECT_EQ(ErrorCode(Send(Request(4, "resources/read", {{"uri", 1}}))), mcp::kInvalidParams);
  EXPECT_EQ((*Send(Request(5, "resources/list")))["result"]["resources"], json::array());
}

TEST_F(McpSessionTest, ACancelledCallStopsAndIsNotAnswered) {
  Initialize();
  const json call = Request(7, "tools/call", {{"name", "wait"}});
  ASSERT_TRUE(session_.Accept(mcp::ClassifyMessage(call)));
  EXPECT_FALSE(session_.Accept(mcp::ClassifyMessage(call)));  // the id is in use
  auto answer = std::async(std::launch::async, [&] { return Send(call); });
  test_.started.get_future().wait();
  // While it runs, the same id is refused and other requests are answered.
  EXPECT_EQ(ErrorCode(Send(Request(7, "ping"))), mcp::kInvalidRequest);
  EXPECT_TRUE(Send(Request(8, "ping")));
  EXPECT_FALSE(Send(json{{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"},
                         {"params", {{"requestId", 7}, {"reason", "user"}}}}));
  EXPECT_FALSE(answer.get());
  EXPECT_TRUE(test_.saw_cancel);
  // The id is free again.
  EXPECT_TRUE(Send(Request(7, "ping")));
}

TEST_F(McpSessionTest, ACallCancelledBeforeItStartsDoesNotRun) {
  Initialize();
  const json call = Request(9, "tools/call", {{"name", "echo"}, {"arguments", {{"text", "x"}}}});
  ASSERT_TRUE(session_.Accept(mcp::ClassifyMessage(call)));
  Send(json{{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", 9}}}});
  EXPECT_FALSE(Send(call));
}

TEST_F(McpSessionTest, ProgressIsSentOnlyWithATokenAndOnlyIncreasing) {
  Initialize();
  std::vector<json> sent;
  auto notify = [&](const json& n) { sent.push_back(n); };
  auto r = Send(Request(1, "tools/call", {{"name", "progress"}, {"_meta", {{"progressToken", "tok"}}}}), notify);
  ASSERT_TRUE(r && r->contains("result"));
  // 0 and 1; the last one (2) is not sent: the result follows at once and carries it (the
  // official SDK would see it after the response and call the token unknown).
  ASSERT_EQ(sent.size(), 2u);
  for (const auto& n : sent) {
    EXPECT_EQ(n["method"], "notifications/progress");
    EXPECT_EQ(n["params"]["progressToken"], "tok");
    EXPECT_EQ(n["params"]["total"], 2);
  }
  EXPECT_EQ(sent[0]["params"]["progress"], 0);
  EXPECT_EQ(sent[1]["params"]["progress"], 1);
  sent.clear();
  Send(Request(2, "tools/call", {{"name", "progress"}}), notify);
  EXPECT_TRUE(sent.empty());
}

TEST(McpSchemaTest, ChecksTypesRangesEnumsItemsAndClosedObjects) {
  const json schema{{"type", "object"},
                    {"properties",
                     {{"mode", {{"type", "string"}, {"enum", {"a", "b"}}}},
                      {"list", {{"type", "array"}, {"items", {{"type", "integer"}}}}},
                      {"opt", {{"type", json::array({"string", "null"})}}}}},
                    {"additionalProperties", false}};
  EXPECT_FALSE(mcp::CheckAgainstSchema(schema, {{"mode", "a"}, {"list", {1, 2}}, {"opt", nullptr}}));
  EXPECT_TRUE(mcp::CheckAgainstSchema(schema, {{"mode", "c"}}));
  EXPECT_TRUE(mcp::CheckAgainstSchema(schema, {{"list", {1, "x"}}}));
  EXPECT_TRUE(mcp::CheckAgainstSchema(schema, {{"opt", 3}}));
  EXPECT_TRUE(mcp::CheckAgainstSchema(schema, {{"other", 3}}));
  EXPECT_TRUE(mcp::CheckAgainstSchema(schema, json::array()));
}

}  // namespace
}  // namespace kb
