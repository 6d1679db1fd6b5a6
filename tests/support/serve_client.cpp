#include "support/serve_client.h"

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <thread>

#include "support/temp_dir.h"

namespace kb::test {

std::string ConnectToServe(httplib::Client& client, const std::string& token_file, const std::string& log_file) {
  // The server may answer (413, 431) and close before a large request is fully sent: a write
  // error, not a reason for the test process to die.
  ::signal(SIGPIPE, SIG_IGN);
  bool up = false;
  for (int i = 0; i < 400 && !up; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    auto r = client.Get("/v1/health");
    up = r && r->status == 200;
  }
  if (!up) {
    ADD_FAILURE() << "kbindex serve did not come up:\n" << ReadFile(log_file);
    return "";
  }
  std::string token = ReadFile(token_file);
  while (!token.empty() && token.back() == '\n') token.pop_back();
  if (token.size() != 64) {
    ADD_FAILURE() << "unexpected API token in " << token_file;
    return "";
  }
  client.set_default_headers({{"Authorization", "Bearer " + token}});
  return token;
}

}  // namespace kb::test
