// kbindex: keeps a folder of notes searchable by keyword (SQLite FTS5) and by meaning (Chroma).
// This file only parses the command line; each subcommand lives in a cmd_*.cpp file.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <unistd.h>

#include <malloc.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string_view>

#include "cli/cli.h"
#include "cli/man_page.h"

namespace {

using kb::cli::Globals;

void SetupLogging(const Globals& g) {
  auto logger = spdlog::stderr_color_mt("kbindex");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  if (g.verbose >= 2) {
    spdlog::set_level(spdlog::level::trace);
  } else if (g.verbose == 1) {
    spdlog::set_level(spdlog::level::debug);
  } else if (g.quiet) {
    spdlog::set_level(spdlog::level::err);
  } else {
    spdlog::set_level(spdlog::level::warn);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // SQLite's memory statistics take one process-wide mutex on every allocation: with search
  // threads reading in parallel they queue on it. Nothing here reads the statistics. (Must
  // come before SQLite initializes; a library host decides this for its own process.)
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  // A fixed threshold: blocks of 1 MiB and more (a big note's text, its copies inside SQLite,
  // request bodies) are mapped and returned to the system when freed. glibc's default raises
  // the threshold after each such free, and then keeps the memory: `index` of a folder with a
  // 10 MiB note held 160 MB instead of 105 MB.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  CLI::App app{"kbindex - keeps notes searchable by keyword (SQLite FTS5) and by meaning (ChromaDB)",
               "kbindex"};
  app.require_subcommand(1);
  app.fallthrough();  // global flags may follow the subcommand
  app.set_version_flag("--version", std::string("kbindex ") + KBINDEX_VERSION);

  Globals g;
  std::string db, config_file;
  app.add_option("--db", db, "database file (env KBINDEX_DB; default $XDG_DATA_HOME/kbindex/kbindex.db)");
  app.add_option("--config", config_file, "JSON config file (default $XDG_CONFIG_HOME/kbindex/config.json)");
  app.add_flag("--json", g.json, "machine-readable JSON output");
  app.add_flag("-q,--quiet", g.quiet, "only errors");
  app.add_flag("-v,--verbose", g.verbose, "more logging (-vv for trace)");

  // Chroma, embedding and chunking.
  std::string chroma_url, chroma_token, collection, embedder, embed_model, embed_url, chunking;
  int chunk_size = 0, chroma_timeout_ms = 0, embed_dims = 0;
  bool store_text = false;
  app.add_option("--chroma-url", chroma_url, "Chroma server URL (env KBINDEX_CHROMA_URL; default: start the local one)");
  app.add_option("--chroma-token", chroma_token, "auth token for a secured Chroma (env KBINDEX_CHROMA_TOKEN)");
  app.add_option("--chroma-timeout-ms", chroma_timeout_ms, "Chroma request timeout (default 60000)");
  app.add_option("--collection", collection, "Chroma collection name (default kbindex)");
  app.add_option("--embedder", embedder, "hash (default, offline) | ollama | openai");
  app.add_option("--embed-model", embed_model, "model name for ollama/openai embedders");
  app.add_option("--embed-url", embed_url, "base URL of the ollama/openai-compatible server");
  app.add_option("--embed-dims", embed_dims, "dimensions of the hash embedder (default 384)");
  app.add_option("--chunking", chunking, "markdown (default) | none (one chunk per document)");
  app.add_option("--chunk-size", chunk_size, "largest chunk in bytes (default 1500)");
  app.add_flag("--store-text", store_text, "also store chunk text in Chroma (SQLite always has it)");
  int max_attempts = 0;
  int64_t backoff_ms = -1;
  app.add_option("--max-attempts", max_attempts, "sync attempts before a document needs `kbindex retry` (default 3)");
  app.add_option("--backoff-ms", backoff_ms, "first retry delay; doubles per attempt (default 30000; 0: none)")
      ->check(CLI::NonNegativeNumber);

  // Scan options shared by index.
  std::vector<std::string> include, exclude;
  int64_t max_file_size = 0;

  kb::cli::IndexArgs index_args;
  auto* index = app.add_subcommand("index", "scan folders into SQLite (and sync them to Chroma)");
  index->add_option("folders", index_args.folders, "folders to scan (default: \"folders\" from the config file)");
  index->add_option("--source", index_args.source, "source name (default: the folder's name)");
  index->add_option("--include", include, "glob of files to index (repeatable; default *.md *.markdown *.txt)");
  index->add_option("--exclude", exclude, "glob of files or folders to leave out (repeatable)");
  index->add_option("--max-file-size", max_file_size, "skip files larger than this many bytes");
  index->add_flag("--allow-mass-delete", index_args.allow_mass_delete,
                  "allow a scan to remove more than 90% of a source's documents");
  index->add_flag("--no-sync", index_args.no_sync, "only write SQLite; sync later");
  // Database sources ("sources" in the config file, or defined by the flags below).
  index->add_flag("--full", index_args.full, "database source: read every row, remove what is gone");
  index->add_flag("--incremental", index_args.incremental, "database source: rows changed since the watermark");
  index->add_flag("--outbox", index_args.outbox, "database source: events after the last one applied");
  index->add_option("--item", index_args.item, "database source: read this one row (by id) and apply it");
  index->add_option("--sqlite", index_args.sqlite_path, "define the --source: a SQLite file (read-only)");
  index->add_option("--postgres", index_args.postgres_conninfo,
                    "define the --source: a PostgreSQL conninfo (prefer conninfo_env in the config: argv is visible)");
  index->add_option("--table", index_args.table, "the source's table");
  index->add_option("--query", index_args.query, "the source's SELECT (instead of --table)");
  index->add_option("--column", index_args.columns,
                    "ROLE=COLUMN, roles id, title, body, updated_at, deleted, deleted_at, meta (repeatable)");
  index->add_option("--outbox-table", index_args.outbox_table, "the source's outbox table");

  kb::cli::SearchArgs search_args;
  auto* search = app.add_subcommand("search", "search notes");
  search->add_option("query", search_args.words, "words to search for")->required();
  search->add_option("--mode", search_args.mode, "keyword | semantic | hybrid");
  search->add_flag("--semantic", search_args.semantic, "same as --mode semantic");
  search->add_flag("--raw", search_args.raw, "pass the query to FTS5 as is (FTS5 query syntax)");
  search->add_option("-k,--limit", search_args.k, "number of results (default 10)");
  search->add_option("--source", search_args.source, "only this source");

  auto* sync = app.add_subcommand("sync", "send pending and failed documents to Chroma now");
  auto* stats = app.add_subcommand("stats", "document and sync counts, last sync run, Chroma");

  std::string show_id;
  bool show_body = false;
  auto* show = app.add_subcommand("show", "one document with its sync state");
  show->add_option("id", show_id, "document id, e.g. notes:ideas/todo.md")->required();
  show->add_flag("--body", show_body, "also print the text");

  kb::cli::WorkerArgs worker_args;
  auto* worker = app.add_subcommand("worker", "retry pending/failed documents in the background (every 5 min)");
  worker->add_flag("--once", worker_args.once, "one pass, then exit");
  worker->add_option("--interval", worker_args.interval_s, "seconds between passes (default 300)");
  worker->add_option("--batch", worker_args.batch, "documents per batch (default 50)");

  int failures_limit = 100;
  auto* failures = app.add_subcommand("failures", "failed documents with attempts, last attempt and error");
  failures->add_option("--limit", failures_limit, "at most this many (default 100)");

  std::string retry_id;
  bool retry_all = false;
  auto* retry = app.add_subcommand("retry", "make failed documents due again (attempts reset)");
  retry->add_option("id", retry_id, "one document id");
  retry->add_flag("--all", retry_all, "every failed document");

  kb::cli::ReindexArgs reindex_args;
  auto* reindex = app.add_subcommand(
      "reindex", "re-embed everything in place; with --embedder, switch embedders without downtime");
  bool verify_repair = false;
  reindex->add_flag("--rebuild", reindex_args.rebuild,
                    "build a fresh collection beside the active one and swap it in (a vector index that no "
                    "longer answers; see verify)");
  auto* verify = app.add_subcommand(
      "verify", "compare SQLite with Chroma (missing, stale and orphan chunks) and check that the index answers");
  verify->add_flag("--repair", verify_repair, "fix what is found (a broken index is rebuilt), then sync");

  kb::cli::ServeArgs serve_args;
  auto* serve = app.add_subcommand("serve", "local HTTP API for the desktop app (runs the worker too)");
  serve->add_option("--host", serve_args.host, "loopback address to listen on (default 127.0.0.1)");
  serve->add_option("--port", serve_args.port, "port (default 7420; 0 = any free port)")->check(CLI::Range(0, 65535));
  serve->add_option("--token-file", serve_args.token_file, "bearer token file (default: api-token beside the database)");
  serve->add_option("--folder", serve_args.folders, "folder POST /v1/index scans (repeatable)");
  serve->add_option("--cors-origin", serve_args.cors_origins, "allow this exact browser origin, e.g. http://localhost:3000 (repeatable)")
      ->check([](const std::string& o) { auto st = kbindex::ValidateCorsOrigin(o); return st.ok() ? std::string() : st.message(); });
  serve->add_option("--interval", serve_args.interval_s, "worker interval in seconds (default 300)");
  serve->add_flag("--no-worker", serve_args.no_worker, "do not run the retry worker (another process does)");

  kb::cli::McpArgs mcp_args;
  auto* mcp = app.add_subcommand("mcp", "MCP server on stdio for AI assistants (tools: search, get_note, put_note, ...)");
  mcp->add_flag("--no-worker", mcp_args.no_worker, "do not run the retry worker (another process does)");

  serve->add_flag("--watch", serve_args.watch, "also follow the folders live (as kbindex watch)");

  kb::cli::WatchArgs watch_args;
  auto* watch = app.add_subcommand("watch", "follow folders live: index every change as it is saved, then sync");
  watch->add_option("folders", watch_args.folders, "folders to watch (default: \"folders\" from the config file)");
  watch->add_option("--source", watch_args.source, "source name (default: the folder's name)");
  watch->add_option("--include", include, "glob of files to index (repeatable; default *.md *.markdown *.txt)");
  watch->add_option("--exclude", exclude, "glob of files or folders to leave out (repeatable)");
  watch->add_option("--max-file-size", max_file_size, "skip files larger than this many bytes");
  watch->add_option("--quiet-ms", watch_args.quiet_ms, "index a file once untouched this long (default 100)");
  watch->add_option("--reconcile-interval", watch_args.reconcile_s,
                    "full (mtime+size) scan every this many seconds; 0: only when needed (default 600)");
  watch->add_flag("--no-worker", watch_args.no_worker, "do not run the retry worker in this process");

  std::string skipped_source;
  auto* skipped = app.add_subcommand("skipped", "files the scanner could not index, with the reason");
  skipped->add_option("--source", skipped_source, "only this source");

  // `kbindex --man` prints the man page rendered from the definition above (the build installs
  // it as kbindex.1). It is not a parser option: it stays out of --help and needs no subcommand.
  if (argc == 2 && std::string_view(argv[1]) == "--man") {
    std::fputs(kb::cli::RenderManPage(app).c_str(), stdout);
    return kb::cli::kExitOk;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kb::cli::kExitOk : kb::cli::kExitUsage;
  }

  g.interactive = isatty(STDERR_FILENO);
  SetupLogging(g);
  auto options = kbindex::LoadOptions(config_file);
  if (!options.ok()) return kb::cli::Fail(options.status());
  g.options = std::move(options).value();
  if (!db.empty()) g.options.db_path = db;
  if (!include.empty()) g.options.include = include;
  if (!exclude.empty()) g.options.exclude = exclude;
  if (max_file_size > 0) g.options.max_file_bytes = max_file_size;
  if (!chroma_url.empty()) g.options.chroma_url = chroma_url;
  if (!chroma_token.empty()) g.options.chroma_token = chroma_token;
  if (chroma_timeout_ms > 0) g.options.chroma_timeout_ms = chroma_timeout_ms;
  if (!collection.empty()) g.options.collection = collection;
  if (!embedder.empty()) g.options.embedder = embedder;
  if (!embed_model.empty()) g.options.embed_model = embed_model;
  if (!embed_url.empty()) g.options.embed_url = embed_url;
  if (!chunking.empty()) g.options.chunking = chunking;
  if (embed_dims > 0) {
    g.options.embed_dims = embed_dims;
    if (g.options.embedder.empty()) g.options.embedder = "hash";
  }
  if (chunk_size > 0) g.options.chunk_max_bytes = chunk_size;
  if (store_text) g.options.store_text = true;
  if (max_attempts > 0) g.options.max_attempts = max_attempts;
  if (backoff_ms >= 0) g.options.backoff_base_ms = backoff_ms;
  if (*index && !kb::cli::AddSourceFromFlags(index_args, g.options)) return kb::cli::kExitUsage;
  if (auto st = kbindex::ValidateOptions(g.options); !st.ok()) {
    std::fprintf(stderr, "kbindex: %s\n", st.message().c_str());
    return kb::cli::kExitUsage;
  }

  if (*index) return kb::cli::RunIndex(g, index_args);
  if (*search) return kb::cli::RunSearch(g, search_args);
  if (*sync) return kb::cli::RunSync(g);
  if (*worker) return kb::cli::RunWorker(g, worker_args);
  if (*serve) return kb::cli::RunServe(g, serve_args);
  if (*mcp) return kb::cli::RunMcp(g, mcp_args);
  if (*watch) return kb::cli::RunWatch(g, watch_args);
  if (*failures) return kb::cli::RunFailures(g, failures_limit);
  if (*retry) return kb::cli::RunRetry(g, retry_id, retry_all);
  if (*reindex) return kb::cli::RunReindex(g, reindex_args);
  if (*verify) return kb::cli::RunVerify(g, verify_repair);
  if (*stats) return kb::cli::RunStats(g);
  if (*show) return kb::cli::RunShow(g, show_id, show_body);
  if (*skipped) return kb::cli::RunSkipped(g, skipped_source);
  return kb::cli::kExitUsage;
}
