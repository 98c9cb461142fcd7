// The TLS SignatureScheme codes the Windows store signs with, described for CNG (hash algorithm names,
// padding), without OpenSSL. The table and the rule "which key can make which scheme" are the same as
// signer/signature_scheme.h (the Windows-side tests pin them): ECDSA bound to its curve as in TLS 1.3, and
// RSA-PSS with salt length = hash length for every hash (the reference implementation fixes the salt at 32
// bytes, wrong for SHA-384/512). Thread-safe; the table is immutable.
#ifndef SIGIL_SIGNER_STORES_WINDOWS_SCHEMES_H_
#define SIGIL_SIGNER_STORES_WINDOWS_SCHEMES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sigil::winstore {

enum class KeyAlgorithm { kRsa, kEcdsa };

// Type and size of a key: RSA modulus bits, or the ECDSA curve's field bits (256, 384, 521).
struct KeyDescription {
  KeyAlgorithm algorithm = KeyAlgorithm::kRsa;
  int bits = 0;
};

struct SchemeInfo {
  uint16_t code;
  const char* name;
  KeyAlgorithm algorithm;
  // CNG hash algorithm name for the padding info (BCRYPT_SHA256_ALGORITHM, ...).
  const wchar_t* hash_algorithm;
  size_t digest_length;
  // RSASSA-PSS with salt = digest_length; otherwise PKCS#1 v1.5 for RSA.
  bool pss;
  // Required curve (field bits) for ECDSA; 0 for RSA.
  int curve_bits;
};

// Every scheme, in signer/signature_scheme.h's AllSchemes() order.
const std::vector<SchemeInfo>& AllSchemes();

// The scheme with `code`, or nullptr.
const SchemeInfo* FindScheme(uint16_t code);

// Whether `key` can make `scheme`: same type; ECDSA on the scheme's curve; RSA-PSS only when the modulus
// leaves room for salt = hash length (RFC 8017 section 9.1.1: emLen >= 2 * hLen + 2).
bool KeySupports(const KeyDescription& key, const SchemeInfo& scheme);

// The schemes `key` can make, in AllSchemes() order.
std::vector<uint16_t> SupportedSchemes(const KeyDescription& key);

// "0x0804 rsa_pss_rsae_sha256" for messages.
std::string SchemeLabel(uint16_t code);

}  // namespace sigil::winstore

#endif  // SIGIL_SIGNER_STORES_WINDOWS_SCHEMES_H_
