// Options: every setting of a kbindex database, with its default. The same keys are accepted
// in the JSON config file (`config.json`, snake_case names as below) and, for the common ones,
// as KBINDEX_* environment variables and command-line flags. Precedence: defaults < config
// file < environment < what the caller sets afterwards (the CLI applies its flags last).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kbindex/export.h"
#include "kbindex/source_options.h"
#include "kbindex/status.h"

namespace kbindex {

struct Options {
  // Storage. Empty db_path: $XDG_DATA_HOME/kbindex/kbindex.db.
  std::string db_path;
  int busy_timeout_ms = 10'000;
  // Searches read the database through a memory map of up to this many bytes. Each write
  // empties the readers' page caches; mapped, a search does not copy its pages in again, which
  // keeps search fast while notes are written. The mapped pages are the kernel's page cache and
  // count in the process's RSS as file-backed memory. 0: off in the library, 2 GiB in
  // `kbindex serve` and `kbindex mcp`; negative: off everywhere.
  int64_t search_mmap_bytes = 0;

  // Folder scanning.
  std::vector<std::string> include = {"*.md", "*.markdown", "*.txt"};
  std::vector<std::string> exclude;
  int64_t max_file_bytes = 10 * 1024 * 1024;

  // Chroma. An empty URL means: start (or share) the managed local server, whose data lives
  // beside the database; it is found install-relative, then via KBINDEX_CHROMA_HOME.
  std::string chroma_url;
  std::string chroma_token;
  std::string chroma_tenant = "default_tenant";
  std::string chroma_database = "default_database";
  std::string collection = "kbindex";
  int chroma_connect_timeout_ms = 3'000;
  int chroma_timeout_ms = 60'000;
  std::string chroma_home;  // folder holding node_modules/chromadb; empty: look for it

  // Embedding and chunking. embedder: hash | ollama | openai; empty: whatever the database
  // recorded (hash for a new one).
  std::string embedder;
  std::string embed_model;
  std::string embed_url;
  std::string embed_api_key;
  int embed_dims = 384;  // hash embedder dimensions
  int embed_batch = 64;  // texts per embedding request (HTTP embedders)
  int embed_timeout_ms = 120'000;
  std::string chunking = "markdown";  // markdown | none
  int chunk_max_bytes = 1500;
  // A note is cut after this many chunks in the semantic index (keyword search has all of it):
  // thousands of chunks of one note mostly repeat, and degrade Chroma's index.
  int max_chunks_per_document = 1000;
  bool store_text = false;  // also send chunk text to Chroma (SQLite always has it)

  // Search: a keyword search is stopped (a clear error) after this long.
  int search_timeout_ms = 2'000;

  // Sync and retry.
  int max_attempts = 3;
  int64_t backoff_base_ms = 30'000;
  int64_t backoff_max_ms = 3'600'000;
  int worker_interval_s = 300;
  int worker_batch = 50;

  // Local HTTP API (kbindex serve).
  std::string listen_host = "127.0.0.1";
  int listen_port = 7420;
  std::vector<std::string> cors_origins;
  std::vector<std::string> folders;  // what `POST /v1/index` (and `kbindex index` without
                                     // arguments) scans
  std::vector<DatabaseSource> sources;  // databases read as sources (source_options.h)

  // Folder watching (kbindex watch, serve --watch).
  int watch_quiet_ms = 100;   // a file is indexed once untouched this long (sooner once closed)
  int watch_reconcile_s = 600;  // a full (mtime+size) scan this often; 0: only when needed

  std::string config_file;  // the file that was loaded, if any (set by LoadOptions)
};

// $XDG_DATA_HOME/kbindex (or ~/.local/share/kbindex).
KBINDEX_EXPORT std::string DefaultDataDir();
// $XDG_CONFIG_HOME/kbindex/config.json (or ~/.config/kbindex/config.json).
KBINDEX_EXPORT std::string DefaultConfigFile();

// Defaults, then `config_file` (or KBINDEX_CONFIG, or the default config file when it exists;
// a file named explicitly must exist), then KBINDEX_* environment variables. Unknown keys in
// the file are an error, so typos do not pass silently.
KBINDEX_EXPORT Result<Options> LoadOptions(const std::string& config_file = "");

// Applies KBINDEX_* environment variables onto `options`.
KBINDEX_EXPORT Status ApplyEnvironment(Options& options);

// Checks ranges and enumerations; InvalidArgument naming the bad setting.
KBINDEX_EXPORT Status ValidateOptions(const Options& options);

// An exact browser origin (scheme://host[:port]); "null" and "*" are refused.
KBINDEX_EXPORT Status ValidateCorsOrigin(const std::string& origin);

}  // namespace kbindex
