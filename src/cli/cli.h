// The kbindex command line: main.cpp parses flags (CLI11), the cmd_*.cpp files run one
// subcommand each through the public library (kbindex::Database) and print. No rule lives
// here; `serve` starts the HTTP front-end on the same Database.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "kbindex/kbindex.h"

namespace kb::cli {

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

struct Globals {
  kbindex::Options options;
  bool json = false;
  bool quiet = false;
  int verbose = 0;
  bool interactive = false;  // stderr is a terminal: progress lines allowed
};

// Opens the database named by the options. Prints the error itself (nullptr then).
std::unique_ptr<kbindex::Database> OpenDatabase(const Globals& g);
// The same for a long-running server (serve, mcp): searches read through a memory map unless
// the configuration says otherwise (Options::search_mmap_bytes).
std::unique_ptr<kbindex::Database> OpenServingDatabase(Globals& g);

// Set by SIGINT/SIGTERM once InstallStopHandler ran: finish the batch in hand, then exit.
// A second signal exits at once.
extern std::atomic<bool> g_stop;
void InstallStopHandler();

// Prints a one-line sync summary (text mode) and returns the exit code it implies.
int ReportSync(const Globals& g, const kbindex::SyncSummary& r, const char* what);

// Prints a Status as "kbindex: <message>" on stderr and returns the exit code for it.
int Fail(const kbindex::Status& status);

// Writes a JSON value (already serialised) followed by a newline to stdout.
void PrintJson(const std::string& serialised);

// `text` with control characters (terminal escape sequences included) made visible as \xNN:
// file names and titles are data, never commands to the terminal.
std::string Printable(const std::string& text);

struct IndexArgs {
  std::vector<std::string> folders;
  std::string source;
  bool allow_mass_delete = false;
  bool no_sync = false;
  // Database sources: the mode of this run, or one row.
  bool full = false;
  bool incremental = false;
  bool outbox = false;
  std::string item;
  // A database source given by flags instead of the config file (named by --source).
  std::string sqlite_path;
  std::string postgres_conninfo;
  std::string table;
  std::string query;
  std::vector<std::string> columns;  // role=column: id, title, body, updated_at, deleted, deleted_at, meta
  std::string outbox_table;
};
// Adds the database source the flags describe (if they describe one) to `options`. A usage
// error (message printed) returns false.
bool AddSourceFromFlags(const IndexArgs& args, kbindex::Options& options);
int RunIndex(Globals& g, const IndexArgs& args);

struct SearchArgs {
  std::vector<std::string> words;
  std::string mode;  // empty: hybrid when Chroma is configured, else keyword
  bool semantic = false;
  bool raw = false;
  int k = 10;
  std::string source;
};
int RunSearch(Globals& g, const SearchArgs& args);

int RunSync(Globals& g);
int RunStats(Globals& g);

struct WorkerArgs {
  bool once = false;
  int interval_s = 0;  // 0: config
  int batch = 0;       // 0: config
};
int RunWorker(Globals& g, const WorkerArgs& args);
int RunFailures(Globals& g, int limit);
int RunRetry(Globals& g, const std::string& id, bool all);
struct ReindexArgs {
  std::string embedder;  // switch to this embedder (with model/url/dims from the globals)
  bool rebuild = false;  // a fresh collection beside the active one, then swapped in
};
int RunReindex(Globals& g, const ReindexArgs& args);
int RunVerify(Globals& g, bool repair);

struct ServeArgs {
  std::string host;  // empty: config (127.0.0.1)
  int port = -1;     // -1: config (7420); 0: any free port
  std::string token_file;
  std::vector<std::string> folders;
  std::vector<std::string> cors_origins;
  int interval_s = 0;
  bool no_worker = false;  // another process runs the worker
  bool watch = false;      // also follow the folders live (kbindex watch)
};
int RunServe(Globals& g, const ServeArgs& args);

struct WatchArgs {
  std::vector<std::string> folders;  // empty: config
  std::string source;
  int quiet_ms = 0;         // 0: config
  int reconcile_s = -1;     // -1: config
  bool no_worker = false;   // do not run the retry worker here
};
int RunWatch(Globals& g, const WatchArgs& args);
// "<folder of the database>/api-token"
std::string DefaultTokenFile(const std::string& db_path);
struct McpArgs {
  bool no_worker = false;  // another process runs the worker
};
// The MCP server on stdin/stdout until the client closes stdin (or SIGINT/SIGTERM).
int RunMcp(Globals& g, const McpArgs& args);
int RunShow(Globals& g, const std::string& id, bool body);
int RunSkipped(Globals& g, const std::string& source);

}  // namespace kb::cli
