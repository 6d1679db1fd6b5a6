// The "sources" setting: database sources read from the config file, checked before anything
// connects. Used by LoadOptions / ValidateOptions (config.cpp) and the CLI's source flags.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "kbindex/source_options.h"
#include "util/status.h"

namespace kb::app {

// Parses the JSON array of the "sources" setting. Unknown keys and wrong types are
// InvalidArgument naming the source and the key.
Status ParseDatabaseSources(const nlohmann::json& value, std::vector<kbindex::DatabaseSource>* out);

// Checks one source: name, kind, where/what, identifiers, mode and limits.
Status ValidateDatabaseSource(const kbindex::DatabaseSource& source);

// Checks every source and that their names are distinct.
Status ValidateDatabaseSources(const std::vector<kbindex::DatabaseSource>& sources);

// The mode a source runs in when none is asked for: its `mode`, else outbox when it has an
// outbox table, incremental when it has an updated_at column, else full.
std::string DefaultMode(const kbindex::DatabaseSource& source);

// Seconds between the worker's polls of the source.
int PollIntervalSeconds(const kbindex::DatabaseSource& source);

}  // namespace kb::app
