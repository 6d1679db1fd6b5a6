// Configuration: defaults, then an optional JSON config file, then KBINDEX_* environment
// variables, then command-line flags (the CLI applies those last). One struct, no globals.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/status.h"

namespace kb {

struct Config {
  // Storage.
  std::string db_path;  // default: $XDG_DATA_HOME/kbindex/kbindex.db
  int busy_timeout_ms = 10'000;

  // Scanning.
  std::vector<std::string> include = {"*.md", "*.markdown", "*.txt"};
  std::vector<std::string> exclude;
  int64_t max_file_bytes = 10 * 1024 * 1024;

  // Chroma. An empty URL means: start the project-local server (see LocalChroma).
  std::string chroma_url;
  std::string chroma_token;
  std::string chroma_tenant = "default_tenant";
  std::string chroma_database = "default_database";
  std::string collection = "kbindex";
  int chroma_connect_timeout_ms = 3'000;
  int chroma_timeout_ms = 60'000;
  std::string chroma_home;  // where `tools/chroma install` put node_modules; auto-detected

  // Embedding and chunking.
  // hash | ollama | openai; empty: whatever the database recorded (hash for a new one).
  std::string embedder;
  std::string embed_model;        // ollama/openai model name
  std::string embed_url;          // ollama/openai base URL
  std::string embed_api_key;      // openai-compatible servers that want one
  int embed_dims = 384;           // hash embedder dimensions
  int embed_batch = 64;           // texts per embedding request (HTTP embedders)
  int embed_timeout_ms = 120'000;
  std::string chunking = "markdown";  // markdown | none
  int chunk_max_bytes = 1500;
  bool store_text = false;  // also send chunk text to Chroma (SQLite always has it)

  // Sync and retry.
  int max_attempts = 3;
  int64_t backoff_base_ms = 30'000;
  int64_t backoff_max_ms = 3'600'000;
  int worker_interval_s = 300;
  int worker_batch = 50;

  // Local API server.
  std::string listen_host = "127.0.0.1";
  int listen_port = 7420;
  std::vector<std::string> cors_origins;
  std::vector<std::string> folders;  // what POST /v1/index scans

  std::string config_file;  // the file that was loaded, if any
};

// $XDG_DATA_HOME/kbindex (or ~/.local/share/kbindex).
std::string DefaultDataDir();
// $XDG_CONFIG_HOME/kbindex/config.json (or ~/.config/kbindex/config.json).
std::string DefaultConfigFile();

// Defaults + `file` (or the default config file when it exists; `file` must exist when given)
// + environment. Unknown keys in the file are an error, so typos do not pass silently.
Result<Config> LoadConfig(const std::string& file);

// Applies KBINDEX_* environment variables onto `config`.
Status ApplyEnvironment(Config& config);

// Checks ranges and enumerations; returns InvalidArgument naming the bad setting.
Status ValidateConfig(const Config& config);

}  // namespace kb
