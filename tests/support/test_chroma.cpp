#include "support/test_chroma.h"

#include <gtest/gtest.h>

namespace kb::test {

TestChroma::TestChroma() {
  LocalChromaOptions o;
  o.data_dir = dir_ / "chroma";
  o.shared = false;
  auto s = LocalChroma::Start(o);
  if (!s.ok()) {
    ADD_FAILURE() << "could not start a Chroma server for this test: " << s.status().ToString()
                  << "\n(run tools/setup, which installs the pinned chromadb npm package)";
    return;
  }
  server_ = std::move(s).value();
}

TestChroma::~TestChroma() { server_.reset(); }

std::unique_ptr<ChromaClient> TestChroma::Client(int timeout_ms, const std::string& url) {
  ChromaOptions o;
  o.url = url.empty() ? this->url() : url;
  o.timeout_ms = timeout_ms;
  o.connect_timeout_ms = 1000;
  auto c = ChromaClient::Create(o);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : nullptr;
}

}  // namespace kb::test
