#include "support/fake_vector_store.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace kb::test {

using json = nlohmann::json;

namespace {
bool MatchesWhere(const std::string& metadata_json, const json& where) {
  if (where.is_null() || where.empty()) return true;
  json meta = json::parse(metadata_json.empty() ? "null" : metadata_json, nullptr, false);
  for (auto& [k, v] : where.items()) {
    if (k == "$and") {
      for (const auto& sub : v) if (!MatchesWhere(metadata_json, sub)) return false;
      continue;
    }
    if (!meta.is_object() || !meta.contains(k)) return false;
    if (v.is_object() && v.contains("$in")) {
      if (std::find(v["$in"].begin(), v["$in"].end(), meta[k]) == v["$in"].end()) return false;
    } else if (v.is_object() && v.contains("$gte")) {
      if (!(meta[k] >= v["$gte"])) return false;
    } else if (meta[k] != v) {
      return false;
    }
  }
  return true;
}
}  // namespace

FakeVectorStore::Coll* FakeVectorStore::Find(const CollectionRef& c) {
  auto it = colls_.find(c.name);
  if (it == colls_.end() || it->second.id != c.id) return nullptr;
  return &it->second;
}

Status FakeVectorStore::Heartbeat() { return Status::Ok(); }

Result<CollectionRef> FakeVectorStore::GetOrCreateCollection(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = colls_.find(name);
  if (it == colls_.end()) it = colls_.emplace(name, Coll{"fake-" + std::to_string(next_id_++), {}}).first;
  return CollectionRef{it->second.id, name};
}

Result<std::optional<CollectionRef>> FakeVectorStore::GetCollection(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = colls_.find(name);
  if (it == colls_.end()) return std::optional<CollectionRef>();
  return std::optional<CollectionRef>(CollectionRef{it->second.id, name});
}

Status FakeVectorStore::DeleteCollection(const std::string& name) {
  std::lock_guard lock(mu_);
  if (!colls_.erase(name)) return Status::NotFound("no collection " + name);
  return Status::Ok();
}

Result<std::vector<std::string>> FakeVectorStore::ListCollections() {
  std::lock_guard lock(mu_);
  std::vector<std::string> names;
  for (const auto& [n, c] : colls_) names.push_back(n);
  return names;
}

Status FakeVectorStore::Upsert(const CollectionRef& c, std::span<const VectorRecord> records) {
  std::lock_guard lock(mu_);
  Coll* coll = Find(c);
  if (!coll) return Status::NotFound("collection " + c.id + " does not exist");
  if (records.empty()) return Status::InvalidArgument("empty upsert");
  for (const auto& r : records) {
    if (!reject_ids_containing.empty() && r.id.find(reject_ids_containing) != std::string::npos) {
      return Status::RemotePermanent("fake: rejected record " + r.id, 400);
    }
  }
  ++write_calls;
  ++upsert_calls;
  for (const auto& r : records) coll->records[r.id] = Stored{r.embedding, r.document, r.metadata_json};
  return Status::Ok();
}

Status FakeVectorStore::Delete(const CollectionRef& c, std::span<const std::string> ids) {
  if (ids.empty()) return Status::Ok();
  std::lock_guard lock(mu_);
  Coll* coll = Find(c);
  if (!coll) return Status::NotFound("collection " + c.id + " does not exist");
  ++write_calls;
  for (const auto& id : ids) coll->records.erase(id);
  return Status::Ok();
}

Status FakeVectorStore::DeleteWhere(const CollectionRef& c, const std::string& where_json) {
  std::lock_guard lock(mu_);
  Coll* coll = Find(c);
  if (!coll) return Status::NotFound("collection does not exist");
  ++write_calls;
  json where = json::parse(where_json);
  for (auto it = coll->records.begin(); it != coll->records.end();) {
    it = MatchesWhere(it->second.metadata_json, where) ? coll->records.erase(it) : std::next(it);
  }
  return Status::Ok();
}

Result<GetResult> FakeVectorStore::Get(const CollectionRef& c, const GetRequest& req) {
  std::lock_guard lock(mu_);
  Coll* coll = Find(c);
  if (!coll) return Status::NotFound("collection does not exist");
  json where = req.where_json.empty() ? json() : json::parse(req.where_json);
  GetResult out;
  int skipped = 0;
  for (const auto& [id, s] : coll->records) {
    if (!req.ids.empty() && std::find(req.ids.begin(), req.ids.end(), id) == req.ids.end()) continue;
    if (!MatchesWhere(s.metadata_json, where)) continue;
    if (skipped++ < req.offset) continue;
    if (req.limit >= 0 && static_cast<int>(out.ids.size()) >= req.limit) break;
    out.ids.push_back(id);
    if (req.include_documents) out.documents.push_back(s.document);
    if (req.include_metadatas) out.metadatas_json.push_back(s.metadata_json);
    if (req.include_embeddings) out.embeddings.push_back(s.embedding);
  }
  return out;
}

