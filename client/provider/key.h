// The provider-side key object of the `sigil` provider and its key management (OSSL_OP_KEYMGMT) for RSA
// and EC.
//
// A SigilKey names a signer identity and carries only its public key (taken from the certificate that
// GetCertificateChain returns); the private key stays in signerd's credential store. Key management
// therefore:
//   - reports no private components: export with a private-key selection fails (so OpenSSL never moves
//     the key to another provider for signing and uses this provider's signature code instead), and
//     import accepts public keys only (OpenSSL imports the certificate's public key here to compare it);
//   - exports the public part and domain parameters, so EVP_PKEY_eq / X509_check_private_key and the
//     default provider's encoders (openssl pkey -pubout) work;
//   - answers bits, security-bits and max-size (RSA modulus bytes, ECDSA maximum DER size).
#ifndef SIGIL_CLIENT_PROVIDER_KEY_H_
#define SIGIL_CLIENT_PROVIDER_KEY_H_

#include <openssl/core.h>
#include <openssl/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/provider/provider_context.h"

namespace sigil::provider {

enum class KeyType { kRsa, kEc };

struct SigilKey {
  ProviderContext* provider = nullptr;
  KeyType type = KeyType::kRsa;
  // The signer identity; empty for a public key imported by OpenSSL (which cannot sign).
  std::string identity;
  // TLS SignatureScheme codes the identity's key can make (from GetCertificateChain).
  std::vector<uint32_t> schemes;
  // Public key. RSA: modulus and exponent, unsigned big-endian. EC: curve name as OpenSSL knows it
  // ("prime256v1") and the encoded public point.
  std::string rsa_n, rsa_e;
  std::string ec_group, ec_pub;
  // The curve's NID for EC keys; 0 for RSA.
  int ec_nid = 0;
  // Derived from the public key by FinishPublicKey().
  int bits = 0, security_bits = 0, max_size = 0;
  // The identity's certificate chain (DER, leaf first), for the store loader.
  std::vector<std::string> chain;

  bool has_public() const { return type == KeyType::kRsa ? !rsa_n.empty() : !ec_pub.empty(); }
};

// Fills `key`'s type, public key and sizes from a DER certificate's SubjectPublicKeyInfo.
// INVALID_ARGUMENT for a malformed certificate or a key that is neither RSA nor EC on a named curve.
absl::Status SetPublicKeyFromCertificate(OSSL_LIB_CTX* libctx, const std::string& der, SigilKey* key);

// Key management dispatch tables, registered as "RSA" and "EC".
extern const OSSL_DISPATCH kRsaKeymgmtFunctions[];
extern const OSSL_DISPATCH kEcKeymgmtFunctions[];

}  // namespace sigil::provider

#endif  // SIGIL_CLIENT_PROVIDER_KEY_H_
