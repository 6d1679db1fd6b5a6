// JSON-RPC 2.0 as MCP uses it, independent of any transport: one message in (text), one
// classified message out, and the error and response objects sent back. MCP removed batches
// in 2025-06-18, so an array is an invalid request here; ids are strings or integers, never
// null.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace kb::mcp {

// The JSON-RPC error codes the server answers with.
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
inline constexpr int kResourceNotFound = -32002;  // MCP: resources/read of an unknown URI

struct Message {
  enum class Kind {
    kRequest,       // method + id: answer exactly once (unless cancelled)
    kNotification,  // method, no id: never answered
    kResponse,      // result or error + id: the client answering us (we send no requests: ignored)
    kInvalid,       // answer `error` (with `id` when it could be read, else null)
  };
  Kind kind = Kind::kInvalid;
  nlohmann::json id;  // string or integer; null when absent or unreadable
  std::string method;
  nlohmann::json params = nlohmann::json::object();  // always an object once valid
  nlohmann::json error;  // kInvalid: the error response to send
};

// Classifies one message's text: parse error, batch, wrong types, missing parts.
Message ParseMessage(std::string_view text);
// The same for an already parsed value.
Message ClassifyMessage(const nlohmann::json& value);

nlohmann::json MakeResult(const nlohmann::json& id, nlohmann::json result);
nlohmann::json MakeError(const nlohmann::json& id, int code, const std::string& message,
                         const nlohmann::json& data = nullptr);
nlohmann::json MakeNotification(const std::string& method, nlohmann::json params);

// A readable id for logs ("7", "\"abc\"").
std::string IdText(const nlohmann::json& id);

}  // namespace kb::mcp
