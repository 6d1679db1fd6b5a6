// `kbindex serve` end to end: a real HTTP client against the real binary and a real Chroma.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/process.h"
#include "support/serve_client.h"
#include "support/temp_dir.h"
#include "support/test_chroma.h"
#include "vector/local_chroma.h"

namespace kb {
namespace {

using json = nlohmann::json;

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(chroma_.ok());
    port_ = LocalChroma::FreePort();
    env_ = {{"KBINDEX_DB", dir_ / "kb.db"}, {"KBINDEX_CHROMA_URL", chroma_.url()}};
    pid_ = test::Spawn({KBINDEX_BINARY, "serve", "--port", std::to_string(port_), "--interval", "1"}, env_,
                       dir_ / "serve.log");
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_read_timeout(std::chrono::seconds(30));
    token_ = test::ConnectToServe(*client_, dir_ / "api-token", dir_ / "serve.log");
    ASSERT_FALSE(token_.empty());
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "serve did not stop cleanly\n"
                                                                  << test::ReadFile(dir_ / "serve.log");
    }
  }
  json Get(const std::string& path, int expect = 200) {
    auto r = client_->Get(path);
    EXPECT_TRUE(r) << path;
    if (!r) return json();
    EXPECT_EQ(r->status, expect) << path << ": " << r->body;
    return json::parse(r->body, nullptr, false);
  }
  json Put(const std::string& id, const json& body, int expect = -1) {
    auto r = client_->Put("/v1/documents/" + id, body.dump(), "application/json");
    EXPECT_TRUE(r);
    if (!r) return json();
    if (expect >= 0) {
      EXPECT_EQ(r->status, expect) << r->body;
    }
    return json::parse(r->body, nullptr, false);
  }
  std::vector<std::string> Search(const std::string& q, const std::string& mode, bool* degraded = nullptr) {
    json j = Get("/v1/search?k=20&mode=" + mode + "&q=" + httplib::detail::encode_query_param(q));
    std::vector<std::string> ids;
    for (const auto& h : j["results"]) ids.push_back(h["id"]);
    if (degraded) *degraded = j.value("degraded", false);
    return ids;
  }
  bool WaitFor(const std::function<bool()>& pred, int ms = 20000) {
    for (int i = 0; i < ms / 25; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return pred();
  }
  json WaitJob(const std::string& id) {
    json j;
    WaitFor([&] {
      j = Get("/v1/jobs/" + id);
      return j["state"] == "succeeded" || j["state"] == "failed";
    });
    return j;
  }

  test::TempDir dir_;
  test::TestChroma chroma_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::map<std::string, std::string> env_;
  std::unique_ptr<httplib::Client> client_;
  std::string token_;
};

