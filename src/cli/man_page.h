// The kbindex(1) man page, rendered from the command line's own CLI11 definition (`kbindex
// --man`, run by the build), so that it lists exactly the subcommands and options there are.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace kb::cli {

// troff (man macros) for `app`: every visible global option, then every subcommand with its
// arguments and options, in definition order; plus fixed sections (exit status, environment,
// files).
std::string RenderManPage(const CLI::App& app);

}  // namespace kb::cli
