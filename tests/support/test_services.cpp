#include "support/test_services.h"

#include <gtest/gtest.h>

namespace kb::test {

std::unique_ptr<app::Services> OpenTestServices(VectorStore& vectors, Config config, Clock* clock) {
  if (config.db_path.empty()) config.db_path = ":memory:";
  app::ServicesOptions o;
  o.vectors = &vectors;
  o.clock = clock;
  auto s = app::Services::Open(config, o);
  if (!s.ok()) {
    ADD_FAILURE() << s.status().ToString();
    return nullptr;
  }
  return std::move(s).value();
}

}  // namespace kb::test
