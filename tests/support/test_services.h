// Services over the in-memory vector store, for use-case and API tests without a network.
#pragma once

#include <memory>

#include "app/services.h"

namespace kb::test {

// `config.db_path` defaults to ":memory:". ADD_FAILURE()s and returns nullptr when it cannot open.
std::unique_ptr<app::Services> OpenTestServices(VectorStore& vectors, Config config = {}, Clock* clock = nullptr);

}  // namespace kb::test
