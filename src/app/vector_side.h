// VectorSide: everything kbindex needs to talk to Chroma, built from a Config: the configured
// server (--chroma-url) or the project-local one started on demand, the client, and the
// embedder. Owned by one command or by the API server for its lifetime.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "app/config.h"
#include "embed/embedder.h"
#include "store/document_store.h"
#include "sync/sync_engine.h"
#include "vector/chroma_client.h"
#include "vector/local_chroma.h"

namespace kb {

struct VectorSide {
  std::unique_ptr<LocalChroma> local;  // set when kbindex started/reused the local server
  std::unique_ptr<ChromaClient> chroma;
  std::unique_ptr<Embedder> embedder;
  std::string url;
  // Embedders built later because the database switched to them (see MakeSyncEngine).
  std::map<std::string, std::unique_ptr<Embedder>> followed;
};

// Connects to config.chroma_url, or starts the local server (data beside the database, in
// "<db>.chroma/") when no URL is configured. `request_timeout_ms` overrides the configured
// timeout when > 0 (stats uses a short one). The embedder is ResolveEmbedder's.
Result<VectorSide> OpenVectorSide(const Config& config, DocumentStore& store, int request_timeout_ms = 0);

// The embedder to use: the configured one when set explicitly, else the one the database
// recorded, else hash.
Result<std::unique_ptr<Embedder>> ResolveEmbedder(const Config& config, DocumentStore& store);

// Data folder of the local server that belongs to the database at `db_path`.
std::string LocalChromaDataDir(const std::string& db_path);

SyncOptions SyncOptionsFrom(const Config& config);

// A SyncEngine over `side`. When the embedder was not chosen explicitly, the engine follows
// the database if another process switches embedders (long-running worker and server).
std::unique_ptr<SyncEngine> MakeSyncEngine(VectorSide& side, DocumentStore& store, const Config& config);
ChunkerOptions ChunkerOptionsFrom(const Config& config);

}  // namespace kb
