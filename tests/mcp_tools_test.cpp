// kbindex's MCP tools and note resource over Services with the in-memory vector store: every
// tool through a real Session, its structured output checked against its declared schema.
#include <gtest/gtest.h>

#include "app/notes.h"
#include "mcp/session.h"
#include "mcp/tools.h"
#include "scan/scanner.h"
#include "support/fake_vector_store.h"
#include "support/temp_dir.h"
#include "support/test_services.h"

namespace kb {
namespace {

using json = nlohmann::json;

class McpToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    services_ = test::OpenTestServices(fake_);
    ASSERT_TRUE(services_);
    catalog_ = std::make_unique<mcp::Catalog>(mcp::MakeCatalog(*services_));
    session_ = std::make_unique<mcp::Session>(*catalog_);
    auto r = session_->Handle(mcp::ClassifyMessage(
        json{{"jsonrpc", "2.0"}, {"id", 0}, {"method", "initialize"}, {"params", {{"protocolVersion", "2025-11-25"}}}}));
    ASSERT_TRUE(r && r->contains("result"));
    auto listed = Rpc("tools/list", json::object());
    for (const auto& t : listed["result"]["tools"]) schemas_[t["name"]] = t["outputSchema"];
  }
  json Rpc(const std::string& method, json params) {
    auto r = session_->Handle(mcp::ClassifyMessage(
        json{{"jsonrpc", "2.0"}, {"id", ++id_}, {"method", method}, {"params", std::move(params)}}));
    EXPECT_TRUE(r.has_value());
    return r ? *r : json();
  }
  // The tool's result; its structuredContent must match the declared output schema.
  json Call(const std::string& tool, json args) {
    json r = Rpc("tools/call", {{"name", tool}, {"arguments", std::move(args)}});
    EXPECT_TRUE(r.contains("result")) << r.dump();
    json result = r["result"];
    if (result["isError"] == false) {
      EXPECT_TRUE(result.contains("structuredContent")) << tool;
      EXPECT_EQ(mcp::CheckAgainstSchema(schemas_[tool], result["structuredContent"], "result"), std::nullopt)
          << tool << ": " << result["structuredContent"].dump();
    }
    return result;
  }
  static std::string Text(const json& result) { return result["content"][0]["text"].get<std::string>(); }

  test::FakeVectorStore fake_;
  std::unique_ptr<app::Services> services_;
  std::unique_ptr<mcp::Catalog> catalog_;
  std::unique_ptr<mcp::Session> session_;
  std::map<std::string, json> schemas_;
  int id_ = 0;
};

TEST_F(McpToolsTest, EveryToolHasDescriptionsAndSchemas) {
  json tools = Rpc("tools/list", json::object())["result"]["tools"];
  std::set<std::string> names;
  for (const auto& t : tools) {
    names.insert(t["name"]);
    EXPECT_GT(t["description"].get<std::string>().size(), 80u) << t["name"];
    EXPECT_EQ(t["inputSchema"]["type"], "object");
    EXPECT_EQ(t["outputSchema"]["type"], "object");
  }
  EXPECT_EQ(names, (std::set<std::string>{"search", "get_note", "put_note", "delete_note", "index_status", "sync"}));
}

