// Status and Result<T>: errors as values, at every boundary of kbindex and in its public API.
//
// A Status carries a code the caller can act on (is this worth retrying? is it my input?) and a
// human-readable message that says what happened and, where there is one, what to do. A
// Result<T> is either a T or a non-ok Status. Neither throws; accessing value() of an error is
// a programming error (asserted in debug builds).
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

#include "kbindex/export.h"

namespace kbindex {

class KBINDEX_EXPORT Status {
 public:
  enum class Code {
    kOk = 0,
    kNotFound,
    kInvalidArgument,  // bad input from the user or the caller; do not retry
    kIOError,          // local file or database I/O
    kCorruption,
    kBusy,             // database locked longer than the busy timeout
    kUnavailable,      // remote service unreachable (connection refused, DNS, reset)
    kTimeout,          // remote service (or a time budget) ran out before an answer
    kRemotePermanent,  // remote service rejected the request (HTTP 4xx)
    kRemoteTransient,  // remote service failed (HTTP 5xx, truncated reply)
    kConflict,         // a precondition on shared state does not hold
    kAborted,          // stopped on purpose (safety valve, cancellation)
    kInternal,
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
  static Status InvalidArgument(std::string m) {
    return Status(Code::kInvalidArgument, std::move(m));
  }
  static Status IOError(std::string m) { return Status(Code::kIOError, std::move(m)); }
  static Status Corruption(std::string m) { return Status(Code::kCorruption, std::move(m)); }
  static Status Busy(std::string m) { return Status(Code::kBusy, std::move(m)); }
  static Status Unavailable(std::string m) { return Status(Code::kUnavailable, std::move(m)); }
  static Status Timeout(std::string m) { return Status(Code::kTimeout, std::move(m)); }
  static Status RemotePermanent(std::string m, int http_status = 0) {
    Status s(Code::kRemotePermanent, std::move(m));
    s.http_status_ = http_status;
    return s;
  }
  static Status RemoteTransient(std::string m, int http_status = 0) {
    Status s(Code::kRemoteTransient, std::move(m));
    s.http_status_ = http_status;
    return s;
  }
  static Status Conflict(std::string m) { return Status(Code::kConflict, std::move(m)); }
  static Status Aborted(std::string m) { return Status(Code::kAborted, std::move(m)); }
  static Status Internal(std::string m) { return Status(Code::kInternal, std::move(m)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // The HTTP status of a remote error, when there was one.
  int http_status() const { return http_status_; }

  // True when the same request may succeed later without any change on the caller's side.
  bool IsTransient() const {
    return code_ == Code::kUnavailable || code_ == Code::kTimeout ||
           code_ == Code::kRemoteTransient || code_ == Code::kBusy;
  }
  // True when the remote side could not be reached at all (nothing was answered).
  bool IsUnreachable() const { return code_ == Code::kUnavailable || code_ == Code::kTimeout; }

  // "not found: <message>", or "ok".
  std::string ToString() const;
  // A stable lower-case name: "not found", "invalid argument", ...
  static const char* CodeName(Code code);

  // A copy whose message is prefixed with `context: `.
  Status WithContext(const std::string& context) const {
    Status s = *this;
    s.message_ = context + ": " + message_;
    return s;
  }

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  Code code_ = Code::kOk;
  std::string message_;
  int http_status_ = 0;
};

// Either a T or a non-ok Status.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "Result constructed from an ok Status without a value");
  }

  bool ok() const { return value_.has_value(); }
  // Ok when there is a value.
  const Status& status() const { return status_; }
  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  // The value, or `fallback` on error.
  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace kbindex
