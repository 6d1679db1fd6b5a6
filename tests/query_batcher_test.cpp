// QueryBatcher over the in-memory vector store: a lone query goes out at once; queries that
// arrive while a request is out go together in one request, each answered with its own
// neighbours; only like queries share a request; a failed request fails all it carried.
#include "vector/query_batcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "support/fake_vector_store.h"

namespace kb {
namespace {

using test::FakeVectorStore;

// Records every request; while closed, requests wait at the gate.
class GatedStore : public FakeVectorStore {
 public:
  Result<std::vector<QueryHit>> Query(const CollectionRef& c, std::span<const float> e, int n,
                                      const std::string& where) override {
    Arrive(1);
    return FakeVectorStore::Query(c, e, n, where);
  }
  Result<std::vector<std::vector<QueryHit>>> QueryMany(const CollectionRef& c,
                                                       std::span<const std::span<const float>> es, int n,
                                                       const std::string& where) override {
    Arrive(es.size());
    if (fail_many) return Status::RemoteTransient("Chroma query: HTTP 500");
    if (throw_many) throw std::runtime_error("out of memory");
    std::vector<std::vector<QueryHit>> out;
    for (std::span<const float> e : es) {
      auto hits = FakeVectorStore::Query(c, e, n, where);
      if (!hits.ok()) return hits.status();
      out.push_back(std::move(*hits));
    }
    return out;
  }

  void Close() {
    std::lock_guard lock(mu);
    open = false;
  }
  void Open() {
    {
      std::lock_guard lock(mu);
      open = true;
    }
    cv.notify_all();
  }
  // Waits until `n` requests have arrived.
  void AwaitRequests(size_t n) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return sizes.size() >= n; });
  }
  std::vector<size_t> Sizes() {
    std::lock_guard lock(mu);
    return sizes;
  }

  bool fail_many = false;
  bool throw_many = false;

 private:
  void Arrive(size_t queries) {
    std::unique_lock lock(mu);
    sizes.push_back(queries);
    cv.notify_all();
    cv.wait(lock, [&] { return open; });
  }
  std::mutex mu;
  std::condition_variable cv;
  bool open = true;
  std::vector<size_t> sizes;  // queries per request, in arrival order
};

class QueryBatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = store_.GetOrCreateCollection("notes");
    ASSERT_TRUE(c.ok());
    coll_ = *c;
    std::vector<VectorRecord> recs;
    for (int i = 0; i < 4; ++i) {
      VectorRecord r;
      r.id = "n" + std::to_string(i) + ".md#0";
      r.embedding.assign(4, 0.0f);
      r.embedding[static_cast<size_t>(i)] = 1.0f;
      r.metadata_json = i % 2 == 0 ? R"({"source":"even"})" : R"({"source":"odd"})";
      recs.push_back(std::move(r));
    }
    ASSERT_TRUE(store_.Upsert(coll_, recs).ok());
  }
  // The unit vector along axis i: its nearest neighbour is note i.
  static std::vector<float> Axis(int i) {
    std::vector<float> e(4, 0.0f);
    e[static_cast<size_t>(i)] = 1.0f;
    return e;
  }
  // Starts a query on its own thread; its nearest neighbour's id lands in `*out`.
  std::thread Ask(QueryBatcher& b, int axis, std::string where, std::string* out, Status* status = nullptr) {
    return std::thread([this, &b, axis, where = std::move(where), out, status] {
      const std::vector<float> e = Axis(axis);
      auto hits = b.Query(coll_, e, 1, where);
      if (status) *status = hits.status();
      if (hits.ok() && !hits->empty()) *out = hits->front().id;
    });
  }
  // Holds the one request slot with a query of axis 0, so the next ones must wait.
  std::thread HoldTheSlot(QueryBatcher& b, std::string* out) {
    store_.Close();
    std::thread t = Ask(b, 0, "", out);
    store_.AwaitRequests(1);
    return t;
  }
  static void AwaitWaiting(QueryBatcher& b, size_t n) {
    for (int i = 0; i < 5000 && b.waiting() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_EQ(b.waiting(), n);
  }
  struct Asked {
    int axis;
    std::string where;
  };
  // Holds the slot with a query of axis 0, asks `asked` while it is held, then lets all go.
  // Returns each query's nearest neighbour: the holding one first, then `asked` in order.
  std::vector<std::string> AskWhileHeld(QueryBatcher& b, const std::vector<Asked>& asked) {
    std::vector<std::string> answers(asked.size() + 1);
    std::vector<std::thread> threads;
    threads.push_back(HoldTheSlot(b, &answers[0]));
    for (size_t i = 0; i < asked.size(); ++i) threads.push_back(Ask(b, asked[i].axis, asked[i].where, &answers[i + 1]));
    AwaitWaiting(b, asked.size());
    store_.Open();
    for (auto& t : threads) t.join();
    return answers;
  }
  std::vector<size_t> SortedSizes() {
    std::vector<size_t> sizes = store_.Sizes();
    std::sort(sizes.begin(), sizes.end());
    return sizes;
  }

  GatedStore store_;
  CollectionRef coll_;
};

