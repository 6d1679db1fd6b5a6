#include "vector/chroma_client.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <nlohmann/json.hpp>

namespace kb {

using json = nlohmann::json;

namespace {

constexpr const char* kService = "Chroma";

bool IsSimpleName(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') return false;
  }
  return true;
}

// Parses a 2xx body as JSON, or explains why not.
Result<json> ParseBody(const std::string& what, const HttpResponse& r) {
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded()) {
    return Status::RemoteTransient(std::string(kService) + " " + what +
                                   ": reply is not JSON: " + r.body.substr(0, 200));
  }
  return j;
}

Result<CollectionRef> ParseCollection(const json& j) {
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string() || !j.contains("name")) {
    return Status::RemoteTransient("Chroma returned an unexpected collection object: " +
                                   j.dump().substr(0, 200));
  }
  return CollectionRef{j["id"].get<std::string>(), j["name"].get<std::string>()};
}

}  // namespace

std::string EncodeEmbeddingBase64(std::span<const float> embedding) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const size_t n = embedding.size() * sizeof(float);
  const auto* bytes = reinterpret_cast<const unsigned char*>(embedding.data());  // x86-64: LE
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (i < n) {
    uint32_t v = bytes[i] << 16;
    if (i + 1 < n) v |= bytes[i + 1] << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < n ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

ChromaClient::ChromaClient(ChromaOptions options, std::unique_ptr<HttpClient> http)
    : options_(std::move(options)), http_(std::move(http)) {}

Result<std::unique_ptr<ChromaClient>> ChromaClient::Create(const ChromaOptions& options) {
  if (!IsSimpleName(options.tenant) || !IsSimpleName(options.database)) {
    return Status::InvalidArgument("Chroma tenant and database names may only contain letters, "
                                   "digits, '_', '-' and '.'");
  }
  HttpOptions h;
  h.base_url = options.url;
  h.service = kService;
  h.connect_timeout_ms = options.connect_timeout_ms;
  h.timeout_ms = options.timeout_ms;
  if (!options.token.empty()) {
    h.headers.emplace_back("Authorization", "Bearer " + options.token);
    h.headers.emplace_back("X-Chroma-Token", options.token);
  }
  KB_ASSIGN_OR_RETURN(auto http, HttpClient::Create(h));
  return std::unique_ptr<ChromaClient>(new ChromaClient(options, std::move(http)));
}

std::string ChromaClient::DatabasePath() const {
  return "/api/v2/tenants/" + options_.tenant + "/databases/" + options_.database;
}

std::string ChromaClient::CollectionPath(const CollectionRef& c) const {
  return DatabasePath() + "/collections/" + c.id;
}

Status ChromaClient::Heartbeat() {
  KB_ASSIGN_OR_RETURN(HttpResponse r, http_->Get("/api/v2/heartbeat"));
  if (!r.ok()) return HttpStatusError(kService, "heartbeat", r);
  return Status::Ok();
}

Result<std::string> ChromaClient::Version() {
  KB_ASSIGN_OR_RETURN(HttpResponse r, http_->Get("/api/v2/version"));
  if (!r.ok()) return HttpStatusError(kService, "version", r);
  KB_ASSIGN_OR_RETURN(json j, ParseBody("version", r));
  return j.is_string() ? j.get<std::string>() : j.dump();
}

size_t ChromaClient::MaxBatchSize() {
  std::lock_guard lock(mu_);
  if (max_batch_size_ > 0) return max_batch_size_;
  auto r = http_->Get("/api/v2/pre-flight-checks");
  if (r.ok() && r->ok()) {
    json j = json::parse(r->body, nullptr, false);
    if (!j.is_discarded() && j.contains("max_batch_size") && j["max_batch_size"].is_number_integer()) {
      max_batch_size_ = std::max<size_t>(1, j["max_batch_size"].get<size_t>());
      return max_batch_size_;
    }
  }
  return 1000;  // conservative until the server tells us (not cached)
}

size_t ChromaClient::EstimateRecordBytes(const VectorRecord& r) const {
  // base64 vector + quotes/commas + id + metadata + document (escaping can add a little).
  return (r.embedding.size() * 4 + 2) / 3 * 4 + 8 + r.id.size() * 2 + r.metadata_json.size() +
         (r.document ? r.document->size() + r.document->size() / 8 + 8 : 8);
}

Result<CollectionRef> ChromaClient::GetOrCreateCollection(const std::string& name) {
  json body{{"name", name},
            {"get_or_create", true},
            {"configuration", {{"hnsw", {{"space", "cosine"}}}}},
            {"metadata", {{"created_by", "kbindex"}}}};
  KB_ASSIGN_OR_RETURN(HttpResponse r, http_->Post(DatabasePath() + "/collections", body.dump()));
  if (!r.ok()) return HttpStatusError(kService, "get-or-create collection '" + name + "'", r);
  KB_ASSIGN_OR_RETURN(json j, ParseBody("get-or-create collection", r));
  auto ref = ParseCollection(j);
  if (ref.ok()) {
    const json* space = nullptr;
    if (j.contains("configuration_json") && j["configuration_json"].is_object() &&
        j["configuration_json"].contains("hnsw") && j["configuration_json"]["hnsw"].is_object()) {
      const json& hnsw = j["configuration_json"]["hnsw"];
      if (hnsw.contains("space")) space = &hnsw["space"];
    }
    if (space && space->is_string() && space->get<std::string>() != "cosine") {
      spdlog::warn("Chroma collection '{}' uses '{}' distance, not cosine (created elsewhere?)", name,
                   space->get<std::string>());
    }
  }
  return ref;
}

Result<std::optional<CollectionRef>> ChromaClient::GetCollection(const std::string& name) {
  KB_ASSIGN_OR_RETURN(HttpResponse r, http_->Get(DatabasePath() + "/collections/" + name));
  if (r.status == 404) return std::optional<CollectionRef>();
  if (!r.ok()) return HttpStatusError(kService, "get collection '" + name + "'", r);
  KB_ASSIGN_OR_RETURN(json j, ParseBody("get collection", r));
  KB_ASSIGN_OR_RETURN(CollectionRef ref, ParseCollection(j));
  return std::optional<CollectionRef>(std::move(ref));
}

Status ChromaClient::DeleteCollection(const std::string& name) {
  KB_ASSIGN_OR_RETURN(HttpResponse r, http_->Delete(DatabasePath() + "/collections/" + name));
  if (!r.ok()) return HttpStatusError(kService, "delete collection '" + name + "'", r);
  return Status::Ok();
}

Result<std::vector<std::string>> ChromaClient::ListCollections() {
  std::vector<std::string> names;
  for (int offset = 0;; offset += 100) {
    KB_ASSIGN_OR_RETURN(HttpResponse r, http_->Get(DatabasePath() + "/collections?limit=100&offset=" +
                                                   std::to_string(offset)));
    if (!r.ok()) return HttpStatusError(kService, "list collections", r);
    KB_ASSIGN_OR_RETURN(json j, ParseBody("list collections", r));
    if (!j.is_array()) return Status::RemoteTransient("Chroma list collections: not an array");
    for (const auto& c : j) {
      if (c.contains("name") && c["name"].is_string()) names.push_back(c["name"].get<std::string>());
    }
    if (j.size() < 100) break;
  }
  return names;
}

Status ChromaClient::Upsert(const CollectionRef& c, std::span<const VectorRecord> records) {
  const size_t max_count = MaxBatchSize();
  size_t start = 0;
  while (start < records.size()) {
    size_t end = start, bytes = 64;
    while (end < records.size() && end - start < max_count) {
      const size_t b = EstimateRecordBytes(records[end]);
      if (end > start && bytes + b > options_.max_request_bytes) break;
      bytes += b;
      ++end;
    }
    KB_RETURN_IF_ERROR(UpsertOne(c, records.subspan(start, end - start)));
    start = end;
  }
  return Status::Ok();
}

Status ChromaClient::UpsertOne(const CollectionRef& c, std::span<const VectorRecord> records) {
  if (records.empty()) return Status::Ok();
  bool any_document = false;
  size_t reserve = 64;
  for (const auto& r : records) {
    any_document |= r.document.has_value();
    reserve += EstimateRecordBytes(r);
  }
  std::string body;
  body.reserve(reserve);
  body += "{\"ids\":[";
  for (size_t i = 0; i < records.size(); ++i) {
    if (i) body += ',';
    AppendJsonString(body, records[i].id);
  }
  body += "],\"embeddings\":[";
  for (size_t i = 0; i < records.size(); ++i) {
    if (i) body += ',';
    body += '"';
    body += EncodeEmbeddingBase64(records[i].embedding);
    body += '"';
  }
  body += "],\"metadatas\":[";
  for (size_t i = 0; i < records.size(); ++i) {
    if (i) body += ',';
    body += records[i].metadata_json.empty() ? "null" : records[i].metadata_json;
  }
  body += ']';
  if (any_document) {
    body += ",\"documents\":[";
    for (size_t i = 0; i < records.size(); ++i) {
      if (i) body += ',';
      if (records[i].document) {
        AppendJsonString(body, *records[i].document);
      } else {
        body += "null";
      }
    }
    body += ']';
  }
  body += '}';
  KB_ASSIGN_OR_RETURN(HttpResponse r, http_->Post(CollectionPath(c) + "/upsert", body));
  if (r.status == 413 && records.size() > 1) {
    // Our size estimate was off: halve and try again.
    const size_t half = records.size() / 2;
    KB_RETURN_IF_ERROR(UpsertOne(c, records.subspan(0, half)));
    return UpsertOne(c, records.subspan(half));
  }
  if (!r.ok()) {
    return HttpStatusError(kService, "upsert of " + std::to_string(records.size()) + " records", r);
  }
  return Status::Ok();
}

Status ChromaClient::Delete(const CollectionRef& c, std::span<const std::string> ids) {
  const size_t max_count = MaxBatchSize();
  for (size_t start = 0; start < ids.size(); start += max_count) {
    KB_RETURN_IF_ERROR(DeleteIdsOne(c, ids.subspan(start, std::min(max_count, ids.size() - start))));
  }
  return Status::Ok();
}

Status ChromaClient::DeleteIdsOne(const CollectionRef& c, std::span<const std::string> ids) {
  if (ids.empty()) return Status::Ok();  // never send an empty id list
  std::string body = "{\"ids\":[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) body += ',';
    AppendJsonString(body, ids[i]);
  }
  body += "]}";
  KB_ASSIGN_OR_RETURN(HttpResponse r, http_->Post(CollectionPath(c) + "/delete", body));
  if (!r.ok()) return HttpStatusError(kService, "delete of " + std::to_string(ids.size()) + " ids", r);
  return Status::Ok();
}

