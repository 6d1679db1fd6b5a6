#include "support/vector_store_contract.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

namespace kb::test {

namespace {
VectorRecord Rec(const std::string& id, std::vector<float> e, const std::string& doc_id, int rev,
                 std::optional<std::string> text = std::nullopt) {
  float n = 0;
  for (float x : e) n += x * x;
  for (float& x : e) x /= std::sqrt(n);
  VectorRecord r;
  r.id = id;
  r.embedding = std::move(e);
  r.document = std::move(text);
  r.metadata_json = nlohmann::json{{"doc_id", doc_id}, {"rev", rev}, {"chunk", 0}}.dump();
  return r;
}
}  // namespace

void RunVectorStoreContract(VectorStore& store, const std::string& prefix) {
  const std::string name = prefix + "-contract";
  auto c1 = store.GetOrCreateCollection(name);
  ASSERT_TRUE(c1.ok()) << c1.status().ToString();
  auto c2 = store.GetOrCreateCollection(name);
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ(c1->id, c2->id) << "get-or-create must return the existing collection";
  auto missing = store.GetCollection(prefix + "-never-created");
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_FALSE(missing->has_value());
  const CollectionRef c = *c1;

  // Upsert is idempotent; last write wins.
  std::vector<VectorRecord> recs{Rec("a.md#0", {1, 0, 0, 0}, "a.md", 1, "alpha text"),
                                 Rec("b.md#0", {0, 1, 0, 0}, "b.md", 1),
                                 Rec("c d/é#1.md#0", {0, 0, 1, 0}, "c d/é#1.md", 1)};
  ASSERT_TRUE(store.Upsert(c, recs).ok());
  recs[1] = Rec("b.md#0", {0, 1, 0, 0}, "b.md", 2);
  ASSERT_TRUE(store.Upsert(c, recs).ok());
  EXPECT_EQ(store.Count(c).value_or(-1), 3);

  GetRequest get;
  get.ids = {"b.md#0", "a.md#0"};
  get.include_metadatas = true;
  get.include_documents = true;
  auto got = store.Get(c, get);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->ids.size(), 2u);
  for (size_t i = 0; i < got->ids.size(); ++i) {
    auto m = nlohmann::json::parse(got->metadatas_json[i]);
    if (got->ids[i] == "b.md#0") {
      EXPECT_EQ(m["rev"], 2) << "last write must win";
    }
    if (got->ids[i] == "a.md#0") {
      EXPECT_EQ(got->documents[i].value_or(""), "alpha text");
    }
  }
  GetRequest by_where;
  by_where.where_json = R"({"doc_id":"c d/é#1.md"})";
  auto w = store.Get(c, by_where);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_EQ(w->ids.size(), 1u);
  EXPECT_EQ(w->ids[0], "c d/é#1.md#0");

  // Query: closest first; n_results < 1 never reaches the server.
  std::vector<float> q{0.9f, 0.1f, 0, 0};
  auto hits = store.Query(c, q, 2, "");
  ASSERT_TRUE(hits.ok()) << hits.status().ToString();
  ASSERT_EQ(hits->size(), 2u);
  EXPECT_EQ((*hits)[0].id, "a.md#0");
  EXPECT_LT((*hits)[0].distance, (*hits)[1].distance);
  EXPECT_EQ(store.Query(c, q, 0, "").status().code(), Status::Code::kInvalidArgument);

  // QueryMany: one result list per embedding, in order, each as Query gives it; a filter
  // applies to all of them.
  std::vector<float> q2{0, 1, 0, 0};
  const std::span<const float> both[] = {q, q2};
  auto lists = store.QueryMany(c, both, 2, "");
  ASSERT_TRUE(lists.ok()) << lists.status().ToString();
  ASSERT_EQ(lists->size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    auto alone = store.Query(c, both[i], 2, "");
    ASSERT_TRUE(alone.ok());
    ASSERT_EQ((*lists)[i].size(), alone->size()) << "query " << i;
    for (size_t j = 0; j < alone->size(); ++j) {
      EXPECT_EQ((*lists)[i][j].id, (*alone)[j].id) << "query " << i;
      EXPECT_NEAR((*lists)[i][j].distance, (*alone)[j].distance, 1e-5) << "query " << i;
    }
  }
  EXPECT_NE((*lists)[0][0].id, (*lists)[1][0].id);
  auto filtered = store.QueryMany(c, both, 3, R"({"doc_id":"a.md"})");
  ASSERT_TRUE(filtered.ok()) << filtered.status().ToString();
  ASSERT_EQ(filtered->size(), 2u);
  for (const auto& list : *filtered) {
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].id, "a.md#0");
  }
  EXPECT_EQ(store.QueryMany(c, both, 0, "").status().code(), Status::Code::kInvalidArgument);

  // Deletes: an empty list is a no-op, ids and filters remove records.
  std::vector<std::string> none;
  EXPECT_TRUE(store.Delete(c, none).ok());
  EXPECT_EQ(store.Count(c).value_or(-1), 3);
  std::vector<std::string> one{"a.md#0", "not-there#0"};
  EXPECT_TRUE(store.Delete(c, one).ok());
  EXPECT_EQ(store.Count(c).value_or(-1), 2);
  EXPECT_TRUE(store.DeleteWhere(c, R"({"doc_id":"b.md"})").ok());
  EXPECT_EQ(store.Count(c).value_or(-1), 1);

  // More records than one request may carry are split, not refused.
  std::vector<VectorRecord> many;
  const size_t n = std::min<size_t>(store.MaxBatchSize() + 7, 6000);
  for (size_t i = 0; i < n; ++i) many.push_back(Rec("m" + std::to_string(i) + "#0", {1, 1, 0, static_cast<float>(i)}, "m", 1));
  ASSERT_TRUE(store.Upsert(c, many).ok());
  EXPECT_EQ(store.Count(c).value_or(-1), static_cast<int64_t>(n + 1));
  GetRequest page;
  page.limit = 10;
  page.offset = 5;
  EXPECT_EQ(store.Get(c, page)->ids.size(), 10u);

  // A deleted collection is NotFound for record calls.
  ASSERT_TRUE(store.DeleteCollection(name).ok());
  EXPECT_EQ(store.Upsert(c, recs).code(), Status::Code::kNotFound);
  EXPECT_EQ(store.DeleteCollection(name).code(), Status::Code::kNotFound);
}

}  // namespace kb::test
