// Running the kbindex binary (or any program) from tests: capture stdout, stderr, exit code.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace kb::test {

struct ProcessResult {
  int exit_code = -1;  // -signal when killed
  std::string out;
  std::string err;
};

// Runs argv[0] (searched in PATH) with `env` added to the environment; waits for it.
ProcessResult Run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
                  const std::string& stdin_data = "");

// Runs the kbindex binary under test.
ProcessResult Kbindex(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {});

// Starts a program without waiting; returns its pid (stdout/stderr go to `log_file`).
pid_t Spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            const std::string& log_file);

}  // namespace kb::test