TEST_F(McpToolsTest, PutSearchGetAndDeleteThroughTheUseCases) {
  auto put = Call("put_note", {{"id", "meetings/42"}, {"title", "Planning"}, {"body", "Ship the beta in May."},
                               {"metadata", {{"tags", {"work"}}}}});
  ASSERT_EQ(put["isError"], false) << put.dump();
  EXPECT_EQ(put["structuredContent"]["result"], "created");
  EXPECT_EQ(put["structuredContent"]["uri"], "kbindex://note/meetings/42");
  EXPECT_EQ(Call("put_note", {{"id", "meetings/42"}, {"title", "Planning"}, {"body", "Ship the beta in May."},
                              {"metadata", {{"tags", {"work"}}}}})["structuredContent"]["result"],
            "unchanged");

  auto found = Call("search", {{"query", "beta"}, {"mode", "keyword"}, {"k", 5}});
  ASSERT_EQ(found["isError"], false);
  ASSERT_EQ(found["structuredContent"]["results"].size(), 1u);
  const json& hit = found["structuredContent"]["results"][0];
  EXPECT_EQ(hit["id"], "meetings/42");
  EXPECT_EQ(hit["syncStatus"], "pending");
  EXPECT_NE(hit["snippet"].get<std::string>().find("**beta**"), std::string::npos);
  EXPECT_NE(Text(found).find("meetings/42"), std::string::npos);

  auto sync = Call("sync", json::object());
  EXPECT_EQ(sync["structuredContent"]["synced"], 1);
  auto semantic = Call("search", {{"query", "beta May"}, {"mode", "semantic"}});
  ASSERT_FALSE(semantic["structuredContent"]["results"].empty());
  EXPECT_EQ(semantic["structuredContent"]["results"][0]["syncStatus"], "synced");

  auto got = Call("get_note", {{"id", "meetings/42"}});
  EXPECT_EQ(got["structuredContent"]["text"], "Ship the beta in May.");
  EXPECT_EQ(got["structuredContent"]["title"], "Planning");
  EXPECT_EQ(got["structuredContent"]["metadata"]["tags"][0], "work");
  EXPECT_EQ(got["structuredContent"]["truncated"], false);
  EXPECT_TRUE(got["structuredContent"]["nextOffset"].is_null());

  auto read = Rpc("resources/read", {{"uri", "kbindex://note/meetings/42"}});
  EXPECT_EQ(read["result"]["contents"][0]["text"], "Ship the beta in May.");
  EXPECT_EQ(read["result"]["contents"][0]["mimeType"], "text/markdown");
  EXPECT_EQ(Rpc("resources/read", {{"uri", "kbindex://note/meetings%2F42"}})["result"]["contents"][0]["text"],
            "Ship the beta in May.");

  auto del = Call("delete_note", {{"id", "meetings/42"}});
  EXPECT_EQ(del["structuredContent"]["deleted"], true);
  EXPECT_TRUE(Call("search", {{"query", "beta"}, {"mode", "keyword"}})["structuredContent"]["results"].empty());
  auto gone = Call("get_note", {{"id", "meetings/42"}});
  EXPECT_EQ(gone["isError"], true);
  EXPECT_NE(Text(gone).find("deleted"), std::string::npos);
  EXPECT_EQ(Rpc("resources/read", {{"uri", "kbindex://note/meetings/42"}})["error"]["code"], mcp::kResourceNotFound);
  auto again = Call("delete_note", {{"id", "meetings/42"}});
  EXPECT_EQ(again["isError"], true);
}

TEST_F(McpToolsTest, FolderNotesAreRefusedWithTheReason) {
  test::TempDir dir;
  test::WriteFile(dir / "notes/a.md", "# A\nfolder note");
  ScanOptions o;
  o.root = dir / "notes";
  ASSERT_TRUE(ScanFolder(services_->store(), o).ok());
  auto put = Call("put_note", {{"id", "notes:a.md"}, {"body", "hijack"}});
  EXPECT_EQ(put["isError"], true);
  EXPECT_NE(Text(put).find("belongs to folder source 'notes'"), std::string::npos) << Text(put);
  auto del = Call("delete_note", {{"id", "notes:a.md"}});
  EXPECT_EQ(del["isError"], true);
  EXPECT_NE(Text(del).find("delete the file"), std::string::npos) << Text(del);
  EXPECT_EQ(Call("get_note", {{"id", "notes:a.md"}})["structuredContent"]["text"], "# A\nfolder note");
}

TEST_F(McpToolsTest, LongNotesComeInRangesOnCharacterBoundaries) {
  std::string body;
  for (int i = 0; i < 3000; ++i) body += "é" + std::to_string(i % 10);  // 3 bytes per step
  ASSERT_EQ(Call("put_note", {{"id", "long"}, {"body", body}})["isError"], false);
  std::string assembled;
  int64_t offset = 0;
  int parts = 0;
  for (;;) {
    auto got = Call("get_note", {{"id", "long"}, {"offset", offset}, {"length", 1000}});
    ASSERT_EQ(got["isError"], false) << got.dump();
    const json& s = got["structuredContent"];
    EXPECT_EQ(s["totalBytes"], body.size());
    EXPECT_LE(s["text"].get<std::string>().size(), 1000u);
    assembled += s["text"].get<std::string>();
    ++parts;
    if (!s["truncated"].get<bool>()) {
      EXPECT_TRUE(s["nextOffset"].is_null());
      break;
    }
    EXPECT_NE(Text(got).find("[... truncated: bytes"), std::string::npos);
    EXPECT_NE(Text(got).find("offset " + std::to_string(s["nextOffset"].get<int64_t>())), std::string::npos);
    offset = s["nextOffset"];
    ASSERT_LT(parts, 20);
  }
  EXPECT_EQ(assembled, body);
  EXPECT_EQ(parts, 10);  // 999 bytes each: byte 1000 is inside a character
  // An offset inside a character starts at the character.
  auto mid = Call("get_note", {{"id", "long"}, {"offset", 1}, {"length", 2}});
  EXPECT_EQ(mid["structuredContent"]["offset"], 0);
  EXPECT_EQ(mid["structuredContent"]["text"], "é");
  auto past = Call("get_note", {{"id", "long"}, {"offset", body.size() + 1}});
  EXPECT_EQ(past["isError"], true);
  EXPECT_NE(Text(past).find("past the end"), std::string::npos);
  // The resource is cut at the session's result limit, with the range to ask next.
  mcp::Session small(*catalog_, mcp::SessionLimits{5000});
  small.Handle(mcp::ClassifyMessage(json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
                                         {"params", {{"protocolVersion", "2025-06-18"}}}}));
  auto r = small.Handle(mcp::ClassifyMessage(json{{"jsonrpc", "2.0"}, {"id", 2}, {"method", "resources/read"},
                                                  {"params", {{"uri", "kbindex://note/long"}}}}));
  const std::string text = (*r)["result"]["contents"][0]["text"];
  EXPECT_LT(r->dump().size(), 5000u);
  EXPECT_NE(text.find("call get_note with id \"long\" and offset"), std::string::npos);
}

