// Untrusted input helpers: JSON with a nesting limit, small regular files only, private folders.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/guard.h"
#include "api/token.h"
#include "kbindex/options.h"
#include "support/temp_dir.h"
#include "util/files.h"
#include "util/json.h"

namespace kb {
namespace {

TEST(ParseJsonTest, RefusesDeepNestingAndOutOfRangeNumbersWithoutCrashing) {
  std::string deep(100'000, '[');
  deep += std::string(100'000, ']');
  auto r = ParseJson(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nested deeper than 64"), std::string::npos) << r.status().message();
  std::string meta = "{\"metadata\":";
  for (int i = 0; i < 100'000; ++i) meta += "{\"a\":";
  meta += "1" + std::string(100'001, '}');
  EXPECT_EQ(ParseJson(meta).status().code(), Status::Code::kInvalidArgument);
  auto big = ParseJson(R"({"n": 1e400})");
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ParseJson("{broken").status().code(), Status::Code::kInvalidArgument);
  std::string ok64(64, '['), ok64_end(64, ']');
  EXPECT_TRUE(ParseJson(ok64 + ok64_end).ok());
  EXPECT_FALSE(ParseJson("[" + ok64 + ok64_end + "]").ok());
  EXPECT_EQ((*ParseJson(R"({"a":[1,2,{"b":"c"}]})"))["a"][2]["b"], "c");
}

TEST(SmallFileTest, AFifoOrAHugeFileIsRefusedAtOnce) {
  test::TempDir dir;
  const std::string fifo = dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto r = ReadSmallFile(fifo, 1024);  // must not block waiting for a writer
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("not a regular file"), std::string::npos);
  test::WriteFile(dir / "big", std::string(5000, 'x'));
  EXPECT_EQ(ReadSmallFile(dir / "big", 1024).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(*ReadSmallFile(dir / "big", 10000), std::string(5000, 'x'));
  EXPECT_EQ(ReadSmallFile(dir / "missing", 10).status().code(), Status::Code::kNotFound);
}

TEST(SmallFileTest, TokenFilesMustBeRegularAndAreNeverCut) {
  test::TempDir dir;
  std::string token;
  ASSERT_EQ(::mkfifo((dir / "fifo-token").c_str(), 0600), 0);
  EXPECT_NE(api::LoadOrCreateToken(dir / "fifo-token", &token).message().find("not a regular file"), std::string::npos);
  test::WriteFile(dir / "long-token", std::string(2000, 'a'));
  ::chmod((dir / "long-token").c_str(), 0600);
  auto st = api::LoadOrCreateToken(dir / "long-token", &token);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("2000 bytes"), std::string::npos) << st.message();
  test::WriteFile(dir / "ok-token", std::string(300, 'b') + "\n");
  ::chmod((dir / "ok-token").c_str(), 0600);
  ASSERT_TRUE(api::LoadOrCreateToken(dir / "ok-token", &token).ok());
  EXPECT_EQ(token.size(), 300u);  // 300 bytes, all of them
}

TEST(SmallFileTest, ConfigFileThatIsAFifoFailsFast) {
  test::TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "config.json").c_str(), 0600), 0);
  auto r = kbindex::LoadOptions(dir / "config.json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not a regular file"), std::string::npos) << r.status().message();
  test::WriteFile(dir / "deep.json", "{\"include\":" + std::string(1000, '[') + std::string(1000, ']') + "}");
  EXPECT_FALSE(kbindex::LoadOptions(dir / "deep.json").ok());
}

TEST(PrivateFoldersTest, CreatedFoldersAre0700) {
  test::TempDir dir;
  ASSERT_TRUE(CreatePrivateDirectories(dir / "a/b/c").ok());
  for (const char* p : {"a", "a/b", "a/b/c"}) {
    struct stat st {};
    ASSERT_EQ(::stat((dir / p).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u) << p;
  }
  test::WriteFile(dir / "file", "x");
  EXPECT_FALSE(CreatePrivateDirectories(dir / "file").ok());
}

TEST(HostCheckTest, OnlyCanonicalLoopbackAddresses) {
  for (const char* no : {"0127.0.0.1", "4294967423.0.0.1", "127.0.0.01", "127.0.0.1.", "127.0.0", "127.0.0.1.2",
                         "127.256.0.1", "0x7f.0.0.1", "127.0.0.1:", "127.0.0.1:99999999999999999999x"}) {
    EXPECT_FALSE(api::IsLoopbackHost(no)) << no;
  }
  for (const char* ok : {"127.0.0.1", "127.0.0.1:7420", "127.10.20.30", "localhost:1"}) {
    EXPECT_TRUE(api::IsLoopbackHost(ok)) << ok;
  }
}

TEST(OptionsTest, PortsCorsOriginsAndBackoffAreChecked) {
  kbindex::Options o;
  o.listen_port = 65537;
  EXPECT_FALSE(kbindex::ValidateOptions(o).ok());
  o.listen_port = -5;
  EXPECT_FALSE(kbindex::ValidateOptions(o).ok());
  o.listen_port = 0;
  EXPECT_TRUE(kbindex::ValidateOptions(o).ok());
  for (const char* bad : {"null", "*", "http://x/path", "evil", "http://", "https://a b"}) {
    o.cors_origins = {bad};
    EXPECT_FALSE(kbindex::ValidateOptions(o).ok()) << bad;
  }
  o.cors_origins = {"http://localhost:3000", "app://kb", "https://[::1]:8080"};
  EXPECT_TRUE(kbindex::ValidateOptions(o).ok());
  o.backoff_base_ms = 0;
  EXPECT_TRUE(kbindex::ValidateOptions(o).ok());
  o.backoff_base_ms = -1;
  EXPECT_FALSE(kbindex::ValidateOptions(o).ok());
}

}  // namespace
}  // namespace kb