TEST_F(ApiTest, PushedNotesSyncAndAreFoundInEveryModeUntilDeleted) {
  // Notes that differ like real ones do (a hundred near-identical vectors is a degenerate case
  // for Chroma's approximate HNSW index, which then leaves a few records unreachable).
  static const char* kWords[] = {"harbour", "orchard", "violin", "glacier", "pepper", "copper",
                                 "meadow", "lantern", "cobalt", "saffron", "tundra", "falcon",
                                 "marble", "thistle", "canyon", "walnut", "ember", "quarry"};
  for (int i = 0; i < 100; ++i) {
    std::string words;
    for (int w = 0; w < 6; ++w) words += std::string(kWords[(i * 7 + w * 5) % 18]) + " ";
    json r = Put("note-" + std::to_string(i),
                 json{{"title", "Note " + std::to_string(i)},
                      {"body", "# Note " + std::to_string(i) + "\nquartz" + std::to_string(i) + " " + words +
                                   "lighthouse keeper log " + std::to_string(i)},
                      {"metadata", {{"tags", {"api", "test"}}}}},
                 201);
    ASSERT_EQ(r["sync_status"], "pending");  // answered at once, before any sync
  }
  // One worker pass (interval 1 s; each PUT also nudges it) syncs all of them.
  ASSERT_TRUE(WaitFor([&] { return Get("/v1/stats")["sync"]["synced"] == 100; }))
      << Get("/v1/stats").dump();
  json stats = Get("/v1/stats");
  EXPECT_EQ(stats["documents"], 100);
  EXPECT_EQ(stats["chroma"]["reachable"], true);
  EXPECT_EQ(stats["chroma"]["count"], 100);
  EXPECT_EQ(Get("/v1/documents/note-7")["sync"]["status"], "synced");

  for (const char* mode : {"keyword", "semantic", "hybrid"}) {
    auto ids = Search("quartz42 lighthouse", mode);
    ASSERT_FALSE(ids.empty()) << mode;
    if (std::string(mode) == "semantic") {
      // Chroma's HNSW search is approximate; with the lexical hash embedder the margin over a
      // neighbour can be small, so semantic-only asks for the top three.
      ids.resize(std::min<size_t>(ids.size(), 3));
      EXPECT_NE(std::find(ids.begin(), ids.end(), "note-42"), ids.end()) << mode;
    } else {
      EXPECT_EQ(ids[0], "note-42") << mode;
    }
  }
  // Unchanged PUT is recognised as such.
  json note1 = Get("/v1/documents/note-1?body=true");
  EXPECT_EQ(Put("note-1", json{{"title", "Note 1"}, {"body", note1["body"]}, {"metadata", {{"tags", {"api", "test"}}}}},
                200)["result"],
            "unchanged");

  auto del = client_->Delete("/v1/documents/note-42");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200) << del->body;
  for (const char* mode : {"keyword", "semantic", "hybrid"}) {
    auto ids = Search("quartz42 lighthouse", mode);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), "note-42"), 0) << mode;  // gone at once, everywhere
  }
  // 404 either way: "deleted" while its Chroma removal is pending, "not_found" once purged.
  const std::string code = Get("/v1/documents/note-42", 404)["code"];
  EXPECT_TRUE(code == "deleted" || code == "not_found") << code;
  ASSERT_TRUE(WaitFor([&] { return Get("/v1/stats")["chroma"]["count"] == 99; }));
  EXPECT_EQ(Get("/v1/stats")["tombstoned"], 0);  // purged once Chroma forgot it
}

