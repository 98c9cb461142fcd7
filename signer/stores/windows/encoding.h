// Byte and text helpers for the Windows store core: hex, UTF-8 <-> UTF-16, and SHA-1 / SHA-256 through
// BCrypt (the core has no OpenSSL). Every function is thread-safe.
#ifndef SIGIL_SIGNER_STORES_WINDOWS_ENCODING_H_
#define SIGIL_SIGNER_STORES_WINDOWS_ENCODING_H_

#include <optional>
#include <string>
#include <string_view>

#include "signer/stores/windows/win_status.h"

namespace sigil::winstore {

// Uppercase hex of `bytes`.
std::string HexEncode(std::string_view bytes);
// Decodes hex (either case); nullopt for an odd length or a non-hex character.
std::optional<std::string> HexDecode(std::string_view hex);

// UTF-16 (Windows) to UTF-8 and back. Invalid sequences become U+FFFD.
std::string ToUtf8(std::wstring_view utf16);
std::wstring ToUtf16(std::string_view utf8);

// ASCII-case-insensitive equality (non-ASCII bytes must be equal), as signer/matching.cc's
// absl::EqualsIgnoreCase.
bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b);

// SHA-1 / SHA-256 of `data` through BCrypt. INTERNAL when BCrypt fails.
Result<std::string> Sha1(std::string_view data);
Result<std::string> Sha256(std::string_view data);

}  // namespace sigil::winstore

#endif  // SIGIL_SIGNER_STORES_WINDOWS_ENCODING_H_
