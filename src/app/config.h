// Configuration inside the library is the public Options (include/kbindex/options.h): one
// struct, no globals, loaded by LoadOptions and validated by ValidateOptions.
#pragma once

#include "kbindex/options.h"
#include "util/status.h"

namespace kb {

using Config = kbindex::Options;
using kbindex::ApplyEnvironment;
using kbindex::DefaultConfigFile;
using kbindex::DefaultDataDir;

inline Result<Config> LoadConfig(const std::string& file) { return kbindex::LoadOptions(file); }
inline Status ValidateConfig(const Config& config) { return kbindex::ValidateOptions(config); }

}  // namespace kb
