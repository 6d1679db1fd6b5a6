#include "app/vector_side.h"
#include "store/meta_keys.h"

#include <spdlog/spdlog.h>

#include "app/crash_points.h"

namespace kb {

std::string LocalChromaDataDir(const std::string& db_path) { return db_path + ".chroma"; }

ChunkerOptions ChunkerOptionsFrom(const Config& c) {
  ChunkerOptions o;
  o.mode = c.chunking == "none" ? ChunkerOptions::Mode::kNone : ChunkerOptions::Mode::kMarkdown;
  o.max_bytes = static_cast<size_t>(c.chunk_max_bytes);
  return o;
}

SyncOptions SyncOptionsFrom(const Config& c) {
  SyncOptions o;
  // Fault-injection tests choose where the process dies (KBINDEX_CRASH_AT); a no-op otherwise.
  o.before_send = [](const std::vector<int64_t>&) { CrashPoints::Get().Reach("before-send"); };
  o.before_mark = [](const std::vector<int64_t>&) { CrashPoints::Get().Reach("before-mark"); };
  o.after_mark = [](const std::vector<int64_t>&) { CrashPoints::Get().Reach("after-mark"); };
  o.collection = c.collection;
  o.store_text = c.store_text;
  o.chunker = ChunkerOptionsFrom(c);
  o.max_attempts = c.max_attempts;
  o.backoff_base_ms = c.backoff_base_ms;
  o.backoff_max_ms = c.backoff_max_ms;
  return o;
}

Result<std::unique_ptr<Embedder>> ResolveEmbedder(const Config& config, DocumentStore& store) {
  if (!config.embedder.empty()) return MakeEmbedder(config);
  KB_ASSIGN_OR_RETURN(auto recorded, store.GetMeta(meta::kEmbedder));
  if (recorded) return MakeEmbedderForId(*recorded, config);
  return MakeEmbedder(config);
}

Result<VectorSide> OpenVectorSide(const Config& config, DocumentStore& store, int request_timeout_ms) {
  VectorSide side;
  KB_ASSIGN_OR_RETURN(side.embedder, ResolveEmbedder(config, store));
  if (config.chroma_url.empty()) {
    if (config.db_path == ":memory:") {
      return Status::InvalidArgument("an in-memory database needs --chroma-url");
    }
    LocalChromaOptions lo;
    lo.chroma_home = config.chroma_home;
    lo.data_dir = LocalChromaDataDir(config.db_path);
    auto local = LocalChroma::Start(lo);
    if (!local.ok()) return local.status().WithContext("starting the local Chroma server");
    side.local = std::move(local).value();
    side.url = side.local->url();
    spdlog::debug("local Chroma at {}", side.url);
  } else {
    side.url = config.chroma_url;
  }
  ChromaOptions co;
  co.url = side.url;
  co.tenant = config.chroma_tenant;
  co.database = config.chroma_database;
  co.token = config.chroma_token;
  co.connect_timeout_ms = config.chroma_connect_timeout_ms;
  co.timeout_ms = request_timeout_ms > 0 ? request_timeout_ms : config.chroma_timeout_ms;
  KB_ASSIGN_OR_RETURN(side.chroma, ChromaClient::Create(co));
  return side;
}

}  // namespace kb

namespace kb {

std::unique_ptr<SyncEngine> MakeSyncEngine(VectorSide& side, DocumentStore& store, const Config& config) {
  SyncOptions o = SyncOptionsFrom(config);
  if (config.embedder.empty()) {
    o.resolve_embedder = [&side, config](const std::string& id) -> Result<Embedder*> {
      auto it = side.followed.find(id);
      if (it == side.followed.end()) {
        KB_ASSIGN_OR_RETURN(auto e, MakeEmbedderForId(id, config));
        it = side.followed.emplace(id, std::move(e)).first;
      }
      return it->second.get();
    };
  }
  return std::make_unique<SyncEngine>(store, *side.chroma, *side.embedder, std::move(o));
}

}  // namespace kb
