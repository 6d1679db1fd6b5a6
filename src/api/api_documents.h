// Notes pushed by the desktop app: validation of ids and JSON bodies, and their conversion into
// the same DocumentInput a scanned file produces (so they take the same store + sync path).
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "store/document_store.h"
#include "util/status.h"

namespace kb {

inline constexpr const char* kApiSource = "api";

// Ids: 1..512 characters of letters, digits and . _ - ~ : / @ +, not starting or ending with '/',
// without "//" or a ".." segment. InvalidArgument with the rule otherwise.
Status ValidateDocumentId(const std::string& id);

// {"title"?: string, "body": string, "metadata"?: object of scalars or lists of scalars}.
// The content hash covers title, body and metadata; the title falls back to the first heading,
// then the id. `max_body_bytes` bounds the body.
Result<DocumentInput> ApiDocumentFromJson(const std::string& id, const nlohmann::json& body,
                                          size_t max_body_bytes);

}  // namespace kb
