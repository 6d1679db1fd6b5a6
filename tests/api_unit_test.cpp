// The HTTP API without sockets: the guard, the router and the routes over Services with the
// in-memory vector store. (tests/integration/api_test.cpp drives the real server.)
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/api_server.h"
#include "api/jobs.h"
#include "api/token.h"
#include "scan/scanner.h"
#include "support/fake_vector_store.h"
#include "support/temp_dir.h"
#include "support/test_services.h"

namespace kb {
namespace {

using json = nlohmann::json;
using api::HttpRequest;
using api::HttpResponse;

constexpr const char* kToken = "0123456789abcdef0123456789abcdef";

class ApiHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    services_ = test::OpenTestServices(fake_);
    ASSERT_TRUE(services_);
    api::ApiServerOptions o;
    o.token = kToken;
    o.cors_origins = {"app://kb"};
    server_ = std::make_unique<api::ApiServer>(*services_, o);
  }
  HttpResponse Call(const std::string& method, const std::string& path, const std::string& body = "",
                    bool token = true, const std::string& host = "127.0.0.1:7420") {
    HttpRequest req;
    req.method = method;
    const auto q = path.find('?');
    req.path = path.substr(0, q);
    if (q != std::string::npos) {
      std::string rest = path.substr(q + 1);
      size_t start = 0;
      while (start <= rest.size()) {
        const size_t amp = std::min(rest.find('&', start), rest.size());
        const std::string kv = rest.substr(start, amp - start);
        const auto eq = kv.find('=');
        if (!kv.empty()) req.params.emplace(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
        start = amp + 1;
      }
    }
    req.headers["Host"] = host;
    if (token) req.headers["Authorization"] = std::string("Bearer ") + kToken;
    req.body = body;
    return server_->Handle(req);
  }
  static json Body(const HttpResponse& r) { return json::parse(r.body, nullptr, false); }

  test::FakeVectorStore fake_;
  std::unique_ptr<app::Services> services_;
  std::unique_ptr<api::ApiServer> server_;
};

TEST_F(ApiHandlerTest, GuardRefusesForeignHostsMissingTokensAndForeignOrigins) {
  EXPECT_EQ(Call("GET", "/v1/stats", "", true, "evil.example:7420").status, 403);
  auto r = Call("GET", "/v1/stats", "", false);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(Body(r)["code"], "unauthorized");
  HttpRequest pre;
  pre.method = "OPTIONS";
  pre.path = "/v1/search";
  pre.headers["Host"] = "localhost";
  pre.headers["Origin"] = "https://evil.example";
  EXPECT_EQ(server_->Handle(pre).status, 403);
  pre.headers["Origin"] = "app://kb";
  auto ok = server_->Handle(pre);
  EXPECT_EQ(ok.status, 204);
  bool allow = false;
  for (const auto& [k, v] : ok.headers) allow |= k == "Access-Control-Allow-Origin" && v == "app://kb";
  EXPECT_TRUE(allow);
}

TEST_F(ApiHandlerTest, HealthWithoutTheTokenSaysOnlyOkOrDegraded) {
  auto anonymous = Body(Call("GET", "/v1/health", "", false));
  EXPECT_EQ(anonymous["status"], "ok");
  EXPECT_EQ(anonymous.size(), 1u) << anonymous.dump();  // no URL, version, timings or errors
  auto detailed = Body(Call("GET", "/v1/health"));
  EXPECT_EQ(detailed["status"], "ok");
  EXPECT_TRUE(detailed.contains("chroma"));
  EXPECT_TRUE(detailed.contains("version"));
}

TEST_F(ApiHandlerTest, DocumentsArePutReadAndDeletedThroughTheUseCases) {
  auto put = Call("PUT", "/v1/documents/meeting-42", R"({"title":"Planning","body":"Ship the beta in May.","metadata":{"tags":["work"]}})");
  ASSERT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(Body(put)["result"], "created");
  EXPECT_EQ(Body(put)["sync_status"], "pending");
  EXPECT_EQ(Call("PUT", "/v1/documents/meeting-42", R"({"title":"Planning","body":"Ship the beta in May.","metadata":{"tags":["work"]}})").status, 200);
  auto got = Body(Call("GET", "/v1/documents/meeting-42?body=true"));
  EXPECT_EQ(got["title"], "Planning");
  EXPECT_EQ(got["body"], "Ship the beta in May.");
  EXPECT_EQ(got["metadata"]["tags"][0], "work");
  auto found = Body(Call("GET", "/v1/search?q=beta&mode=keyword"));
  ASSERT_EQ(found["results"].size(), 1u);
  EXPECT_EQ(found["results"][0]["id"], "meeting-42");
  EXPECT_EQ(Call("DELETE", "/v1/documents/meeting-42").status, 200);
  EXPECT_EQ(Call("GET", "/v1/documents/meeting-42").status, 404);
  EXPECT_EQ(Body(Call("GET", "/v1/search?q=beta&mode=keyword"))["results"].size(), 0u);
  EXPECT_EQ(Call("DELETE", "/v1/documents/meeting-42").status, 404);
}

TEST_F(ApiHandlerTest, BadRequestsGetStableCodes) {
  EXPECT_EQ(Body(Call("PUT", "/v1/documents/a%20b", R"({"body":"x"})"))["code"], "invalid_id");
  EXPECT_EQ(Body(Call("PUT", "/v1/documents/n1", "{not json"))["code"], "invalid_json");
  EXPECT_EQ(Body(Call("PUT", "/v1/documents/n1", R"({"body":5})"))["code"], "invalid_document");
  EXPECT_EQ(Body(Call("PUT", "/v1/documents/n1", R"({"body":"x","extra":1})"))["code"], "invalid_document");
  EXPECT_EQ(Body(Call("GET", "/v1/search?q=x&mode=fuzzy"))["code"], "invalid_mode");
  EXPECT_EQ(Body(Call("GET", "/v1/search?q=x&k=0"))["code"], "invalid_k");
  EXPECT_EQ(Body(Call("GET", "/v1/search?q=%22unbalanced&raw=true&mode=keyword"))["code"], "invalid_query");
  EXPECT_EQ(Body(Call("GET", "/v1/search?q=" + std::string(1001, 'a')))["code"], "invalid_query");
  EXPECT_EQ(Call("GET", "/v1/nothing-here").status, 404);
  EXPECT_EQ(Call("PATCH", "/v1/stats").status, 405);
  EXPECT_EQ(Body(Call("POST", "/v1/reindex", R"({"embedder":"magic"})"))["code"], "invalid_request");
  EXPECT_EQ(Body(Call("POST", "/v1/reindex", R"({"colour":"red"})"))["code"], "invalid_request");
}

TEST_F(ApiHandlerTest, FolderNotesCannotBeChangedThroughTheApi) {
  test::TempDir dir;
  test::WriteFile(dir / "notes/a.md", "# A\nfolder note");
  ScanOptions o;
  o.root = dir / "notes";
  ASSERT_TRUE(ScanFolder(services_->store(), o).ok());
  auto put = Call("PUT", "/v1/documents/notes:a.md", R"({"body":"hijack"})");
  EXPECT_EQ(put.status, 409);
  EXPECT_EQ(Body(put)["code"], "not_an_api_document");
  EXPECT_EQ(Call("DELETE", "/v1/documents/notes:a.md").status, 409);
  auto doc = services_->store().Get("notes:a.md");
  ASSERT_TRUE(doc.ok() && doc->has_value());
  EXPECT_EQ((*doc)->body, "# A\nfolder note");
}

TEST(ApiGuardTest, LoopbackHostCheck) {
  for (const char* ok : {"localhost", "LOCALHOST:7420", "127.0.0.1", "127.0.0.1:80", "127.1.2.3:9", "[::1]:7420", "[::1]", "::1"}) {
    EXPECT_TRUE(api::IsLoopbackHost(ok)) << ok;
  }
  for (const char* no : {"", "evil.com", "localhost.evil.com", "127.0.0.1.nip.io", "10.0.0.1", "[::2]:80",
                         "localhost:80:80", "127.0.0.1:abc", "0.0.0.0", "128.0.0.1"}) {
    EXPECT_FALSE(api::IsLoopbackHost(no)) << no;
  }
}

TEST(ApiTokenTest, TokenFileIsCreatedPrivateAndReused) {
  test::TempDir dir;
  std::string t1, t2;
  ASSERT_TRUE(api::LoadOrCreateToken(dir / "sub/api-token", &t1).ok());
  EXPECT_EQ(t1.size(), 64u);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "sub/api-token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE(api::LoadOrCreateToken(dir / "sub/api-token", &t2).ok());
  EXPECT_EQ(t1, t2);
  ::chmod((dir / "sub/api-token").c_str(), 0644);
  EXPECT_FALSE(api::LoadOrCreateToken(dir / "sub/api-token", &t2).ok());  // readable by others: refused
  EXPECT_TRUE(api::TokensEqual("abc", "abc"));
  EXPECT_FALSE(api::TokensEqual("abc", "abd"));
  EXPECT_FALSE(api::TokensEqual("abc", "abcd"));
}

api::JobInfo Finished(api::JobManager& jobs, const std::string& id) {
  for (int i = 0; i < 2000; ++i) {
    auto j = jobs.Get(id);
    if (j && (j->state == "succeeded" || j->state == "failed")) return *j;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return api::JobInfo{};
}

TEST(JobManagerTest, RunsJobsInOrderAndReportsResults) {
  api::JobManager jobs(Clock::Real());
  const std::string a = jobs.Submit("one", "one", [](const api::JobManager::Progress& p) -> Result<json> {
    p(json{{"step", 1}});
    return json{{"done", true}};
  });
  const std::string b = jobs.Submit("two", "two", [](const api::JobManager::Progress&) -> Result<json> {
    return Status::Unavailable("Chroma down");
  });
  api::JobInfo ja = Finished(jobs, a), jb = Finished(jobs, b);
  EXPECT_EQ(ja.state, "succeeded");
  EXPECT_EQ(ja.result["done"], true);
  EXPECT_EQ(ja.progress["step"], 1);
  EXPECT_EQ(jb.state, "failed");
  EXPECT_EQ(jb.error, "Chroma down");
  EXPECT_FALSE(jobs.Get("job-999").has_value());
}

TEST(JobManagerTest, TheSameWorkAskedForAgainWhileQueuedIsQueuedOnce) {
  api::JobManager jobs(Clock::Real());
  std::atomic<bool> release{false};
  std::atomic<int> runs{0};
  // Occupies the runner so that the next ones stay queued.
  const std::string blocker = jobs.Submit("block", "block", [&](const api::JobManager::Progress&) -> Result<json> {
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return json::object();
  });
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(jobs.Submit("reindex", "reindex {}", [&](const api::JobManager::Progress&) -> Result<json> {
      ++runs;
      return json::object();
    }));
  }
  for (const auto& id : ids) EXPECT_EQ(id, ids.front());
  release = true;
  EXPECT_EQ(Finished(jobs, ids.front()).state, "succeeded");
  EXPECT_EQ(runs, 1);
  (void)blocker;
}

TEST(ApiOpenApiTest, DescribesEveryRoute) {
  json spec = json::parse(api::OpenApiJson());
  for (const char* path : {"/v1/health", "/v1/stats", "/v1/search", "/v1/documents/{id}", "/v1/failures",
                           "/v1/sync", "/v1/reindex", "/v1/index", "/v1/jobs/{id}", "/v1/openapi.json"}) {
    EXPECT_TRUE(spec["paths"].contains(path)) << path;
  }
  EXPECT_TRUE(spec["paths"]["/v1/documents/{id}"].contains("put"));
  EXPECT_TRUE(spec["paths"]["/v1/documents/{id}"].contains("delete"));
}

}  // namespace
}  // namespace kb
