#include "util/status.h"

namespace kbindex {

const char* Status::CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kNotFound: return "not found";
    case Code::kInvalidArgument: return "invalid argument";
    case Code::kIOError: return "I/O error";
    case Code::kCorruption: return "corruption";
    case Code::kBusy: return "busy";
    case Code::kUnavailable: return "unavailable";
    case Code::kTimeout: return "timeout";
    case Code::kRemotePermanent: return "rejected";
    case Code::kRemoteTransient: return "remote error";
    case Code::kConflict: return "conflict";
    case Code::kAborted: return "aborted";
    case Code::kInternal: return "internal error";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(CodeName(code_)) + ": " + message_;
}

}  // namespace kbindex
