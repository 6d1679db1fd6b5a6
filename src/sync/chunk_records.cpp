#include "sync/chunk_records.h"

#include <unordered_map>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "scan/markdown.h"
#include "util/hash.h"
#include "util/http_client.h"

namespace kb {

using json = nlohmann::json;

bool IsMarkdownDocument(const Document& doc) {
  return !doc.path || IsMarkdownPath(*doc.path);  // API notes are Markdown
}

std::vector<Chunk> ChunkFor(const Document& doc, const ChunkerOptions& options) {
  return ChunkDocument(doc.body, IsMarkdownDocument(doc), options);
}

std::string EmbeddingInput(const Document& doc, const Chunk& chunk) {
  std::string t;
  t.reserve(doc.title.size() + chunk.heading.size() + chunk.text.size() + 2);
  t += doc.title;
  t += '\n';
  if (chunk.heading != doc.title) t += chunk.heading;  // a note's title is often its first heading
  t += '\n';
  t += chunk.text;
  return t;
}

std::string FrontmatterFragment(const std::string& metadata_json) {
  static const std::set<std::string> kReserved = {"doc_id", "chunk", "content_hash", "title",
                                                  "path",   "source", "heading"};
  if (metadata_json.empty() || metadata_json == "{}") return "";
  json meta = json::parse(metadata_json, nullptr, false);
  if (meta.is_discarded() || !meta.is_object()) return "";
  json out = json::object();
  for (auto& [k, v] : meta.items()) {
    if (k.empty() || kReserved.count(k) || k.starts_with("chroma:")) continue;
    if (v.is_string() || v.is_boolean() || v.is_number_integer()) {
      out[k] = v;
    } else if (v.is_number_float()) {
      if (std::isfinite(v.get<double>())) out[k] = v;
    } else if (v.is_array()) {
      std::string joined;
      for (const auto& e : v) {
        if (e.is_object() || e.is_array() || e.is_null()) continue;
        if (!joined.empty()) joined += ", ";
        joined += e.is_string() ? e.get<std::string>() : e.dump();
      }
      out[k] = joined;
    }
  }
  if (out.empty()) return "";
  std::string s = out.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.substr(1, s.size() - 2) + ",";  // strip braces, keep a trailing comma
}

ChunkPlan PlanChunks(const Document& doc, const ChunkerOptions& options) {
  ChunkPlan plan;
  std::vector<Chunk> chunks = ChunkDocument(doc.body, IsMarkdownDocument(doc), options, &plan.truncated);
  std::unordered_map<std::string, size_t> first;  // hash of the embedding input -> index in plan.chunks
  for (size_t i = 0; i < chunks.size(); ++i) {
    auto [it, inserted] = first.try_emplace(ContentHash(EmbeddingInput(doc, chunks[i])), plan.chunks.size());
    if (!inserted) {
      ++plan.chunks[it->second].copies;
      ++plan.duplicates;
      continue;
    }
    plan.chunks.push_back(PlannedChunk{std::move(chunks[i]), static_cast<int>(i), 1});
  }
  return plan;
}

std::string ChunkPlanNotice(const ChunkPlan& plan, const ChunkerOptions& options) {
  if (!plan.truncated) return "";
  return "only the first " + std::to_string(options.max_chunks) +
         " chunks of this note are in the semantic index (max_chunks_per_document); all of it is "
         "searchable by keyword";
}

std::string ChunkMetadata(const Document& doc, const Chunk& chunk, int n, const std::string& fragment, int copies) {
  std::string m;
  m.reserve(192 + fragment.size() + doc.id.size() * 2 + doc.title.size() + chunk.heading.size());
  m += '{';
  m += fragment;
  m += "\"doc_id\":";
  AppendJsonString(m, doc.id);
  m += ",\"chunk\":";
  m += std::to_string(n);
  m += ",\"content_hash\":";
  AppendJsonString(m, doc.content_hash);
  m += ",\"title\":";
  AppendJsonString(m, doc.title);
  m += ",\"path\":";
  AppendJsonString(m, doc.path.value_or(""));
  m += ",\"source\":";
  AppendJsonString(m, doc.source);
  m += ",\"heading\":";
  AppendJsonString(m, chunk.heading);
  if (copies > 1) {
    m += ",\"copies\":";
    m += std::to_string(copies);
  }
  m += '}';
  return m;
}

std::string ChunkId(const std::string& doc_id, int n) { return doc_id + "#" + std::to_string(n); }

std::optional<std::pair<std::string, int>> SplitChunkId(const std::string& chunk_id) {
  const auto hash = chunk_id.rfind('#');
  if (hash == std::string::npos || hash + 1 >= chunk_id.size() || chunk_id.size() - hash > 10) {
    return std::nullopt;
  }
  int n = 0;
  for (size_t i = hash + 1; i < chunk_id.size(); ++i) {
    if (chunk_id[i] < '0' || chunk_id[i] > '9') return std::nullopt;
    n = n * 10 + (chunk_id[i] - '0');
  }
  return std::make_pair(chunk_id.substr(0, hash), n);
}

}  // namespace kb
