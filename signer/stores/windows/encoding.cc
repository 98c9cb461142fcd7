#include "signer/stores/windows/encoding.h"

#include "signer/stores/windows/scoped_handles.h"

namespace sigil::winstore {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

Result<std::string> BCryptDigest(const wchar_t* algorithm, std::string_view data) {
  ScopedBCryptAlgorithm alg;
  NTSTATUS status = BCryptOpenAlgorithmProvider(alg.receive(), algorithm, nullptr, 0);
  if (!BCRYPT_SUCCESS(status)) return NtStatusError(Code::kInternal, "BCryptOpenAlgorithmProvider", status);
  DWORD length = 0;
  ULONG written = 0;
  status = BCryptGetProperty(alg.get(), BCRYPT_HASH_LENGTH, reinterpret_cast<PUCHAR>(&length), sizeof(length),
                             &written, 0);
  if (!BCRYPT_SUCCESS(status)) return NtStatusError(Code::kInternal, "BCryptGetProperty(HashDigestLength)", status);
  BCRYPT_HASH_HANDLE hash = nullptr;
  status = BCryptCreateHash(alg.get(), &hash, nullptr, 0, nullptr, 0, 0);
  if (!BCRYPT_SUCCESS(status)) return NtStatusError(Code::kInternal, "BCryptCreateHash", status);
  std::string out(length, '\0');
  status = BCryptHashData(hash, reinterpret_cast<PUCHAR>(const_cast<char*>(data.data())),
                          static_cast<ULONG>(data.size()), 0);
  if (BCRYPT_SUCCESS(status)) {
    status = BCryptFinishHash(hash, reinterpret_cast<PUCHAR>(out.data()), length, 0);
  }
  BCryptDestroyHash(hash);
  if (!BCRYPT_SUCCESS(status)) return NtStatusError(Code::kInternal, "BCryptHashData/FinishHash", status);
  return out;
}

}  // namespace

std::string HexEncode(std::string_view bytes) {
  static const char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::optional<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = HexValue(hex[i]);
    int lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string ToUtf8(std::wstring_view utf16) {
  if (utf16.empty()) return "";
  int size = WideCharToMultiByte(CP_UTF8, 0, utf16.data(), static_cast<int>(utf16.size()), nullptr, 0, nullptr,
                                 nullptr);
  if (size <= 0) return "";
  std::string out(static_cast<size_t>(size), '\0');
  WideCharToMultiByte(CP_UTF8, 0, utf16.data(), static_cast<int>(utf16.size()), out.data(), size, nullptr, nullptr);
  return out;
}

std::wstring ToUtf16(std::string_view utf8) {
  if (utf8.empty()) return L"";
  int size = MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), nullptr, 0);
  if (size <= 0) return L"";
  std::wstring out(static_cast<size_t>(size), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), out.data(), size);
  return out;
}

bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

Result<std::string> Sha1(std::string_view data) { return BCryptDigest(BCRYPT_SHA1_ALGORITHM, data); }
Result<std::string> Sha256(std::string_view data) { return BCryptDigest(BCRYPT_SHA256_ALGORITHM, data); }

}  // namespace sigil::winstore
