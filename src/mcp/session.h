// The MCP server side of one connection, independent of the transport: initialize (with
// protocol-version negotiation), ping, tools/list, tools/call, resources/list,
// resources/templates/list, resources/read, notifications/initialized and
// notifications/cancelled. The tools and the resource reader are given (tools.h builds
// kbindex's); the session owns no rule about notes.
//
// Thread-safe: a transport may run long requests (IsLong) on another thread while it goes on
// reading, so that notifications/cancelled and ping are seen during a call.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mcp/jsonrpc.h"
#include "util/status.h"

namespace kb::mcp {

// The revisions this server speaks, newest first: the one @modelcontextprotocol/sdk 1.32 calls
// LATEST_PROTOCOL_VERSION and the older ones it still accepts.
inline constexpr const char* kLatestProtocolVersion = "2025-11-25";
const std::vector<std::string>& SupportedProtocolVersions();
bool IsSupportedProtocolVersion(const std::string& version);
// What a server answers to a client asking for `requested`: the same when supported, else the
// latest.
std::string NegotiateProtocolVersion(const std::string& requested);

// What a running tool may use: the cancellation flag (set by notifications/cancelled or when
// the transport closes) and progress (a no-op unless the request carried a progressToken;
// values that do not increase are dropped, as the protocol requires).
struct ToolContext {
  const std::atomic<bool>* cancelled = nullptr;
  std::function<void(double progress, std::optional<double> total, const std::string& message)> progress;
  bool Cancelled() const { return cancelled && cancelled->load(); }
};

// A tool's answer. `structured` is the structuredContent (it must match the output schema);
// `text` is the text content every client shows. is_error: a failure the model can act on
// (bad argument, note not found, refused), never a protocol error.
struct ToolResult {
  nlohmann::json structured;  // null: none (errors)
  std::string text;
  bool is_error = false;
  static ToolResult Error(std::string message) {
    ToolResult r;
    r.text = std::move(message);
    r.is_error = true;
    return r;
  }
};

struct Tool {
  std::string name;
  std::string title;
  std::string description;
  nlohmann::json input_schema;   // JSON Schema (object); arguments are checked against it
  nlohmann::json output_schema;  // JSON Schema (object) of `structured`
  nlohmann::json annotations;    // readOnlyHint, destructiveHint, idempotentHint, openWorldHint
  std::function<ToolResult(const nlohmann::json& arguments, ToolContext& context)> run;
};

struct ResourceTemplate {
  std::string uri_template;  // RFC 6570, e.g. kbindex://note/{id}
  std::string name;
  std::string title;
  std::string description;
  std::string mime_type;
};

// resources/read: the contents for `uri`, at most `max_bytes` of text; NotFound for a URI no
// resource answers to, InvalidArgument for a malformed one.
struct ResourceContents {
  std::string uri;
  std::string mime_type;
  std::string text;
};
using ResourceReader = std::function<Result<ResourceContents>(const std::string& uri, size_t max_bytes)>;

struct Catalog {
  std::vector<Tool> tools;
  std::vector<ResourceTemplate> templates;
  ResourceReader read_resource;
  std::string instructions;  // initialize's instructions for the model
};

struct SessionLimits {
  size_t max_result_bytes = 1024 * 1024;  // a tools/call or resources/read result, serialised
};

class Session {
 public:
  using Notify = std::function<void(const nlohmann::json& notification)>;

  Session(const Catalog& catalog, SessionLimits limits = {});

  // Handles one classified message. Returns the response to send, or nullopt: a notification,
  // a client's response, or a request cancelled before it finished (the protocol says such a
  // request gets no answer). `notify` sends progress notifications while a call runs.
  std::optional<nlohmann::json> Handle(const Message& message, const Notify& notify = {});
  // The same from the message's text.
  std::optional<nlohmann::json> HandleText(std::string_view text, const Notify& notify = {});

  // True for requests that may run long (tools/call, resources/read): a transport runs them
  // away from its reading thread.
  static bool IsLong(const Message& message);
  // Registers a long request the transport accepted but has not started, so that a cancel may
  // come first. False when its id is already in use by a running request (answer
  // DuplicateId then).
  bool Accept(const Message& message);
  static nlohmann::json DuplicateId(const Message& message);
  // Sets every running call's cancellation flag (the transport is closing).
  void CancelAll();

  bool initialized() const;
  // The negotiated revision ("" before initialize).
  std::string protocol_version() const;

 private:
  nlohmann::json Initialize(const Message& m);
  nlohmann::json ListTools() const;
  nlohmann::json CallTool(const Message& m, const std::atomic<bool>& cancelled, const Notify& notify);
  nlohmann::json ReadResource(const Message& m);
  void OnCancelled(const nlohmann::json& params);
  bool Modern() const;  // 2025-06-18 or later: titles, outputSchema, structuredContent

  const Catalog& catalog_;
  const SessionLimits limits_;
  mutable std::mutex mu_;
  std::string version_;
  bool initialized_ = false;
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> in_flight_;  // by IdText
};

// Checks `value` against the subset of JSON Schema the tools use (type, properties, required,
// additionalProperties: false, enum, minimum/maximum, minLength/maxLength). Returns what is
// wrong, in words a model can act on, or nullopt.
std::optional<std::string> CheckAgainstSchema(const nlohmann::json& schema, const nlohmann::json& value,
                                              const std::string& where = "arguments");

}  // namespace kb::mcp
