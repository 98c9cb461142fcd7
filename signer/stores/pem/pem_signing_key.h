// PemSigningKey: a key read from a PEM file (`key_file`), for development and for identities that are not
// in a credential store. Signs in-process with OpenSSL; never blocks.
#ifndef SIGIL_SIGNER_STORES_PEM_PEM_SIGNING_KEY_H_
#define SIGIL_SIGNER_STORES_PEM_PEM_SIGNING_KEY_H_

#include <cstdint>
#include <memory>

#include "common/openssl_util.h"
#include "signer/signing_key.h"

namespace sigil::signer {

class PemSigningKey : public SigningKey {
 public:
  // Takes ownership of an RSA or EC (P-256/384/521) private key. INVALID_ARGUMENT for other key types.
  static absl::StatusOr<std::unique_ptr<PemSigningKey>> Create(EvpPkeyPtr key);

  const KeyInfo& info() const override { return info_; }
  absl::StatusOr<std::string> Sign(const SignatureScheme& scheme, absl::string_view digest) override;
  bool MayBlock() const override { return false; }

 private:
  PemSigningKey(EvpPkeyPtr key, KeyInfo info);

  // EVP_PKEY is safe for concurrent signing once loaded; each thread signs with its own EVP_PKEY_CTX per
  // scheme, made on its first Sign and reused after (pem_signing_key.cc).
  const EvpPkeyPtr key_;
  const KeyInfo info_;
  // Unique per PemSigningKey ever made (never reused, unlike an address): the threads' contexts are keyed by it.
  const uint64_t id_;
};

// Describes an OpenSSL key: RSA, or EC on a curve signerd supports. INVALID_ARGUMENT otherwise.
absl::StatusOr<KeyInfo> DescribeKey(EVP_PKEY* key);

}  // namespace sigil::signer

#endif  // SIGIL_SIGNER_STORES_PEM_PEM_SIGNING_KEY_H_
