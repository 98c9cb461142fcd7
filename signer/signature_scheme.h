// TLS SignatureScheme codes (RFC 8446 section 4.2.3) that signerd signs with, and the rules that tie each
// scheme to a key: hash, padding, curve, digest length.
//
// ECDSA schemes are bound to their curve as in TLS 1.3 (ecdsa_secp256r1_sha256 needs a P-256 key), so an
// identity never advertises a scheme a TLS 1.3 peer would reject. RSA-PSS uses salt length = hash length
// for every hash (the reference implementation fixes it at 32 bytes, wrong for SHA-384/512).
#ifndef SIGIL_SIGNER_SIGNATURE_SCHEME_H_
#define SIGIL_SIGNER_SIGNATURE_SCHEME_H_

#include <openssl/evp.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sigil::signer {

enum class KeyType { kRsa, kEc };

// Facts about a key that decide which schemes it can make.
struct KeyInfo {
  KeyType type = KeyType::kRsa;
  // RSA modulus bits, or EC field bits.
  int bits = 0;
  // EC curve NID (NID_X9_62_prime256v1, NID_secp384r1, NID_secp521r1); 0 for RSA.
  int curve_nid = 0;
};

struct SignatureScheme {
  uint16_t code;
  const char* name;
  KeyType key_type;
  // The scheme's hash (EVP_sha256, ...).
  const EVP_MD* (*md)();
  size_t digest_length;
  // RSASSA-PSS (salt = digest_length) instead of PKCS#1 v1.5; RSA only.
  bool pss;
  // Required curve for ECDSA; 0 for RSA.
  int curve_nid;
};

// The scheme with `code`, or nullptr when signerd does not know it.
const SignatureScheme* FindScheme(uint32_t code);

// Every scheme signerd knows, in the order identities advertise them (strongest hash first per family).
const std::vector<SignatureScheme>& AllSchemes();

// Whether a key described by `key` can make `scheme` (type, curve, and for PSS a modulus large enough
// for salt = hash length).
bool KeySupports(const KeyInfo& key, const SignatureScheme& scheme);

// The schemes `key` can make, in AllSchemes() order.
std::vector<uint16_t> SupportedSchemes(const KeyInfo& key);

// Checks a Sign request against a key: INVALID_ARGUMENT for an unknown scheme, a scheme the key cannot
// make, or a digest whose length is not the scheme's hash length. On success stores the scheme.
absl::Status ValidateSignRequest(const KeyInfo& key, uint32_t code, absl::string_view digest,
                                 const SignatureScheme** scheme);

// Verifies a TLS signature over `digest` with `public_key` as a TLS peer would (PSS salt = hash length,
// ECDSA DER). INVALID_ARGUMENT when the signature does not verify. For tools and tests.
absl::Status VerifySignature(EVP_PKEY* public_key, const SignatureScheme& scheme, absl::string_view digest,
                             absl::string_view signature);

// "0x0804 rsa_pss_rsae_sha256" for logs and messages.
std::string SchemeLabel(uint32_t code);

}  // namespace sigil::signer

#endif  // SIGIL_SIGNER_SIGNATURE_SCHEME_H_