Result<std::vector<QueryHit>> FakeVectorStore::Query(const CollectionRef& c, std::span<const float> e,
                                                     int n, const std::string& where_json) {
  if (n < 1) return Status::InvalidArgument("n_results must be at least 1");
  std::lock_guard lock(mu_);
  Coll* coll = Find(c);
  if (!coll) return Status::NotFound("collection does not exist");
  json where = where_json.empty() ? json() : json::parse(where_json);
  std::vector<QueryHit> hits;
  for (const auto& [id, s] : coll->records) {
    if (!MatchesWhere(s.metadata_json, where)) continue;
    double dot = 0;
    for (size_t i = 0; i < std::min(e.size(), s.embedding.size()); ++i) dot += e[i] * s.embedding[i];
    hits.push_back(QueryHit{id, 1.0 - dot});
  }
  std::sort(hits.begin(), hits.end(), [](const QueryHit& a, const QueryHit& b) { return a.distance < b.distance; });
  if (hits.size() > static_cast<size_t>(n)) hits.resize(static_cast<size_t>(n));
  return hits;
}

Result<int64_t> FakeVectorStore::Count(const CollectionRef& c) {
  std::lock_guard lock(mu_);
  Coll* coll = Find(c);
  if (!coll) return Status::NotFound("collection does not exist");
  return static_cast<int64_t>(coll->records.size());
}

std::map<std::string, FakeVectorStore::Stored> FakeVectorStore::Records(const std::string& collection) {
  std::lock_guard lock(mu_);
  auto it = colls_.find(collection);
  return it == colls_.end() ? std::map<std::string, Stored>{} : it->second.records;
}

// ---------------------------------------------------------------- FailingVectorStore

void FailingVectorStore::FailNextWrites(int n, Status status, bool apply_first) {
  std::lock_guard lock(mu_);
  fail_writes_ = n;
  fail_status_ = std::move(status);
  apply_first_ = apply_first;
}

void FailingVectorStore::SetDown(std::optional<Status> status) {
  std::lock_guard lock(mu_);
  down_ = std::move(status);
}

std::optional<Status> FailingVectorStore::Down() {
  std::lock_guard lock(mu_);
  return down_;
}

std::optional<std::pair<Status, bool>> FailingVectorStore::NextWriteFault() {
  std::lock_guard lock(mu_);
  if (down_) return std::make_pair(*down_, false);
  if (fail_writes_ <= 0) return std::nullopt;
  --fail_writes_;
  return std::make_pair(fail_status_, apply_first_);
}

Status FailingVectorStore::Heartbeat() {
  if (auto d = Down()) return *d;
  return inner_.Heartbeat();
}
Result<CollectionRef> FailingVectorStore::GetOrCreateCollection(const std::string& name) {
  if (auto d = Down()) return *d;
  return inner_.GetOrCreateCollection(name);
}
Result<std::optional<CollectionRef>> FailingVectorStore::GetCollection(const std::string& name) {
  if (auto d = Down()) return *d;
  return inner_.GetCollection(name);
}
Status FailingVectorStore::DeleteCollection(const std::string& name) {
  if (auto d = Down()) return *d;
  return inner_.DeleteCollection(name);
}
Result<std::vector<std::string>> FailingVectorStore::ListCollections() {
  if (auto d = Down()) return *d;
  return inner_.ListCollections();
}
Status FailingVectorStore::Upsert(const CollectionRef& c, std::span<const VectorRecord> records) {
  if (auto f = NextWriteFault()) {
    if (f->second) (void)inner_.Upsert(c, records);
    return f->first;
  }
  return inner_.Upsert(c, records);
}
Status FailingVectorStore::Delete(const CollectionRef& c, std::span<const std::string> ids) {
  if (auto f = NextWriteFault()) {
    if (f->second) (void)inner_.Delete(c, ids);
    return f->first;
  }
  return inner_.Delete(c, ids);
}
Status FailingVectorStore::DeleteWhere(const CollectionRef& c, const std::string& where_json) {
  if (auto f = NextWriteFault()) {
    if (f->second) (void)inner_.DeleteWhere(c, where_json);
    return f->first;
  }
  return inner_.DeleteWhere(c, where_json);
}
Result<GetResult> FailingVectorStore::Get(const CollectionRef& c, const GetRequest& request) {
  if (auto d = Down()) return *d;
  return inner_.Get(c, request);
}
void FailingVectorStore::FailNextQueries(int n, Status status) {
  std::lock_guard lock(mu_);
  fail_queries_ = n;
  fail_query_status_ = std::move(status);
}

void FailingVectorStore::OnQuery(std::function<void()> hook) {
  std::lock_guard lock(mu_);
  on_query_ = std::move(hook);
}
std::optional<Status> FailingVectorStore::BeforeQuery() {
  std::function<void()> hook;
  {
    std::lock_guard lock(mu_);
    hook = on_query_;
  }
  if (hook) hook();
  if (auto d = Down()) return d;
  std::lock_guard lock(mu_);
  if (fail_queries_ > 0) {
    --fail_queries_;
    return fail_query_status_;
  }
  return std::nullopt;
}
Result<std::vector<QueryHit>> FailingVectorStore::Query(const CollectionRef& c, std::span<const float> e,
                                                        int n, const std::string& where_json) {
  if (auto failed = BeforeQuery()) return *failed;
  return inner_.Query(c, e, n, where_json);
}
Result<std::vector<std::vector<QueryHit>>> FailingVectorStore::QueryMany(
    const CollectionRef& c, std::span<const std::span<const float>> es, int n, const std::string& where_json) {
  if (auto failed = BeforeQuery()) return *failed;
  return inner_.QueryMany(c, es, n, where_json);
}
Result<int64_t> FailingVectorStore::Count(const CollectionRef& c) {
  if (auto d = Down()) return *d;
  return inner_.Count(c);
}

}  // namespace kb::test
