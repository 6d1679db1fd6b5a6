// Status and Result<T> are the public ones (include/kbindex/status.h); this header brings them
// into namespace kb and adds the early-return helpers used inside the library.
#pragma once

#include "kbindex/status.h"

namespace kb {
using kbindex::Result;
using kbindex::Status;
}  // namespace kb

#define KB_RETURN_IF_ERROR(expr)               \
  do {                                         \
    ::kb::Status kb_status_ = (expr);          \
    if (!kb_status_.ok()) return kb_status_;   \
  } while (0)

#define KB_CONCAT_INNER_(a, b) a##b
#define KB_CONCAT_(a, b) KB_CONCAT_INNER_(a, b)
#define KB_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
#define KB_ASSIGN_OR_RETURN(lhs, expr) \
  KB_ASSIGN_OR_RETURN_IMPL_(KB_CONCAT_(kb_result_, __LINE__), lhs, expr)