Status ChromaClient::DeleteWhere(const CollectionRef& c, const std::string& where_json) {
  if (where_json.empty() || where_json == "{}") {
    return Status::InvalidArgument("refusing a delete without a filter");
  }
  KB_ASSIGN_OR_RETURN(HttpResponse r,
                      http_->Post(CollectionPath(c) + "/delete", "{\"where\":" + where_json + "}"));
  if (!r.ok()) return HttpStatusError(kService, "delete by filter", r);
  return Status::Ok();
}

Result<GetResult> ChromaClient::Get(const CollectionRef& c, const GetRequest& req) {
  json body = json::object();
  if (!req.ids.empty()) body["ids"] = req.ids;
  if (!req.where_json.empty()) {
    json where = json::parse(req.where_json, nullptr, false);
    if (where.is_discarded()) return Status::InvalidArgument("where filter is not JSON");
    body["where"] = where;
  }
  if (req.limit >= 0) body["limit"] = req.limit;
  if (req.offset > 0) body["offset"] = req.offset;
  json include = json::array();
  if (req.include_documents) include.push_back("documents");
  if (req.include_metadatas) include.push_back("metadatas");
  if (req.include_embeddings) include.push_back("embeddings");
  body["include"] = include;
  KB_ASSIGN_OR_RETURN(HttpResponse r, http_->Post(CollectionPath(c) + "/get", body.dump()));
  if (!r.ok()) return HttpStatusError(kService, "get", r);
  KB_ASSIGN_OR_RETURN(json j, ParseBody("get", r));
  GetResult out;
  try {
    out.ids = j.at("ids").get<std::vector<std::string>>();
    if (req.include_documents && j.contains("documents") && j["documents"].is_array()) {
      for (const auto& d : j["documents"]) {
        out.documents.push_back(d.is_string() ? std::optional<std::string>(d.get<std::string>())
                                              : std::nullopt);
      }
    }
    if (req.include_metadatas && j.contains("metadatas") && j["metadatas"].is_array()) {
      for (const auto& m : j["metadatas"]) out.metadatas_json.push_back(m.dump());
    }
    if (req.include_embeddings && j.contains("embeddings") && j["embeddings"].is_array()) {
      for (const auto& e : j["embeddings"]) out.embeddings.push_back(e.get<std::vector<float>>());
    }
  } catch (const json::exception& e) {
    return Status::RemoteTransient(std::string("Chroma get: unexpected reply: ") + e.what());
  }
  return out;
}