TEST_F(McpToolsTest, BadArgumentsAreToolErrorsAModelCanActOn) {
  auto unknown = Call("get_note", {{"id", "nothing-here"}});
  EXPECT_EQ(unknown["isError"], true);
  EXPECT_NE(Text(unknown).find("search"), std::string::npos);
  EXPECT_NE(Text(Call("search", {{"query", "x"}, {"mode", "fuzzy"}})).find("keyword"), std::string::npos);
  EXPECT_EQ(Call("search", {{"query", ""}})["isError"], true);
  EXPECT_EQ(Call("search", {{"query", "x"}, {"k", 0}})["isError"], true);
  EXPECT_EQ(Call("search", {{"query", "x"}, {"k", 51}})["isError"], true);
  EXPECT_EQ(Call("search", {{"query", std::string(5000, 'q')}})["isError"], true);
  EXPECT_NE(Text(Call("put_note", {{"id", "a b"}, {"body", "x"}})).find("letters, digits"), std::string::npos);
  EXPECT_EQ(Call("put_note", {{"id", "m"}, {"body", "x"}, {"metadata", {{"deep", {{"a", 1}}}}}})["isError"], true);
  EXPECT_EQ(Rpc("resources/read", {{"uri", "kbindex://note/a%2"}})["error"]["code"], mcp::kInvalidParams);
  EXPECT_EQ(Rpc("resources/read", {{"uri", "file:///etc/passwd"}})["error"]["code"], mcp::kResourceNotFound);
}

TEST_F(McpToolsTest, IndexStatusIsTheStatsContractWithFailures) {
  Call("put_note", {{"id", "n1"}, {"body", "one"}});
  fake_.reject_ids_containing = "n1";
  Call("sync", json::object());
  auto status = Call("index_status", {{"failures", 5}});
  ASSERT_EQ(status["isError"], false) << status.dump();
  const json& s = status["structuredContent"];
  EXPECT_EQ(s["stats"]["documents"], 1);
  EXPECT_EQ(s["stats"]["sync"]["failed"], 1);
  ASSERT_EQ(s["failures"].size(), 1u);
  EXPECT_EQ(s["failures"][0]["id"], "n1");
  EXPECT_NE(Text(status).find("1 failed"), std::string::npos);
}

TEST_F(McpToolsTest, SyncReportsProgressWhenAsked) {
  for (int i = 0; i < 3; ++i) Call("put_note", {{"id", "p" + std::to_string(i)}, {"body", "text " + std::to_string(i)}});
  std::vector<json> sent;
  auto r = session_->Handle(
      mcp::ClassifyMessage(json{{"jsonrpc", "2.0"}, {"id", 99}, {"method", "tools/call"},
                                {"params", {{"name", "sync"}, {"arguments", json::object()}, {"_meta", {{"progressToken", 5}}}}}}),
      [&](const json& n) { sent.push_back(n); });
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["result"]["structuredContent"]["synced"], 3);
  // "starting" at once; the final figures come in the result, not in a notification racing it.
  ASSERT_GE(sent.size(), 1u);
  EXPECT_EQ(sent.front()["params"]["progress"], 0);
  EXPECT_EQ(sent.front()["params"]["progressToken"], 5);
  for (const auto& n : sent) EXPECT_LT(n["params"]["progress"].get<double>(), 3);
}

TEST(McpNoteUriTest, RoundTrips) {
  EXPECT_EQ(mcp::NoteUri("notes:a/b.md"), "kbindex://note/notes:a/b.md");
  EXPECT_EQ(*mcp::NoteIdFromUri("kbindex://note/notes:a/b.md"), "notes:a/b.md");
  EXPECT_EQ(*mcp::NoteIdFromUri("kbindex://note/notes%3Aa%2Fb.md"), "notes:a/b.md");
  EXPECT_EQ(mcp::NoteIdFromUri("kbindex://note/").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(mcp::NoteIdFromUri("kbindex://note/../x").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(mcp::NoteIdFromUri("kbindex://other/x").status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace kb
