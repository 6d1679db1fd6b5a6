#include "search/semantic_index.h"
#include "store/meta_keys.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "sync/chunk_records.h"
#include "util/utf8.h"

namespace kb {

using json = nlohmann::json;

std::string MakeExcerpt(std::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 4);
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (c == '#' && (out.empty() || space)) continue;  // heading markers
    if (space) out += ' ';
    space = false;
    out += c;
    if (out.size() >= max_bytes) break;
  }
  if (out.size() >= max_bytes) {
    out.resize(utf8::BoundaryAtOrBefore(out, max_bytes));
    out += "…";
  }
  return out;
}

SemanticIndex::SemanticIndex(DocumentStore& store, VectorStore& vectors, Embedder& embedder,
                             EmbedderResolver resolve, ChunkerOptions chunker, std::string collection)
    : store_(store),
      vectors_(vectors),
      default_embedder_(embedder),
      resolve_(std::move(resolve)),
      chunker_(chunker),
      configured_collection_(std::move(collection)) {}

Result<std::pair<CollectionRef, Embedder*>> SemanticIndex::Active(bool refresh) {
  KB_ASSIGN_OR_RETURN(auto recorded, store_.GetMeta(meta::kEmbedder));
  KB_ASSIGN_OR_RETURN(auto active, store_.GetMeta(meta::kCollection));
  std::lock_guard lock(mu_);
  Embedder* embedder = &default_embedder_;
  if (recorded && *recorded != default_embedder_.Id()) {
    if (!resolve_) {
      return Status::Conflict("this database holds vectors from embedder '" + *recorded + "', not '" +
                              default_embedder_.Id() + "'");
    }
    KB_ASSIGN_OR_RETURN(embedder, resolve_(*recorded));
  }
  const std::string name = active.value_or(configured_collection_);
  if (!collection_ || collection_->name != name || refresh) {
    KB_ASSIGN_OR_RETURN(auto ref, vectors_.GetCollection(name));
    if (!ref) return Status::NotFound("Chroma has no collection '" + name + "' yet (run kbindex sync)");
    collection_ = *ref;
  }
  return std::make_pair(*collection_, embedder);
}

Result<double> SemanticIndex::Floor() {
  KB_ASSIGN_OR_RETURN(auto active, Active(false));
  const std::string id = active.second->Id();
  {
    std::lock_guard lock(mu_);
    if (floor_ && floor_->first == id) return floor_->second;
  }
  KB_ASSIGN_OR_RETURN(auto stored, store_.GetMeta(meta::kSemanticFloor));
  std::optional<FloorCalibration> c;
  if (stored) c = FloorFromJson(*stored);
  if (!c || c->embedder != id) {
    KB_ASSIGN_OR_RETURN(FloorCalibration fresh, CalibrateFloor(*active.second));
    KB_RETURN_IF_ERROR(store_.SetMeta(meta::kSemanticFloor, FloorToJson(fresh)));
    c = fresh;
  }
  std::lock_guard lock(mu_);
  floor_ = std::make_pair(id, c->floor);
  return c->floor;
}

Result<std::vector<SemanticHit>> SemanticIndex::Search(const std::string& query, int k,
                                                       const std::string& source) {
  if (k < 1) return Status::InvalidArgument("k must be at least 1");
  if (auto bad = utf8::FindInvalid(query)) return Status::InvalidArgument("query is not valid UTF-8");
  KB_ASSIGN_OR_RETURN(auto active, Active(false));
  CollectionRef coll = active.first;
  std::vector<std::string_view> texts{query};
  KB_ASSIGN_OR_RETURN(Embeddings e, active.second->Embed(texts));
  std::string where;
  if (!source.empty()) {
    where = json{{"source", source}}.dump();
  }
  const int n = std::min(std::max(k * 4, 20), 300);
  auto hits = vectors_.Query(coll, e.row(0), n, where);
  if (!hits.ok() && hits.status().code() == Status::Code::kNotFound) {
    // The collection was replaced (switch, or recreated): look it up again once.
    KB_ASSIGN_OR_RETURN(active, Active(true));
    coll = active.first;
    KB_ASSIGN_OR_RETURN(e, active.second->Embed(texts));
    hits = vectors_.Query(coll, e.row(0), n, where);
  }
  if (!hits.ok()) return hits.status();

  // Best chunk per document, in distance order.
  struct Best {
    double distance;
    int chunk;
    std::string heading;
    std::optional<std::string> text;
  };
  std::vector<std::string> order;
  std::unordered_map<std::string, Best> best;
  for (const QueryHit& h : *hits) {
    json meta = json::parse(h.metadata_json, nullptr, false);
    std::string doc_id;
    int chunk = 0;
    std::string heading;
    if (meta.is_object()) {
      if (meta.contains("doc_id") && meta["doc_id"].is_string()) doc_id = meta["doc_id"].get<std::string>();
      if (meta.contains("chunk") && meta["chunk"].is_number_integer()) chunk = meta["chunk"].get<int>();
      if (meta.contains("heading") && meta["heading"].is_string()) heading = meta["heading"].get<std::string>();
    }
    if (doc_id.empty()) {
      const auto parts = SplitChunkId(h.id);
      doc_id = parts ? parts->first : h.id;
    }
    if (best.count(doc_id)) continue;  // hits arrive closest first
    best.emplace(doc_id, Best{h.distance, chunk, heading, h.document});
    order.push_back(doc_id);
  }
  KB_ASSIGN_OR_RETURN(auto live, store_.GetLive(order, /*with_body=*/false));
  std::unordered_map<std::string, Document*> by_id;
  for (auto& d : live) by_id.emplace(d.id, &d);
  std::vector<SemanticHit> out;
  for (const std::string& id : order) {
    auto it = by_id.find(id);
    if (it == by_id.end()) continue;  // orphan or tombstone: not a result
    const Best& b = best[id];
    SemanticHit hit;
    hit.doc = std::move(*it->second);
    hit.distance = b.distance;
    hit.chunk = b.chunk;
    hit.heading = b.heading;
    if (b.text) {
      hit.snippet = MakeExcerpt(*b.text);
    } else if (auto full = store_.Get(id); full.ok() && full->has_value()) {
      // Chunk exactly as the sync did, up to the chunk that matched only.
      ChunkerOptions upto = chunker_;
      upto.max_chunks = static_cast<size_t>(std::max(b.chunk, 0)) + 1;
      hit.doc.body = std::move((*full)->body);
      auto chunks = ChunkFor(hit.doc, upto);
      hit.snippet = MakeExcerpt(chunks[std::min<size_t>(static_cast<size_t>(std::max(b.chunk, 0)), chunks.size() - 1)].text);
      hit.doc.body.clear();
      hit.doc.body.shrink_to_fit();
    }
    out.push_back(std::move(hit));
    if (static_cast<int>(out.size()) >= k) break;
  }
  return out;
}

}  // namespace kb
