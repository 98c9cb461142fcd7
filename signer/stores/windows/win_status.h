// A tiny Status / Result pair for the Windows store core (signer/stores/windows/).
//
// Why not absl::Status: the core is cross-compiled with mingw-w64 on every CI run (and tested under Wine),
// and there is no Abseil (nor OpenSSL) for mingw here. The codes are numerically identical to
// absl::StatusCode, so the Windows signerd's KeyStore (windows_key_store.cc) converts with a static_cast
// and keeps the message unchanged; the same rules for picking a code apply (STYLE.md "Errors").
//
// Everything here is a value type; thread-compatible.
#ifndef SIGIL_SIGNER_STORES_WINDOWS_WIN_STATUS_H_
#define SIGIL_SIGNER_STORES_WINDOWS_WIN_STATUS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace sigil::winstore {

// Same numbers as absl::StatusCode.
enum class Code : int {
  kOk = 0,
  kInvalidArgument = 3,
  kNotFound = 5,
  kPermissionDenied = 7,
  kFailedPrecondition = 9,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
};

// "INVALID_ARGUMENT", ... (absl's spelling), for the agent's wire format and logs.
const char* CodeName(Code code);
// The inverse of CodeName; kInternal for an unknown name.
Code CodeFromName(const std::string& name);

class Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NOT_FOUND: message", or "OK".
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }

// A T or a non-OK Status. Accessing value() of an error is a programming error (checked by assert).
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit like absl::StatusOr
  Result(Status status) : status_(std::move(status)) {
    if (status_.ok()) status_ = Status(Code::kInternal, "Result constructed from an OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

// One adapter per foreign error space; each keeps the original code in the message as 0x%08X.
// `what` names the call that failed ("NCryptSignHash").
Status SecurityStatusError(Code code, const std::string& what, int32_t security_status);  // SECURITY_STATUS
Status NtStatusError(Code code, const std::string& what, int32_t nt_status);              // NTSTATUS (BCrypt)
Status Win32Error(Code code, const std::string& what, uint32_t last_error);               // GetLastError()

}  // namespace sigil::winstore

#define WINSTORE_CONCAT_INNER_(a, b) a##b
#define WINSTORE_CONCAT_(a, b) WINSTORE_CONCAT_INNER_(a, b)

// The core's status macros (the absl-based SIGIL_* pair in common/ cannot be used without Abseil).
#define WINSTORE_RETURN_IF_ERROR(expr)                    \
  do {                                                    \
    ::sigil::winstore::Status winstore_status_ = (expr);  \
    if (!winstore_status_.ok()) return winstore_status_;  \
  } while (0)

#define WINSTORE_ASSIGN_OR_RETURN(lhs, rexpr) \
  WINSTORE_ASSIGN_OR_RETURN_IMPL_(WINSTORE_CONCAT_(winstore_result_, __LINE__), lhs, rexpr)

#define WINSTORE_ASSIGN_OR_RETURN_IMPL_(result, lhs, rexpr) \
  auto result = (rexpr);                                    \
  if (!result.ok()) return result.status();                 \
  lhs = std::move(result).value()

#endif  // SIGIL_SIGNER_STORES_WINDOWS_WIN_STATUS_H_
