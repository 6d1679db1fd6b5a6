#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/api_documents.h"
#include "api/api_server.h"
#include "api/jobs.h"
#include "api/token.h"
#include "support/temp_dir.h"

namespace kb {
namespace {

using json = nlohmann::json;

TEST(ApiDocumentsTest, ValidatesIds) {
  for (const char* good : {"note-1", "a/b/c.md", "2024:meeting@team+x", "x.y_z~1"}) {
    EXPECT_TRUE(ValidateDocumentId(good).ok()) << good;
  }
  for (const char* bad : {"", "/abs", "trailing/", "a//b", "..", "../up", "a/../b", "sp ace", "q?x", "ü",
                          "a#b"}) {
    EXPECT_EQ(ValidateDocumentId(bad).code(), Status::Code::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(ValidateDocumentId(std::string(513, 'a')).ok());
}

TEST(ApiDocumentsTest, BuildsDocumentsAndRejectsBadBodies) {
  auto d = ApiDocumentFromJson("n1", json{{"body", "# Heading\ntext"}, {"metadata", {{"tags", {"a", "b"}}, {"n", 3}}}}, 1000);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->title, "Heading");
  EXPECT_EQ(d->source, "api");
  EXPECT_FALSE(d->path.has_value());
  auto same = ApiDocumentFromJson("n1", json{{"body", "# Heading\ntext"}, {"metadata", {{"n", 3}, {"tags", {"a", "b"}}}}}, 1000);
  EXPECT_EQ(d->content_hash, same->content_hash);  // key order does not matter
  auto other = ApiDocumentFromJson("n1", json{{"body", "# Heading\ntext"}, {"title", "T"}}, 1000);
  EXPECT_NE(d->content_hash, other->content_hash);
  EXPECT_EQ(ApiDocumentFromJson("n1", json{{"body", "x"}}, 1000)->title, "n1");
  for (const json& bad : {json::array(), json{{"title", "no body"}}, json{{"body", 5}},
                          json{{"body", "x"}, {"metadata", {{"k", {{"nested", 1}}}}}},
                          json{{"body", "x"}, {"extra", 1}}, json{{"body", std::string(2000, 'x')}}}) {
    auto r = ApiDocumentFromJson("n1", bad, 1000);
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << bad.dump().substr(0, 80);
    EXPECT_FALSE(r.status().message().empty());
  }
}

TEST(ApiServerTest, LoopbackHostCheck) {
  for (const char* ok : {"localhost", "LOCALHOST:7420", "127.0.0.1", "127.0.0.1:80", "127.1.2.3:9", "[::1]:7420", "[::1]", "::1"}) {
    EXPECT_TRUE(IsLoopbackHost(ok)) << ok;
  }
  for (const char* no : {"", "evil.com", "localhost.evil.com", "127.0.0.1.nip.io", "10.0.0.1", "[::2]:80",
                         "localhost:80:80", "127.0.0.1:abc", "0.0.0.0", "128.0.0.1"}) {
    EXPECT_FALSE(IsLoopbackHost(no)) << no;
  }
}

TEST(ApiServerTest, TokenFileIsCreatedPrivateAndReused) {
  test::TempDir dir;
  std::string t1, t2;
  ASSERT_TRUE(LoadOrCreateToken(dir / "sub/api-token", &t1).ok());
  EXPECT_EQ(t1.size(), 64u);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "sub/api-token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE(LoadOrCreateToken(dir / "sub/api-token", &t2).ok());
  EXPECT_EQ(t1, t2);
  ::chmod((dir / "sub/api-token").c_str(), 0644);
  EXPECT_FALSE(LoadOrCreateToken(dir / "sub/api-token", &t2).ok());  // readable by others: refused
  EXPECT_TRUE(TokensEqual("abc", "abc"));
  EXPECT_FALSE(TokensEqual("abc", "abd"));
  EXPECT_FALSE(TokensEqual("abc", "abcd"));
}

TEST(JobManagerTest, RunsJobsInOrderAndReportsResults) {
  JobManager jobs(Clock::Real());
  const std::string a = jobs.Submit("one", [](const JobManager::Progress& p) -> Result<json> {
    p(json{{"step", 1}});
    return json{{"done", true}};
  });
  const std::string b = jobs.Submit("two", [](const JobManager::Progress&) -> Result<json> {
    return Status::Unavailable("Chroma down");
  });
  auto finished = [&](const std::string& id) {
    for (int i = 0; i < 1000; ++i) {
      auto j = jobs.Get(id);
      if (j && (j->state == "succeeded" || j->state == "failed")) return *j;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return JobInfo{};
  };
  JobInfo ja = finished(a), jb = finished(b);
  EXPECT_EQ(ja.state, "succeeded");
  EXPECT_EQ(ja.result["done"], true);
  EXPECT_EQ(ja.progress["step"], 1);
  EXPECT_EQ(jb.state, "failed");
  EXPECT_EQ(jb.error, "Chroma down");
  EXPECT_FALSE(jobs.Get("job-999").has_value());
}

TEST(ApiServerTest, OpenApiDocumentIsValidJsonDescribingEveryRoute) {
  json spec = json::parse(ApiServer::OpenApiJson());
  for (const char* path : {"/v1/health", "/v1/stats", "/v1/search", "/v1/documents/{id}", "/v1/failures",
                           "/v1/sync", "/v1/reindex", "/v1/index", "/v1/jobs/{id}", "/v1/openapi.json"}) {
    EXPECT_TRUE(spec["paths"].contains(path)) << path;
  }
  EXPECT_TRUE(spec["paths"]["/v1/documents/{id}"].contains("put"));
  EXPECT_TRUE(spec["paths"]["/v1/documents/{id}"].contains("delete"));
}

}  // namespace
}  // namespace kb
