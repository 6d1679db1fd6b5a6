#include "app/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "support/temp_dir.h"

namespace kb {
namespace {

// Sets an environment variable for the scope of a test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

TEST(ConfigTest, FileThenEnvironmentWithDefaultsForTheRest) {
  test::TempDir dir;
  test::WriteFile(dir / "c.json", R"({"db": "/data/kb.db", "collection": "notes", "chroma_url": "http://file:1",
                                      "include": ["*.md"], "store_text": true, "max_attempts": 5,
                                      "search_mmap_bytes": 1048576})");
  ScopedEnv url("KBINDEX_CHROMA_URL", "http://env:2");
  auto c = LoadConfig(dir / "c.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->db_path, "/data/kb.db");
  EXPECT_EQ(c->collection, "notes");
  EXPECT_EQ(c->chroma_url, "http://env:2");  // the environment wins over the file
  EXPECT_EQ(c->include, std::vector<std::string>{"*.md"});
  EXPECT_TRUE(c->store_text);
  EXPECT_EQ(c->max_attempts, 5);
  EXPECT_EQ(c->search_mmap_bytes, 1048576);
  EXPECT_EQ(c->worker_interval_s, 300);  // untouched default
  EXPECT_TRUE(ValidateConfig(*c).ok());
}

TEST(ConfigTest, MistakesAreReportedNotIgnored) {
  test::TempDir dir;
  test::WriteFile(dir / "typo.json", R"({"colection": "x"})");
  auto typo = LoadConfig(dir / "typo.json");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("unknown setting 'colection'"), std::string::npos);
  test::WriteFile(dir / "type.json", R"({"max_attempts": "three"})");
  EXPECT_FALSE(LoadConfig(dir / "type.json").ok());
  test::WriteFile(dir / "broken.json", "{");
  EXPECT_NE(LoadConfig(dir / "broken.json").status().message().find("not valid JSON"), std::string::npos);
  EXPECT_EQ(LoadConfig(dir / "missing.json").status().code(), Status::Code::kNotFound);
  ScopedEnv bad("KBINDEX_MAX_ATTEMPTS", "lots");
  EXPECT_FALSE(LoadConfig("").ok());
}

TEST(ConfigTest, ValidationNamesTheBadSetting) {
  Config c;
  c.db_path = "x.db";
  c.collection = "a";
  EXPECT_NE(ValidateConfig(c).message().find("collection"), std::string::npos);
  c.collection = "kbindex";
  c.embedder = "word2vec";
  EXPECT_NE(ValidateConfig(c).message().find("embedder"), std::string::npos);
  c.embedder = "";
  c.chunking = "sentences";
  EXPECT_NE(ValidateConfig(c).message().find("chunking"), std::string::npos);
}

TEST(ConfigTest, DefaultDatabaseFollowsXdgDataHome) {
  ScopedEnv xdg("XDG_DATA_HOME", "/tmp/xdg-test");
  EXPECT_EQ(DefaultDataDir(), "/tmp/xdg-test/kbindex");
  auto c = LoadConfig("");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->db_path, "/tmp/xdg-test/kbindex/kbindex.db");
}

}  // namespace
}  // namespace kb
