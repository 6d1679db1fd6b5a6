// A real Chroma server for integration tests: the project-local npm server started on a free
// loopback port with a temporary data folder, stopped (and the folder removed) at scope exit.
// If it cannot start, the test fails: integration tests never skip silently.
#pragma once

#include <memory>
#include <string>

#include "support/temp_dir.h"
#include "vector/chroma_client.h"
#include "vector/local_chroma.h"

namespace kb::test {

class TestChroma {
 public:
  TestChroma();  // ADD_FAILURE()s and leaves ok() false when the server does not start
  ~TestChroma();

  bool ok() const { return server_ != nullptr; }
  std::string url() const { return server_ ? server_->url() : ""; }
  int port() const { return server_ ? server_->port() : 0; }
  LocalChroma& server() { return *server_; }
  // A fresh client with the given request timeout.
  std::unique_ptr<ChromaClient> Client(int timeout_ms = 30'000, const std::string& url = "");

 private:
  TempDir dir_;
  std::unique_ptr<LocalChroma> server_;
};

}  // namespace kb::test
