// The kbindex binary end to end: what a user types, against a real Chroma.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/process.h"
#include "support/temp_dir.h"
#include "support/test_chroma.h"

namespace kb {
namespace {

using json = nlohmann::json;
using test::Kbindex;

const std::string kSample = std::string(KBINDEX_SOURCE_DIR) + "/examples/notes";

TEST(CliTest, IndexSearchStatsShowAgainstAConfiguredChroma) {
  test::TempDir dir;
  test::TestChroma chroma;
  ASSERT_TRUE(chroma.ok());
  std::map<std::string, std::string> env{{"KBINDEX_DB", dir / "kb.db"}, {"KBINDEX_CHROMA_URL", chroma.url()}};
  auto idx = Kbindex({"index", kSample, "--json"}, env);
  ASSERT_EQ(idx.exit_code, 0) << idx.err;
  auto j = json::parse(idx.out);
  EXPECT_GE(j["scans"][0]["added"].get<int>(), 20);
  EXPECT_EQ(j["sync"]["failed"], 0);
  EXPECT_EQ(j["sync"]["synced"], j["scans"][0]["added"]);

  auto stats = Kbindex({"stats", "--json"}, env);
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  auto s = json::parse(stats.out);
  EXPECT_EQ(s["documents"], j["scans"][0]["added"]);
  EXPECT_EQ(s["sync"]["synced"], s["documents"]);
  EXPECT_EQ(s["sync"]["pending"], 0);
  EXPECT_EQ(s["sync"]["failed"], 0);
  EXPECT_EQ(s["chroma"]["reachable"], true);
  EXPECT_GE(s["chroma"]["count"].get<int>(), s["documents"].get<int>());
  EXPECT_EQ(s["lastSyncRun"]["kind"], "index");
  EXPECT_EQ(s["embedder"], "hash-v1:384");

  for (const char* mode : {"keyword", "semantic", "hybrid"}) {
    auto r = Kbindex({"search", "--mode", mode, "--json", "sourdough starter"}, env);
    ASSERT_EQ(r.exit_code, 0) << mode << ": " << r.err;
    auto sj = json::parse(r.out);
    EXPECT_EQ(sj["degraded"], false) << mode;
    ASSERT_FALSE(sj["results"].empty()) << mode;
    EXPECT_EQ(sj["results"][0]["id"], "notes:cooking/sourdough.md") << mode;
  }
  auto hostile = Kbindex({"search", "\"unbalanced AND ( NEAR -x *"}, env);
  EXPECT_EQ(hostile.exit_code, 0) << hostile.err;
  auto raw = Kbindex({"search", "--mode", "keyword", "--raw", "\"unbalanced"}, env);
  EXPECT_EQ(raw.exit_code, 1);
  EXPECT_NE(raw.err.find("invalid search query"), std::string::npos) << raw.err;

  auto show = Kbindex({"show", "notes:cooking/sourdough.md", "--json"}, env);
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_EQ(json::parse(show.out)["sync"]["status"], "synced");
  EXPECT_EQ(Kbindex({"show", "notes:nope.md"}, env).exit_code, 1);
  EXPECT_EQ(Kbindex({"frobnicate"}, env).exit_code, 2);
  EXPECT_EQ(Kbindex({"search"}, env).exit_code, 2);
}

TEST(CliTest, ChromaDownLeavesDocumentsFailedAndKeywordSearchWorking) {
  test::TempDir dir;
  std::map<std::string, std::string> env{
      {"KBINDEX_DB", dir / "kb.db"},
      {"KBINDEX_CHROMA_URL", "http://127.0.0.1:" + std::to_string(LocalChroma::FreePort())}};
  auto idx = Kbindex({"index", kSample}, env);
  EXPECT_EQ(idx.exit_code, 1);
  EXPECT_NE(idx.out.find("failed"), std::string::npos) << idx.out;
  auto stats = json::parse(Kbindex({"stats", "--json"}, env).out);
  EXPECT_EQ(stats["sync"]["failed"], stats["documents"]);
  EXPECT_EQ(stats["chroma"]["reachable"], false);
  auto r = Kbindex({"search", "--json", "sourdough"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto sj = json::parse(r.out);
  EXPECT_EQ(sj["degraded"], true);
  ASSERT_FALSE(sj["results"].empty());
  EXPECT_EQ(sj["results"][0]["id"], "notes:cooking/sourdough.md");

  // Chroma comes up: `kbindex sync` brings everything across.
  test::TestChroma chroma;
  ASSERT_TRUE(chroma.ok());
  env["KBINDEX_CHROMA_URL"] = chroma.url();
  auto sync = Kbindex({"sync"}, env);
  EXPECT_EQ(sync.exit_code, 0) << sync.out << sync.err;
  auto after = json::parse(Kbindex({"stats", "--json"}, env).out);
  EXPECT_EQ(after["sync"]["synced"], after["documents"]);
}

TEST(CliTest, WithoutAUrlKbindexStartsAndStopsTheLocalChroma) {
  test::TempDir dir;
  std::map<std::string, std::string> env{{"KBINDEX_DB", dir / "kb.db"}};
  auto idx = Kbindex({"index", kSample, "--json"}, env);
  ASSERT_EQ(idx.exit_code, 0) << idx.err;
  EXPECT_EQ(json::parse(idx.out)["sync"]["failed"], 0);
  EXPECT_TRUE(std::filesystem::exists(dir / "kb.db.chroma"));
  // Stopped on exit: no server state left behind.
  EXPECT_FALSE(std::filesystem::exists(dir / "kb.db.chroma/kbindex-server.json"));
  auto stats = json::parse(Kbindex({"stats", "--json"}, env).out);
  EXPECT_EQ(stats["chroma"]["reachable"], true);
  EXPECT_EQ(stats["sync"]["synced"], stats["documents"]);
  EXPECT_GT(stats["chroma"]["count"].get<int>(), 0);  // the data outlived the server
}

}  // namespace
}  // namespace kb
