#include <sys/stat.h>

#include <cstdio>
#include <filesystem>

#include "cli/cli.h"

namespace kb::cli {

std::unique_ptr<DocumentStore> OpenStore(const Globals& g) {
  const std::string& path = g.config.db_path;
  if (path != ":memory:") {
    std::error_code ec;
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  }
  StoreOptions opt;
  opt.busy_timeout_ms = g.config.busy_timeout_ms;
  auto store = DocumentStore::Open(path, opt);
  if (!store.ok()) {
    Fail(store.status());
    return nullptr;
  }
  return std::move(store).value();
}

int Fail(const Status& status) {
  std::fprintf(stderr, "kbindex: %s\n", status.message().c_str());
  return status.code() == Status::Code::kInvalidArgument && status.message().empty() ? kExitUsage
                                                                                     : kExitFailure;
}

void PrintJson(const std::string& serialised) {
  std::fwrite(serialised.data(), 1, serialised.size(), stdout);
  std::fputc('\n', stdout);
}

}  // namespace kb::cli
