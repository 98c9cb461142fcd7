#include "signer/signature_scheme.h"

#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

#include <memory>

namespace sigil::signer {

const std::vector<SignatureScheme>& AllSchemes() {
  static const auto* schemes = new std::vector<SignatureScheme>{
      {0x0806, "rsa_pss_rsae_sha512", KeyType::kRsa, EVP_sha512, 64, true, 0},
      {0x0805, "rsa_pss_rsae_sha384", KeyType::kRsa, EVP_sha384, 48, true, 0},
      {0x0804, "rsa_pss_rsae_sha256", KeyType::kRsa, EVP_sha256, 32, true, 0},
      {0x0601, "rsa_pkcs1_sha512", KeyType::kRsa, EVP_sha512, 64, false, 0},
      {0x0501, "rsa_pkcs1_sha384", KeyType::kRsa, EVP_sha384, 48, false, 0},
      {0x0401, "rsa_pkcs1_sha256", KeyType::kRsa, EVP_sha256, 32, false, 0},
      {0x0201, "rsa_pkcs1_sha1", KeyType::kRsa, EVP_sha1, 20, false, 0},
      {0x0403, "ecdsa_secp256r1_sha256", KeyType::kEc, EVP_sha256, 32, false, NID_X9_62_prime256v1},
      {0x0503, "ecdsa_secp384r1_sha384", KeyType::kEc, EVP_sha384, 48, false, NID_secp384r1},
      {0x0603, "ecdsa_secp521r1_sha512", KeyType::kEc, EVP_sha512, 64, false, NID_secp521r1},
  };
  return *schemes;
}

const SignatureScheme* FindScheme(uint32_t code) {
  for (const SignatureScheme& s : AllSchemes()) {
    if (s.code == code) return &s;
  }
  return nullptr;
}

bool KeySupports(const KeyInfo& key, const SignatureScheme& scheme) {
  if (key.type != scheme.key_type) return false;
  if (key.type == KeyType::kEc) return key.curve_nid == scheme.curve_nid;
  if (scheme.pss) {
    // RFC 8017 section 9.1.1: emLen >= hLen + sLen + 2, with sLen = hLen.
    size_t em_len = static_cast<size_t>(key.bits - 1 + 7) / 8;
    return em_len >= 2 * scheme.digest_length + 2;
  }
  return true;
}

std::vector<uint16_t> SupportedSchemes(const KeyInfo& key) {
  std::vector<uint16_t> out;
  for (const SignatureScheme& s : AllSchemes()) {
    if (KeySupports(key, s)) out.push_back(s.code);
  }
  return out;
}

std::string SchemeLabel(uint32_t code) {
  const SignatureScheme* s = FindScheme(code);
  return absl::StrFormat("0x%04x %s", code, s != nullptr ? s->name : "(unknown)");
}

absl::Status ValidateSignRequest(const KeyInfo& key, uint32_t code, absl::string_view digest,
                                 const SignatureScheme** scheme) {
  const SignatureScheme* s = FindScheme(code);
  if (s == nullptr) {
    return absl::InvalidArgumentError(absl::StrFormat("unknown signature scheme 0x%04x", code));
  }
  if (!KeySupports(key, *s)) {
    return absl::InvalidArgumentError(absl::StrCat("this identity's key cannot make ", SchemeLabel(code)));
  }
  if (digest.size() != s->digest_length) {
    return absl::InvalidArgumentError(absl::StrCat("digest is ", digest.size(), " bytes; ", s->name,
                                                   " needs a ", s->digest_length, "-byte digest"));
  }
  *scheme = s;
  return absl::OkStatus();
}

absl::Status VerifySignature(EVP_PKEY* public_key, const SignatureScheme& scheme, absl::string_view digest,
                             absl::string_view signature) {
  ERR_clear_error();
  std::unique_ptr<EVP_PKEY_CTX, void (*)(EVP_PKEY_CTX*)> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, public_key, nullptr),
                                                           EVP_PKEY_CTX_free);
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_signature_md(ctx.get(), scheme.md()) != 1) {
    ERR_clear_error();
    return absl::InternalError("cannot set up signature verification");
  }
  if (scheme.key_type == KeyType::kRsa) {
    if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), scheme.pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) != 1 ||
        (scheme.pss && (EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), static_cast<int>(scheme.digest_length)) != 1 ||
                        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), scheme.md()) != 1))) {
      ERR_clear_error();
      return absl::InvalidArgumentError("the key cannot verify this scheme");
    }
  }
  int ok = EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                           reinterpret_cast<const unsigned char*>(digest.data()), digest.size());
  ERR_clear_error();
  if (ok != 1) return absl::InvalidArgumentError(absl::StrCat("signature does not verify (", scheme.name, ")"));
  return absl::OkStatus();
}

}  // namespace sigil::signer
