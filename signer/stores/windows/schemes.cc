#include "signer/stores/windows/schemes.h"

#include <cstdio>

// BCRYPT_*_ALGORITHM are wide string literals from bcrypt.h; spelled out here so this file needs no
// Windows header.
namespace sigil::winstore {

const std::vector<SchemeInfo>& AllSchemes() {
  static const auto* schemes = new std::vector<SchemeInfo>{
      {0x0806, "rsa_pss_rsae_sha512", KeyAlgorithm::kRsa, L"SHA512", 64, true, 0},
      {0x0805, "rsa_pss_rsae_sha384", KeyAlgorithm::kRsa, L"SHA384", 48, true, 0},
      {0x0804, "rsa_pss_rsae_sha256", KeyAlgorithm::kRsa, L"SHA256", 32, true, 0},
      {0x0601, "rsa_pkcs1_sha512", KeyAlgorithm::kRsa, L"SHA512", 64, false, 0},
      {0x0501, "rsa_pkcs1_sha384", KeyAlgorithm::kRsa, L"SHA384", 48, false, 0},
      {0x0401, "rsa_pkcs1_sha256", KeyAlgorithm::kRsa, L"SHA256", 32, false, 0},
      {0x0201, "rsa_pkcs1_sha1", KeyAlgorithm::kRsa, L"SHA1", 20, false, 0},
      {0x0403, "ecdsa_secp256r1_sha256", KeyAlgorithm::kEcdsa, L"SHA256", 32, false, 256},
      {0x0503, "ecdsa_secp384r1_sha384", KeyAlgorithm::kEcdsa, L"SHA384", 48, false, 384},
      {0x0603, "ecdsa_secp521r1_sha512", KeyAlgorithm::kEcdsa, L"SHA512", 64, false, 521},
  };
  return *schemes;
}

const SchemeInfo* FindScheme(uint16_t code) {
  for (const SchemeInfo& scheme : AllSchemes()) {
    if (scheme.code == code) return &scheme;
  }
  return nullptr;
}

bool KeySupports(const KeyDescription& key, const SchemeInfo& scheme) {
  if (key.algorithm != scheme.algorithm) return false;
  if (key.algorithm == KeyAlgorithm::kEcdsa) return key.bits == scheme.curve_bits;
  if (scheme.pss) {
    size_t em_len = static_cast<size_t>(key.bits - 1 + 7) / 8;
    return em_len >= 2 * scheme.digest_length + 2;
  }
  return true;
}

std::vector<uint16_t> SupportedSchemes(const KeyDescription& key) {
  std::vector<uint16_t> out;
  for (const SchemeInfo& scheme : AllSchemes()) {
    if (KeySupports(key, scheme)) out.push_back(scheme.code);
  }
  return out;
}

std::string SchemeLabel(uint16_t code) {
  const SchemeInfo* scheme = FindScheme(code);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "0x%04x %s", code, scheme != nullptr ? scheme->name : "(unknown)");
  return buffer;
}

}  // namespace sigil::winstore
