#include <gtest/gtest.h>
#include <httplib.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <thread>

#include "embed/hash_embedder.h"
#include "embed/http_embedder.h"
#include "vector/local_chroma.h"

namespace kb {
namespace {

double Dot(std::span<const float> a, std::span<const float> b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d += a[i] * b[i];
  return d;
}

TEST(HashEmbedderTest, DeterministicUnitVectorsThatReflectSharedWords) {
  HashEmbedder e(384);
  EXPECT_EQ(e.Id(), "hash-v1:384");
  std::vector<std::string_view> texts{"Sourdough starter feeding", "sourdough STARTER", "kubernetes pod crash", ""};
  auto v = e.Embed(texts);
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(Dot(v->row(i), v->row(i)), 1.0, 1e-5);
  EXPECT_GT(Dot(v->row(0), v->row(1)), 0.6);  // case-insensitive, shared words
  EXPECT_LT(Dot(v->row(0), v->row(2)), 0.3);
  auto again = e.Embed(texts);
  EXPECT_EQ(again->data, v->data);
}

// A fake Ollama / OpenAI-compatible server on loopback.
class FakeEmbedServer {
 public:
  FakeEmbedServer() {
    server_.Post("/api/embed", [](const httplib::Request& req, httplib::Response& res) {
      auto j = nlohmann::json::parse(req.body);
      nlohmann::json out{{"embeddings", nlohmann::json::array()}};
      for (size_t i = 0; i < j["input"].size(); ++i) out["embeddings"].push_back({3.0, 4.0, 0.0});
      res.set_content(out.dump(), "application/json");
    });
    server_.Post("/v1/embeddings", [this](const httplib::Request& req, httplib::Response& res) {
      ++openai_calls;
      if (req.get_header_value("Authorization") != "Bearer sk-test") {
        res.status = 401;
        res.set_content(R"({"error":"bad key"})", "application/json");
        return;
      }
      auto j = nlohmann::json::parse(req.body);
      nlohmann::json data = nlohmann::json::array();
      // Out of order on purpose: clients must use "index".
      for (int i = static_cast<int>(j["input"].size()) - 1; i >= 0; --i) {
        data.push_back({{"index", i}, {"embedding", {static_cast<double>(i + 1), 0.0}}});
      }
      res.set_content(nlohmann::json{{"data", data}}.dump(), "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeEmbedServer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::atomic<int> openai_calls{0};

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST(HttpEmbedderTest, OllamaApiNormalisesVectors) {
  FakeEmbedServer server;
  EmbedderSpec c;
  c.kind = "ollama";
  c.url = server.url();
  c.model = "nomic-embed-text";
  auto e = MakeEmbedder(c);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ((*e)->Id(), "ollama:nomic-embed-text");
  std::vector<std::string_view> texts{"a", "b"};
  auto v = (*e)->Embed(texts);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->dims, 3);
  EXPECT_NEAR(v->row(1)[0], 0.6f, 1e-6);
  EXPECT_NEAR(v->row(1)[1], 0.8f, 1e-6);
}

TEST(HttpEmbedderTest, OpenAiApiBatchesKeepsOrderAndSendsTheKey) {
  FakeEmbedServer server;
  EmbedderSpec c;
  c.kind = "openai";
  c.url = server.url() + "/v1";
  c.model = "text-embedding-3-small";
  c.api_key = "sk-test";
  c.batch = 2;
  auto e = MakeEmbedder(c);
  ASSERT_TRUE(e.ok());
  std::vector<std::string_view> texts{"a", "b", "c"};
  auto v = (*e)->Embed(texts);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(server.openai_calls, 2);  // batches of 2
  ASSERT_EQ(v->size(), 3u);
  EXPECT_NEAR(v->row(0)[0], 1.0f, 1e-6);  // both rows normalised to (1, 0) in input order
  c.api_key = "wrong";
  auto bad = MakeEmbedder(c);
  auto r = (*bad)->Embed(texts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kRemotePermanent);
  EXPECT_NE(r.status().message().find("401"), std::string::npos);
}

TEST(HttpEmbedderTest, UnreachableServerIsUnavailable) {
  EmbedderSpec c;
  c.kind = "ollama";
  c.url = "http://127.0.0.1:" + std::to_string(LocalChroma::FreePort());
  c.model = "m";
  auto e = MakeEmbedder(c);
  ASSERT_TRUE(e.ok());
  std::vector<std::string_view> texts{"a"};
  auto r = (*e)->Embed(texts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
}

}  // namespace
}  // namespace kb