TEST_F(ApiTest, SecurityAndErrorsAreJsonWithStableCodes) {
  httplib::Client anon("127.0.0.1", port_);
  auto health = anon.Get("/v1/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);  // the one open endpoint
  for (const char* path : {"/v1/stats", "/v1/search?q=x", "/v1/documents/a", "/v1/openapi.json"}) {
    auto r = anon.Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << path;
    EXPECT_EQ(json::parse(r->body)["code"], "unauthorized");
  }
  httplib::Client wrong("127.0.0.1", port_);
  wrong.set_default_headers({{"Authorization", "Bearer " + std::string(64, '0')}});
  EXPECT_EQ(wrong.Get("/v1/stats")->status, 401);

  // DNS rebinding: a page on evil.example resolving to 127.0.0.1 still sends its own Host.
  httplib::Headers foreign{{"Host", "evil.example:7420"}};
  auto rebound = client_->Get("/v1/stats", foreign);
  ASSERT_TRUE(rebound);
  EXPECT_EQ(rebound->status, 403);
  EXPECT_EQ(json::parse(rebound->body)["code"], "forbidden_host");

  auto malformed = client_->Put("/v1/documents/x", "{not json", "application/json");
  EXPECT_EQ(malformed->status, 400);
  EXPECT_EQ(json::parse(malformed->body)["code"], "invalid_json");
  EXPECT_NE(json::parse(malformed->body)["message"].get<std::string>().find("not valid JSON"), std::string::npos);

  auto missing_body = client_->Put("/v1/documents/x", R"({"title":"t"})", "application/json");
  EXPECT_EQ(missing_body->status, 400);
  EXPECT_EQ(json::parse(missing_body->body)["code"], "invalid_document");

  // A note larger than the document limit (10 MiB): 400 with the sizes; a request larger than
  // the HTTP limit (16 MiB): 413. Both JSON.
  auto big = client_->Put("/v1/documents/big", json{{"body", std::string(11u << 20, 'x')}}.dump(), "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 400);
  EXPECT_NE(json::parse(big->body)["message"].get<std::string>().find("the limit is"), std::string::npos);
  auto huge = client_->Put("/v1/documents/huge", std::string(17u << 20, ' '), "application/json");
  if (huge) {  // the server may close before reading it all
    EXPECT_EQ(huge->status, 413);
    EXPECT_EQ(json::parse(huge->body)["code"], "payload_too_large");
  }

  auto bad_id = client_->Put("/v1/documents/..%2Fescape", R"({"body":"x"})", "application/json");
  EXPECT_EQ(bad_id->status, 400);
  EXPECT_EQ(json::parse(bad_id->body)["code"], "invalid_id");

  // Hostile FTS5 text is escaped (200); raw FTS5 syntax errors are a clear 400, never SQL text.
  json ok = Get("/v1/search?mode=keyword&q=" + httplib::detail::encode_query_param("\"unbalanced AND ( NEAR -x *"));
  EXPECT_TRUE(ok["results"].is_array());
  json raw = Get("/v1/search?mode=keyword&raw=true&q=" + httplib::detail::encode_query_param("\"unbalanced"), 400);
  EXPECT_EQ(raw["code"], "invalid_query");
  EXPECT_EQ(raw["message"].get<std::string>().find("SQLITE"), std::string::npos);
  EXPECT_EQ(Get("/v1/search?q=x&k=0", 400)["code"], "invalid_k");
  EXPECT_EQ(Get("/v1/search?q=x&mode=fuzzy", 400)["code"], "invalid_mode");
  EXPECT_EQ(Get("/v1/search?q=" + std::string(1001, 'a'), 400)["code"], "invalid_query");
  EXPECT_EQ(Get("/v1/nope", 404)["code"], "not_found");
  EXPECT_EQ(Get("/v1/jobs/job-12345", 404)["code"], "not_found");
  json spec = Get("/v1/openapi.json");
  EXPECT_EQ(spec["openapi"], "3.0.3");
}

TEST_F(ApiTest, WithChromaStoppedSearchDegradesAndNotesWaitAsPending) {
  Put("before", json{{"body", "# Before\nmarmalade recipe with oranges"}}, 201);
  ASSERT_TRUE(WaitFor([&] { return Get("/v1/stats")["sync"]["synced"] == 1; }));
  chroma_.server().Stop();

  json health = Get("/v1/health");
  EXPECT_EQ(health["status"], "degraded");
  EXPECT_FALSE(health["reasons"].empty());
  bool degraded = false;
  auto ids = Search("marmalade oranges", "hybrid", &degraded);
  EXPECT_TRUE(degraded);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], "before");
  json put = Put("during", json{{"body", "# During\nquince jelly written while Chroma is down"}}, 201);
  EXPECT_EQ(put["sync_status"], "pending");
  EXPECT_EQ(Search("quince jelly", "keyword")[0], "during");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // a worker pass or two fail
  EXPECT_NE(Get("/v1/documents/during")["sync"]["status"], "synced");
  EXPECT_EQ(Get("/v1/documents/during")["sync"]["attempts"], 0);  // an outage uses no attempts

  ASSERT_TRUE(chroma_.server().Restart().ok());
  auto job = client_->Post("/v1/sync", "", "application/json");
  ASSERT_TRUE(job);
  ASSERT_EQ(job->status, 202) << job->body;
  json done = WaitJob(json::parse(job->body)["job"]);
  EXPECT_EQ(done["state"], "succeeded") << done.dump();
  ASSERT_TRUE(WaitFor([&] { return Get("/v1/documents/during")["sync"]["status"] == "synced"; }));
  bool degraded_after = true;
  auto sem = Search("quince jelly", "semantic", &degraded_after);
  EXPECT_FALSE(degraded_after);
  // (Two notes and a lexical hash embedder: membership, not rank, is what this checks.)
  EXPECT_NE(std::find(sem.begin(), sem.end(), "during"), sem.end());
}