Result<std::vector<QueryHit>> ChromaClient::Query(const CollectionRef& c,
                                                  std::span<const float> embedding, int n_results,
                                                  const std::string& where_json) {
  const std::span<const float> one[] = {embedding};
  KB_ASSIGN_OR_RETURN(auto lists, QueryMany(c, one, n_results, where_json));
  return std::move(lists.front());
}

Result<std::vector<std::vector<QueryHit>>> ChromaClient::QueryMany(
    const CollectionRef& c, std::span<const std::span<const float>> embeddings, int n_results,
    const std::string& where_json) {
  if (n_results < 1) return Status::InvalidArgument("n_results must be at least 1");
  if (embeddings.empty()) return Status::InvalidArgument("no query embeddings");
  json vectors = json::array();
  for (std::span<const float> e : embeddings) {
    if (e.empty()) return Status::InvalidArgument("empty query embedding");
    vectors.push_back(json(std::vector<float>(e.begin(), e.end())));
  }
  json body{{"query_embeddings", std::move(vectors)}, {"n_results", n_results}, {"include", json::array({"distances"})}};
  if (!where_json.empty()) {
    json where = json::parse(where_json, nullptr, false);
    if (where.is_discarded()) return Status::InvalidArgument("where filter is not JSON");
    body["where"] = where;
  }
  KB_ASSIGN_OR_RETURN(HttpResponse r, http_->Post(CollectionPath(c) + "/query", body.dump()));
  if (!r.ok()) return HttpStatusError(kService, "query", r);
  KB_ASSIGN_OR_RETURN(json j, ParseBody("query", r));
  std::vector<std::vector<QueryHit>> lists(embeddings.size());
  try {
    const json& ids = j.at("ids");
    const json* distances = j.contains("distances") && j["distances"].is_array() ? &j["distances"] : nullptr;
    if (!ids.is_array() || ids.size() != embeddings.size()) {
      return Status::RemoteTransient("Chroma query: " + std::to_string(ids.is_array() ? ids.size() : 0) +
                                     " result lists for " + std::to_string(embeddings.size()) + " queries");
    }
    for (size_t q = 0; q < ids.size(); ++q) {
      const json& row = ids[q];
      const json* dist = distances && q < distances->size() && (*distances)[q].is_array() ? &(*distances)[q] : nullptr;
      lists[q].reserve(row.size());
      for (size_t i = 0; i < row.size(); ++i) {
        QueryHit h;
        h.id = row[i].get<std::string>();
        if (dist) h.distance = dist->at(i).get<double>();
        lists[q].push_back(std::move(h));
      }
    }
  } catch (const json::exception& e) {
    return Status::RemoteTransient(std::string("Chroma query: unexpected reply: ") + e.what());
  }
  return lists;
}

Result<int64_t> ChromaClient::Count(const CollectionRef& c) {
  KB_ASSIGN_OR_RETURN(HttpResponse r, http_->Get(CollectionPath(c) + "/count"));
  if (!r.ok()) return HttpStatusError(kService, "count", r);
  KB_ASSIGN_OR_RETURN(json j, ParseBody("count", r));
  if (!j.is_number_integer()) return Status::RemoteTransient("Chroma count: not an integer");
  return j.get<int64_t>();
}

}  // namespace kb
