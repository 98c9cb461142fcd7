// PemSigningKey: a key read from a PEM file (`key_file`), for development and for identities that are not
// in a credential store. Signs in-process with OpenSSL; never blocks.
#ifndef SIGIL_SIGNER_STORES_PEM_PEM_SIGNING_KEY_H_
#define SIGIL_SIGNER_STORES_PEM_PEM_SIGNING_KEY_H_

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
  PemSigningKey(EvpPkeyPtr key, KeyInfo info) : key_(std::move(key)), info_(info) {}

  // EVP_PKEY is safe for concurrent signing once loaded; each Sign makes its own EVP_PKEY_CTX.
  const EvpPkeyPtr key_;
  const KeyInfo info_;
};

// Describes an OpenSSL key: RSA, or EC on a curve signerd supports. INVALID_ARGUMENT otherwise.
absl::StatusOr<KeyInfo> DescribeKey(EVP_PKEY* key);

}  // namespace sigil::signer

#endif  // SIGIL_SIGNER_STORES_PEM_PEM_SIGNING_KEY_H_
