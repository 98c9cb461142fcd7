#include "signer/stores/windows/win_status.h"

#include <cstdio>

namespace sigil::winstore {
namespace {

struct CodeNameEntry {
  Code code;
  const char* name;
};

constexpr CodeNameEntry kCodeNames[] = {
    {Code::kOk, "OK"},
    {Code::kInvalidArgument, "INVALID_ARGUMENT"},
    {Code::kNotFound, "NOT_FOUND"},
    {Code::kPermissionDenied, "PERMISSION_DENIED"},
    {Code::kFailedPrecondition, "FAILED_PRECONDITION"},
    {Code::kUnimplemented, "UNIMPLEMENTED"},
    {Code::kInternal, "INTERNAL"},
    {Code::kUnavailable, "UNAVAILABLE"},
};

std::string Hex32(uint32_t value) {
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "0x%08X", static_cast<unsigned>(value));
  return buffer;
}

}  // namespace

const char* CodeName(Code code) {
  for (const CodeNameEntry& entry : kCodeNames) {
    if (entry.code == code) return entry.name;
  }
  return "UNKNOWN";
}

Code CodeFromName(const std::string& name) {
  for (const CodeNameEntry& entry : kCodeNames) {
    if (name == entry.name) return entry.code;
  }
  return Code::kInternal;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(code_)) + ": " + message_;
}

Status SecurityStatusError(Code code, const std::string& what, int32_t security_status) {
  return Status(code, what + " failed: SECURITY_STATUS " + Hex32(static_cast<uint32_t>(security_status)));
}

Status NtStatusError(Code code, const std::string& what, int32_t nt_status) {
  return Status(code, what + " failed: NTSTATUS " + Hex32(static_cast<uint32_t>(nt_status)));
}

Status Win32Error(Code code, const std::string& what, uint32_t last_error) {
  return Status(code, what + " failed: error " + Hex32(last_error));
}

}  // namespace sigil::winstore