TEST_F(ApiTest, IndexAndReindexJobsReportProgressAndResults) {
  EXPECT_EQ(client_->Post("/v1/index", "", "application/json")->status, 400);  // no folders configured
  for (int i = 0; i < 30; ++i) Put("r" + std::to_string(i), json{{"body", "reindex me " + std::to_string(i)}}, 201);
  ASSERT_TRUE(WaitFor([&] { return Get("/v1/stats")["sync"]["synced"] == 30; }));
  auto r = client_->Post("/v1/reindex", "", "application/json");
  ASSERT_EQ(r->status, 202);
  json job = WaitJob(json::parse(r->body)["job"]);
  EXPECT_EQ(job["state"], "succeeded") << job.dump();
  EXPECT_EQ(job["result"]["documents"], 30);
  EXPECT_EQ(job["result"]["switched"], false);
  EXPECT_EQ(client_->Post("/v1/reindex", R"({"embedder":"word2vec"})", "application/json")->status, 400);
}

TEST_F(ApiTest, ReindexWithAnEmbedderSwitchesWithoutAZeroResultWindow) {
  static const char* kWords[] = {"harbour", "orchard", "violin", "glacier", "pepper", "copper", "meadow",
                                 "lantern", "cobalt", "saffron", "tundra", "falcon"};
  for (int i = 0; i < 300; ++i) {
    std::string body = "# Note " + std::to_string(i) + "\n";
    for (int w = 0; w < 8; ++w) body += std::string(kWords[(i * 5 + w * 7) % 12]) + std::to_string(i % 17) + " ";
    Put("s" + std::to_string(i), json{{"body", body}}, 201);
  }
  ASSERT_TRUE(WaitFor([&] { return Get("/v1/stats")["sync"]["synced"] == 300; }));
  EXPECT_EQ(Get("/v1/stats")["embedder"], "hash-v1:384");

  // A second client searches semantically for as long as the switch runs.
  std::atomic<bool> done{false};
  std::atomic<int> queries{0}, empty{0}, errors{0};
  std::thread searcher([&] {
    httplib::Client c("127.0.0.1", port_);
    c.set_default_headers({{"Authorization", "Bearer " + token_}});
    while (!done) {
      auto r = c.Get("/v1/search?mode=semantic&k=5&q=lantern3+harbour3");
      ++queries;
      if (!r || r->status != 200) {
        ++errors;
        continue;
      }
      json j = json::parse(r->body, nullptr, false);
      if (j.value("degraded", true) || j["results"].empty()) ++empty;
    }
  });
  auto r = client_->Post("/v1/reindex", R"({"embedder":"hash","dims":256})", "application/json");
  ASSERT_EQ(r->status, 202) << r->body;
  json job = WaitJob(json::parse(r->body)["job"]);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // some queries after the switch
  done = true;
  searcher.join();
  EXPECT_EQ(job["state"], "succeeded") << job.dump();
  EXPECT_EQ(job["result"]["switched"], true);
  EXPECT_EQ(job["result"]["embedder"], "hash-v1:256");
  EXPECT_GT(queries.load(), 10);
  EXPECT_EQ(empty.load(), 0) << "a semantic search came back empty or degraded during the switch";
  EXPECT_EQ(errors.load(), 0);
  json stats = Get("/v1/stats");
  EXPECT_EQ(stats["embedder"], "hash-v1:256");
  EXPECT_EQ(stats["sync"]["synced"], 300);
  EXPECT_EQ(stats["chroma"]["count"], 300);
}

}  // namespace
}  // namespace kb
