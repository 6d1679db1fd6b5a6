#include "kbindex/options.h"
#include "util/files.h"
#include "util/json.h"
#include "util/status.h"
#include "app/source_config.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace kbindex {
namespace {

using json = nlohmann::json;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string HomeDir() {
  std::string home = Env("HOME");
  return home.empty() ? std::string("/tmp") : home;
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

Status ParseInt(const std::string& name, const std::string& text, int64_t* out) {
  try {
    size_t used = 0;
    *out = std::stoll(text, &used);
    if (used != text.size()) throw std::invalid_argument(text);
  } catch (const std::exception&) {
    return Status::InvalidArgument(name + ": not an integer: '" + text + "'");
  }
  return Status::Ok();
}

}  // namespace

Status ValidateCorsOrigin(const std::string& origin) {
  // An exact origin: scheme://host[:port], nothing else. "null" (sandboxed pages, file://) and
  // "*" would let any page call the API with the user's browser.
  const auto scheme_end = origin.find("://");
  bool ok = scheme_end != std::string::npos && scheme_end > 0 && origin.size() > scheme_end + 3;
  for (size_t i = 0; ok && i < scheme_end; ++i) {
    const char ch = origin[i];
    ok = std::isalnum(static_cast<unsigned char>(ch)) || ch == '+' || ch == '-' || ch == '.';
  }
  for (size_t i = scheme_end + 3; ok && i < origin.size(); ++i) {
    const char ch = origin[i];
    ok = std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == ':' || ch == '[' || ch == ']';
  }
  if (!ok) {
    return Status::InvalidArgument("CORS origin '" + origin.substr(0, 100) +
                                   "' is not an exact origin like http://localhost:3000 (\"null\" and \"*\" are refused)");
  }
  return Status::Ok();
}

std::string DefaultDataDir() {
  std::string base = Env("XDG_DATA_HOME");
  if (base.empty()) base = HomeDir() + "/.local/share";
  return base + "/kbindex";
}

std::string DefaultConfigFile() {
  std::string base = Env("XDG_CONFIG_HOME");
  if (base.empty()) base = HomeDir() + "/.config";
  return base + "/kbindex/config.json";
}

Result<Options> LoadOptions(const std::string& file) {
  Options c;
  std::string path = file;
  if (path.empty()) path = Env("KBINDEX_CONFIG");
  bool required = !path.empty();
  if (path.empty()) path = DefaultConfigFile();
  auto text = kb::ReadSmallFile(path, 1 << 20);
  if (text.ok()) {
    auto parsed = kb::ParseJson(*text);
    if (!parsed.ok()) return Status::InvalidArgument("config file " + path + ": " + parsed.status().message());
    json j = std::move(parsed).value();
    if (!j.is_object()) return Status::InvalidArgument("config file " + path + " must hold a JSON object");
    try {
      for (auto& [key, v] : j.items()) {
        if (key == "db") c.db_path = v.get<std::string>();
        else if (key == "busy_timeout_ms") c.busy_timeout_ms = v.get<int>();
        else if (key == "search_mmap_bytes") c.search_mmap_bytes = v.get<int64_t>();
        else if (key == "include") c.include = v.get<std::vector<std::string>>();
        else if (key == "exclude") c.exclude = v.get<std::vector<std::string>>();
        else if (key == "max_file_bytes") c.max_file_bytes = v.get<int64_t>();
        else if (key == "chroma_url") c.chroma_url = v.get<std::string>();
        else if (key == "chroma_token") c.chroma_token = v.get<std::string>();
        else if (key == "chroma_tenant") c.chroma_tenant = v.get<std::string>();
        else if (key == "chroma_database") c.chroma_database = v.get<std::string>();
        else if (key == "collection") c.collection = v.get<std::string>();
        else if (key == "chroma_connect_timeout_ms") c.chroma_connect_timeout_ms = v.get<int>();
        else if (key == "chroma_timeout_ms") c.chroma_timeout_ms = v.get<int>();
        else if (key == "chroma_home") c.chroma_home = v.get<std::string>();
        else if (key == "embedder") c.embedder = v.get<std::string>();
        else if (key == "embed_model") c.embed_model = v.get<std::string>();
        else if (key == "embed_url") c.embed_url = v.get<std::string>();
        else if (key == "embed_api_key") c.embed_api_key = v.get<std::string>();
        else if (key == "embed_dims") c.embed_dims = v.get<int>();
        else if (key == "embed_batch") c.embed_batch = v.get<int>();
        else if (key == "embed_timeout_ms") c.embed_timeout_ms = v.get<int>();
        else if (key == "chunking") c.chunking = v.get<std::string>();
        else if (key == "chunk_max_bytes") c.chunk_max_bytes = v.get<int>();
        else if (key == "max_chunks_per_document") c.max_chunks_per_document = v.get<int>();
        else if (key == "store_text") c.store_text = v.get<bool>();
        else if (key == "max_attempts") c.max_attempts = v.get<int>();
        else if (key == "search_timeout_ms") c.search_timeout_ms = v.get<int>();
        else if (key == "backoff_base_ms") c.backoff_base_ms = v.get<int64_t>();
        else if (key == "backoff_max_ms") c.backoff_max_ms = v.get<int64_t>();
        else if (key == "worker_interval_s") c.worker_interval_s = v.get<int>();
        else if (key == "worker_batch") c.worker_batch = v.get<int>();
        else if (key == "listen_host") c.listen_host = v.get<std::string>();
        else if (key == "listen_port") c.listen_port = v.get<int>();
        else if (key == "cors_origins") c.cors_origins = v.get<std::vector<std::string>>();
        else if (key == "folders") c.folders = v.get<std::vector<std::string>>();
        else if (key == "watch_quiet_ms") c.watch_quiet_ms = v.get<int>();
        else if (key == "watch_reconcile_s") c.watch_reconcile_s = v.get<int>();
        else if (key == "sources") {
          if (Status listed = kb::app::ParseDatabaseSources(v, &c.sources); !listed.ok()) {
            return listed.WithContext("config file " + path);
          }
        }
        else return Status::InvalidArgument("config file " + path + ": unknown setting '" + key + "'");
      }
    } catch (const json::exception& e) {
      return Status::InvalidArgument("config file " + path + ": wrong type: " + e.what());
    }
    c.config_file = path;
  } else if (struct stat st {}; !required && ::stat(path.c_str(), &st) != 0) {
    // No default config file (or one this user cannot even see): defaults apply.
  } else if (text.status().code() != Status::Code::kNotFound || required) {
    return text.status().code() == Status::Code::kNotFound
               ? Status::NotFound("config file not found: " + path)
               : text.status().WithContext("config file");
  }
  KB_RETURN_IF_ERROR(ApplyEnvironment(c));
  return c;
}

Status ApplyEnvironment(Options& c) {
  auto str = [](const char* name, std::string& field) {
    if (const char* v = std::getenv(name)) field = v;
  };
  auto num = [](const char* name, auto& field) -> Status {
    if (const char* v = std::getenv(name)) {
      int64_t n = 0;
      KB_RETURN_IF_ERROR(ParseInt(name, v, &n));
      field = static_cast<std::remove_reference_t<decltype(field)>>(n);
    }
    return Status::Ok();
  };
  str("KBINDEX_DB", c.db_path);
  str("KBINDEX_CHROMA_URL", c.chroma_url);
  str("KBINDEX_CHROMA_TOKEN", c.chroma_token);
  str("KBINDEX_CHROMA_TENANT", c.chroma_tenant);
  str("KBINDEX_CHROMA_DATABASE", c.chroma_database);
  str("KBINDEX_COLLECTION", c.collection);
  str("KBINDEX_CHROMA_HOME", c.chroma_home);
  str("KBINDEX_EMBEDDER", c.embedder);
  str("KBINDEX_EMBED_MODEL", c.embed_model);
  str("KBINDEX_EMBED_URL", c.embed_url);
  str("KBINDEX_EMBED_API_KEY", c.embed_api_key);
  str("KBINDEX_CHUNKING", c.chunking);
  KB_RETURN_IF_ERROR(num("KBINDEX_CHROMA_TIMEOUT_MS", c.chroma_timeout_ms));
  KB_RETURN_IF_ERROR(num("KBINDEX_CHROMA_CONNECT_TIMEOUT_MS", c.chroma_connect_timeout_ms));
  KB_RETURN_IF_ERROR(num("KBINDEX_MAX_ATTEMPTS", c.max_attempts));
  KB_RETURN_IF_ERROR(num("KBINDEX_BUSY_TIMEOUT_MS", c.busy_timeout_ms));
  KB_RETURN_IF_ERROR(num("KBINDEX_MAX_FILE_BYTES", c.max_file_bytes));
  if (const char* v = std::getenv("KBINDEX_STORE_TEXT")) {
    c.store_text = std::string(v) == "1" || std::string(v) == "true";
  }
  if (const char* v = std::getenv("KBINDEX_FOLDERS")) c.folders = SplitList(v);
  if (c.db_path.empty()) c.db_path = DefaultDataDir() + "/kbindex.db";
  return Status::Ok();
}

Status ValidateOptions(const Options& c) {
  if (!c.embedder.empty() && c.embedder != "hash" && c.embedder != "ollama" && c.embedder != "openai") {
    return Status::InvalidArgument("embedder must be hash, ollama or openai (got '" + c.embedder + "')");
  }
  if (c.chunking != "markdown" && c.chunking != "none") {
    return Status::InvalidArgument("chunking must be markdown or none (got '" + c.chunking + "')");
  }
  if (c.embed_dims < 8 || c.embed_dims > 8192) return Status::InvalidArgument("embed dims must be 8..8192");
  if (c.chunk_max_bytes < 64) return Status::InvalidArgument("chunk size must be at least 64 bytes");
  if (c.max_chunks_per_document < 1) return Status::InvalidArgument("max_chunks_per_document must be at least 1");
  if (c.max_attempts < 1) return Status::InvalidArgument("max attempts must be at least 1");
  if (c.search_timeout_ms < 1) return Status::InvalidArgument("search timeout must be at least 1 ms");
  if (c.worker_batch < 1) return Status::InvalidArgument("worker batch must be at least 1");
  if (c.worker_interval_s < 1) return Status::InvalidArgument("worker interval must be at least 1 s");
  if (c.max_file_bytes < 1) return Status::InvalidArgument("max file size must be positive");
  if (c.watch_quiet_ms < 1 || c.watch_quiet_ms > 60'000) {
    return Status::InvalidArgument("watch quiet period must be 1..60000 ms");
  }
  if (c.watch_reconcile_s < 0) return Status::InvalidArgument("watch reconcile interval must be 0 (off) or more seconds");
  if (c.listen_port < 0 || c.listen_port > 65535) {
    return Status::InvalidArgument("listen port must be 0..65535 (0: any free port), not " + std::to_string(c.listen_port));
  }
  if (c.backoff_base_ms < 0 || c.backoff_max_ms < c.backoff_base_ms) {
    return Status::InvalidArgument("backoff must be >= 0 ms and no more than its maximum");
  }
  for (const std::string& origin : c.cors_origins) {
    KB_RETURN_IF_ERROR(ValidateCorsOrigin(origin));
  }
  if (c.collection.size() < 3 || c.collection.size() > 200) {
    return Status::InvalidArgument("collection name must be 3..200 characters");
  }
  for (char ch : c.collection) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' && ch != '-') {
      return Status::InvalidArgument("collection name may only contain letters, digits, '.', '_' and '-'");
    }
  }
  if (!std::isalnum(static_cast<unsigned char>(c.collection.front())) ||
      !std::isalnum(static_cast<unsigned char>(c.collection.back()))) {
    return Status::InvalidArgument("collection name must start and end with a letter or digit");
  }
  return kb::app::ValidateDatabaseSources(c.sources);
}

}  // namespace kbindex
