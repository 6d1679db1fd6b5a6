// The kbindex command line: main.cpp parses flags (CLI11), the cmd_*.cpp files run one
// subcommand each by calling the library and printing. No logic a test would want lives here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "app/config.h"
#include "store/document_store.h"

namespace kb::cli {

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

struct Globals {
  Config config;
  bool json = false;
  bool quiet = false;
  int verbose = 0;
  bool interactive = false;  // stderr is a terminal: progress lines allowed
};

// Opens (creating the folder of) the database named by the config. Prints the error itself.
std::unique_ptr<DocumentStore> OpenStore(const Globals& g);

// Prints a Status as "kbindex: <message>" on stderr and returns the exit code for it.
int Fail(const Status& status);

// Writes a JSON value (already serialised) followed by a newline to stdout.
void PrintJson(const std::string& serialised);

struct IndexArgs {
  std::vector<std::string> folders;
  std::string source;
  bool allow_mass_delete = false;
  bool no_sync = false;
};
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

int RunStats(Globals& g);
int RunShow(Globals& g, const std::string& id, bool body);
int RunSkipped(Globals& g, const std::string& source);

}  // namespace kb::cli
