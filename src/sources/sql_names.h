// SQL names taken from the configuration: a source's table and columns are the only parts of a
// query that cannot be bound as parameters, so they are checked against a strict pattern here
// and always double-quoted when used. Values are never put into SQL text.
#pragma once

#include <string>
#include <string_view>

#include "util/status.h"

namespace kb::sources {

// A plain identifier: a letter or '_', then letters, digits or '_'; at most 63 characters.
bool IsIdentifier(std::string_view name);

// "name" or "schema.name", each part an identifier.
bool IsQualifiedName(std::string_view name);

// The name double-quoted ("schema"."name" for a qualified one). Only for names that passed
// IsQualifiedName (so there is nothing to escape).
std::string Quote(std::string_view name);

// One SELECT (or WITH ... SELECT) without ';'. The query is the configuration owner's own SQL:
// it is run as written, as a subquery, on a read-only connection.
Status CheckQuery(std::string_view query);

}  // namespace kb::sources
