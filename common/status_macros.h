// Status propagation macros. Debian's Abseil (20220623) ships none, so Sigil defines exactly one pair and
// uses it everywhere.
#ifndef SIGIL_COMMON_STATUS_MACROS_H_
#define SIGIL_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SIGIL_STATUS_CONCAT_INNER_(a, b) a##b
#define SIGIL_STATUS_CONCAT_(a, b) SIGIL_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status) and returns it from the enclosing function when it is not OK.
#define SIGIL_RETURN_IF_ERROR(expr)                  \
  do {                                               \
    ::absl::Status sigil_status_ = (expr);           \
    if (!sigil_status_.ok()) return sigil_status_;   \
  } while (0)

// Evaluates `rexpr` (an absl::StatusOr<T>); returns its status when not OK, otherwise moves the value
// into `lhs` (a declaration such as `auto x` or an existing variable).
#define SIGIL_ASSIGN_OR_RETURN(lhs, rexpr) \
  SIGIL_ASSIGN_OR_RETURN_IMPL_(SIGIL_STATUS_CONCAT_(sigil_statusor_, __LINE__), lhs, rexpr)

#define SIGIL_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // SIGIL_COMMON_STATUS_MACROS_H_
