#include "search/semantic_index.h"
#include "store/meta_keys.h"

#include <algorithm>
#include <span>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "sync/chunk_records.h"
#include "util/utf8.h"

namespace kb {

using json = nlohmann::json;

namespace {
// The documents of a GetLive by id.
std::unordered_map<std::string, Document*> ById(std::vector<Document>& docs) {
  std::unordered_map<std::string, Document*> out;
  for (auto& d : docs) out.emplace(d.id, &d);
  return out;
}
}  // namespace

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

std::optional<PlannedChunk> SentChunk(const Document& doc, int n, ChunkerOptions options) {
  if (n < 0) return std::nullopt;
  // Identical chunks are sent once, so sent chunk n stands at position n unless an identical
  // chunk came before it: plan the first n + 1 chunks, and the whole note only if that is short.
  const size_t cap = options.max_chunks;
  const size_t want = static_cast<size_t>(n) + 1;
  if (cap == 0 || want < cap) options.max_chunks = want;
  ChunkPlan plan = PlanChunks(doc, options);
  if (plan.chunks.size() < want && plan.truncated) {
    options.max_chunks = cap;
    plan = PlanChunks(doc, options);
  }
  if (plan.chunks.empty()) return std::nullopt;
  return std::move(plan.chunks[std::min(plan.chunks.size(), want) - 1]);
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
  static const std::string kKeys[] = {meta::kEmbedder, meta::kCollection};
  KB_ASSIGN_OR_RETURN(auto values, store_.GetMetas(kKeys));
  const std::optional<std::string>& recorded = values[0];
  const std::optional<std::string>& active = values[1];
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
                                                       const std::string& source, bool excerpts) {
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
  auto hits = batcher_.Query(coll, e.row(0), n, where);
  // The collection was replaced (an embedder switch, a rebuild, recreated) while we asked: a
  // query Chroma 1.0 was answering when the old collection was dropped fails with 404, or with
  // 412 "Missing metadata segment". Look the active collection up again and ask it once.
  if (!hits.ok() && (hits.status().code() == Status::Code::kNotFound || hits.status().http_status() == 412)) {
    KB_ASSIGN_OR_RETURN(active, Active(true));
    coll = active.first;
    KB_ASSIGN_OR_RETURN(e, active.second->Embed(texts));
    hits = batcher_.Query(coll, e.row(0), n, where);
  }
  if (!hits.ok()) return hits.status();

  // Best chunk per document, in distance order; a chunk id says which note and which chunk.
  struct Best {
    double distance;
    int sent;  // index among the chunks the sync sent for the note
  };
  std::vector<std::string> order;
  std::unordered_map<std::string, Best> best;
  for (const QueryHit& h : *hits) {
    auto parts = SplitChunkId(h.id);
    if (!parts) continue;  // the canary's probe record
    if (best.count(parts->first)) continue;  // hits arrive closest first
    best.emplace(parts->first, Best{h.distance, parts->second});
    order.push_back(std::move(parts->first));
  }
  // The closest k live notes, read (with their text, when the excerpts are made here) in as
  // few batches as the orphans and tombstones among them need: usually one.
  std::vector<SemanticHit> out;
  for (size_t next = 0; static_cast<int>(out.size()) < k && next < order.size();) {
    const size_t want = std::min(order.size() - next, static_cast<size_t>(k) - out.size());
    std::span<const std::string> batch(order.data() + next, want);
    next += want;
    KB_ASSIGN_OR_RETURN(auto live, store_.GetLive(batch, excerpts));
    const auto by_id = ById(live);
    for (const std::string& id : batch) {
      auto it = by_id.find(id);
      if (it == by_id.end()) continue;  // orphan, tombstone or an id the note no longer has
      const Best& b = best[id];
      SemanticHit hit;
      hit.doc = std::move(*it->second);
      hit.distance = b.distance;
      hit.sent_chunk = b.sent;
      if (excerpts) FillExcerpt(hit);
      out.push_back(std::move(hit));
    }
  }
  return out;
}

void SemanticIndex::FillExcerpt(SemanticHit& hit) const {
  if (auto chunk = SentChunk(hit.doc, hit.sent_chunk, chunker_)) {
    hit.chunk = chunk->position;
    hit.heading = std::move(chunk->chunk.heading);
    hit.snippet = MakeExcerpt(chunk->chunk.text);
  }
  hit.doc.body.clear();
  hit.doc.body.shrink_to_fit();
}

Status SemanticIndex::AddExcerpts(std::span<SemanticHit> hits) {
  if (hits.empty()) return Status::Ok();
  std::vector<std::string> ids;
  ids.reserve(hits.size());
  for (const SemanticHit& h : hits) ids.push_back(h.doc.id);
  KB_ASSIGN_OR_RETURN(auto live, store_.GetLive(ids));
  const auto by_id = ById(live);
  for (SemanticHit& h : hits) {
    auto it = by_id.find(h.doc.id);
    if (it == by_id.end()) continue;  // deleted since the search: it keeps no excerpt
    h.doc.body = std::move(it->second->body);
    FillExcerpt(h);
  }
  return Status::Ok();
}

}  // namespace kb
