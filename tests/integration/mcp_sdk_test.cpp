// The MCP server driven by the official TypeScript SDK's client (tests/mcp_client, pinned and
// installed by tools/setup), against a real Chroma: `kbindex mcp` over stdio and /mcp on
// `kbindex serve` over Streamable HTTP. Without Node or the SDK these tests fail, never skip.
// Plus the binary itself fed fuzzer-style input: only protocol ever reaches stdout.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "support/process.h"
#include "support/serve_client.h"
#include "support/temp_dir.h"
#include "support/test_chroma.h"
#include "vector/local_chroma.h"

namespace kb {
namespace {

using json = nlohmann::json;

const std::string kClientDir = std::string(KBINDEX_SOURCE_DIR) + "/tests/mcp_client";
const std::string kScript = kClientDir + "/mcp_sdk_test.mjs";
constexpr const char* kFolderNote = "notes:harbour.md";

class McpSdkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(kClientDir + "/node_modules/@modelcontextprotocol/sdk/package.json"))
        << "the MCP SDK is not installed in " << kClientDir << ": run tools/setup";
    ASSERT_TRUE(chroma_.ok());
    test::WriteFile(dir_ / "notes/harbour.md", "# Harbour\n\nThe old lighthouse guides the ships home at night.\n");
    test::WriteFile(dir_ / "notes/garden.md", "# Garden\n\nTomatoes need sun and water.\n");
    env_ = {{"KBINDEX_DB", dir_ / "kb/kb.db"}, {"KBINDEX_CHROMA_URL", chroma_.url()}};
    auto idx = test::Kbindex({"index", dir_ / "notes"}, env_);
    ASSERT_EQ(idx.exit_code, 0) << idx.err;
  }
  test::ProcessResult Node(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"node", kScript};
    argv.insert(argv.end(), args.begin(), args.end());
    auto env = env_;
    env["KBINDEX_BINARY"] = KBINDEX_BINARY;
    env["FOLDER_NOTE_ID"] = kFolderNote;
    return test::Run(argv, env);
  }
  test::TempDir dir_;
  test::TestChroma chroma_;
  std::map<std::string, std::string> env_;
};

TEST_F(McpSdkTest, OfficialClientOverStdio) {
  auto r = Node({"stdio"});
  EXPECT_EQ(r.exit_code, 0) << "stdout:\n" << r.out << "\nstderr:\n" << r.err;
  EXPECT_NE(r.out.find("stdio: every tool"), std::string::npos) << r.out;
}

TEST_F(McpSdkTest, OfficialClientOverStreamableHttpBehindTheGuard) {
  const int port = LocalChroma::FreePort();
  const std::string token_file = dir_ / "kb/api-token";
  const pid_t pid = test::Spawn({KBINDEX_BINARY, "serve", "--port", std::to_string(port)}, env_, dir_ / "serve.log");
  httplib::Client client("127.0.0.1", port);
  const bool up = !test::ConnectToServe(client, token_file, dir_ / "serve.log").empty();
  test::ProcessResult r;
  if (up) r = Node({"http", "http://127.0.0.1:" + std::to_string(port) + "/mcp", token_file});
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(up);
  EXPECT_EQ(r.exit_code, 0) << "stdout:\n" << r.out << "\nstderr:\n" << r.err;
  EXPECT_NE(r.out.find("http: refusals, every tool"), std::string::npos) << r.out;
}

// The real binary, fed what a fuzzer would send, with debug logging on: every line on stdout
// is a JSON-RPC response, each request is answered with the right code, and serving goes on.
TEST_F(McpSdkTest, MalformedInputOnStdinGetsJsonRpcErrorsAndStdoutStaysProtocol) {
  std::string input;
  input += R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}})" "\n";
  input += "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";
  input += "not json at all\n";
  input += R"([{"jsonrpc":"2.0","id":2,"method":"ping"}])" "\n";
  input += R"({"jsonrpc":"2.0","id":3,"method":"nope"})" "\n";
  input += R"({"jsonrpc":"2.0","id":4,"method":"notifications/initialized"})" "\n";
  input += R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"search","arguments":{"query":7}}})" "\n";
  input += R"({"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"search","arguments":{"query":")" +
           std::string(3 << 20, 'h') + "\"}}}\n";
  input += R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":"x"})" "\n";
  input += std::string(1000, '[') + "\n";
  input += R"({"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"search","arguments":{"query":"lighthouse","mode":"keyword"}}})" "\n";
  input += R"({"jsonrpc":"2.0","id":9,"method":"ping"})" "\n";
  auto r = test::Run({KBINDEX_BINARY, "mcp", "-v"}, env_, input);
  EXPECT_EQ(r.exit_code, 0) << r.err.substr(0, 2000);
  EXPECT_NE(r.err.find("mcp:"), std::string::npos) << "logs go to stderr";
  std::map<int, json> answers;
  int null_ids = 0;
  size_t start = 0;
  for (size_t nl; (nl = r.out.find('\n', start)) != std::string::npos; start = nl + 1) {
    const std::string line = r.out.substr(start, nl - start);
    json j = json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object() && j["jsonrpc"] == "2.0") << "not protocol on stdout: " << line.substr(0, 300);
    if (j["id"].is_null()) {
      ++null_ids;
    } else {
      answers[j["id"].get<int>()] = j;
    }
  }
  EXPECT_EQ(start, r.out.size()) << "a partial line on stdout";
  EXPECT_EQ(null_ids, 3);  // not json, the batch, too deep
  auto code = [&](int id) { return answers.at(id).contains("error") ? answers.at(id)["error"]["code"].get<int>() : 0; };
  EXPECT_EQ(code(1), 0);
  EXPECT_EQ(code(3), -32601);
  EXPECT_EQ(code(4), -32600);
  EXPECT_EQ(answers.at(5)["result"]["isError"], true);
  EXPECT_EQ(answers.at(6)["result"]["isError"], true);
  EXPECT_EQ(code(7), -32600);
  EXPECT_EQ(answers.at(8)["result"]["structuredContent"]["results"][0]["id"], kFolderNote);
  EXPECT_EQ(code(9), 0);
  EXPECT_EQ(answers.size(), 8u);
}

}  // namespace
}  // namespace kb