TEST_F(QueryBatcherTest, ALoneQueryGoesOutAtOnceByItself) {
  QueryBatcher b(store_, 1);
  const std::vector<float> e = Axis(2);
  auto hits = b.Query(coll_, e, 2);
  ASSERT_TRUE(hits.ok()) << hits.status().ToString();
  ASSERT_EQ(hits->size(), 2u);
  EXPECT_EQ((*hits)[0].id, "n2.md#0");
  EXPECT_EQ(store_.Sizes(), std::vector<size_t>{1});
  EXPECT_EQ(b.counts().requests, 1);
  EXPECT_EQ(b.counts().queries, 1);
}

TEST_F(QueryBatcherTest, QueriesThatArriveWhileTheRequestIsOutGoTogether) {
  QueryBatcher b(store_, 1);
  const auto answers = AskWhileHeld(b, {{1, ""}, {2, ""}, {3, ""}});
  // Each query has its own nearest neighbour, though three shared a request.
  EXPECT_EQ(answers, (std::vector<std::string>{"n0.md#0", "n1.md#0", "n2.md#0", "n3.md#0"}));
  EXPECT_EQ(store_.Sizes(), (std::vector<size_t>{1, 3}));
  EXPECT_EQ(b.counts().requests, 2);
  EXPECT_EQ(b.counts().queries, 4);
  EXPECT_EQ(b.waiting(), 0u);
}

TEST_F(QueryBatcherTest, OnlyQueriesWithTheSameFilterShareARequest) {
  QueryBatcher b(store_, 1);
  const auto answers =
      AskWhileHeld(b, {{2, R"({"source":"even"})"}, {2, R"({"source":"odd"})"}, {0, R"({"source":"even"})"}});
  EXPECT_EQ(answers[1], "n2.md#0");
  EXPECT_TRUE(answers[2] == "n1.md#0" || answers[2] == "n3.md#0") << answers[2];  // the filter held
  EXPECT_EQ(answers[3], "n0.md#0");
  EXPECT_EQ(SortedSizes(), (std::vector<size_t>{1, 1, 2}));  // the first, the odd one, the two even ones
}

TEST_F(QueryBatcherTest, ARequestCarriesAtMostMaxBatchQueries) {
  QueryBatcher b(store_, 1, 2);
  const auto answers = AskWhileHeld(b, {{1, ""}, {2, ""}, {3, ""}});
  EXPECT_EQ(answers, (std::vector<std::string>{"n0.md#0", "n1.md#0", "n2.md#0", "n3.md#0"}));
  EXPECT_EQ(SortedSizes(), (std::vector<size_t>{1, 1, 2}));
}

TEST_F(QueryBatcherTest, TwoRequestsMayBeOutAtOnce) {
  QueryBatcher b(store_, 2);
  std::string a0, a1;
  store_.Close();
  std::thread t0 = Ask(b, 0, "", &a0);
  std::thread t1 = Ask(b, 1, "", &a1);
  store_.AwaitRequests(2);  // both went out without waiting for each other
  EXPECT_EQ(b.waiting(), 0u);
  store_.Open();
  t0.join();
  t1.join();
  EXPECT_EQ(a0, "n0.md#0");
  EXPECT_EQ(a1, "n1.md#0");
}

TEST_F(QueryBatcherTest, AFailedRequestFailsEveryQueryItCarriedAndTheNextOneGoesOut) {
  QueryBatcher b(store_, 1);
  std::string first, a1, a2;
  Status s1, s2;
  std::thread t0 = HoldTheSlot(b, &first);
  std::thread t1 = Ask(b, 1, "", &a1, &s1);
  std::thread t2 = Ask(b, 2, "", &a2, &s2);
  AwaitWaiting(b, 2);
  store_.fail_many = true;
  store_.Open();
  for (auto* t : {&t0, &t1, &t2}) t->join();
  EXPECT_EQ(first, "n0.md#0");
  EXPECT_EQ(s1.code(), Status::Code::kRemoteTransient);
  EXPECT_EQ(s2.code(), Status::Code::kRemoteTransient);
  EXPECT_NE(s1.message().find("HTTP 500"), std::string::npos) << s1.ToString();
  const std::vector<float> e = Axis(3);
  auto later = b.Query(coll_, e, 1);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->front().id, "n3.md#0");
}

TEST_F(QueryBatcherTest, AStoreThatThrowsFailsTheQueriesAndFreesTheSlot) {
  QueryBatcher b(store_, 1);
  store_.throw_many = true;
  const auto answers = AskWhileHeld(b, {{1, ""}, {2, ""}});
  EXPECT_EQ(answers, (std::vector<std::string>{"n0.md#0", "", ""}));  // the two shared the throwing request
  store_.throw_many = false;
  const std::vector<float> e = Axis(3);
  auto later = b.Query(coll_, e, 1);  // the slot was handed back
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  EXPECT_EQ(later->front().id, "n3.md#0");
}

}  // namespace
}  // namespace kb
