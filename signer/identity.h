// Identity: one TLS identity signerd serves (a certificate chain and the store-held key that signs for
// it), and IdentitySet, the immutable collection built from signerd's config at start-up.
#ifndef SIGIL_SIGNER_IDENTITY_H_
#define SIGIL_SIGNER_IDENTITY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sigil/config/v1/signer.pb.h"
#include "signer/signing_key.h"

namespace sigil::signer {

struct Identity {
  std::string name;
  // DER certificates, leaf first, intermediates after; never the self-signed anchor.
  std::vector<std::string> chain_der;
  std::string subject;
  int64_t not_before = 0;
  int64_t not_after = 0;
  // "PEM" for key_file identities; the store's provider name otherwise.
  std::string store;
  // Schemes the key can make, probed at load.
  std::vector<uint16_t> schemes;
  // Caller principals allowed to use the identity; "*" allows any authenticated caller.
  std::vector<std::string> allowed_principals;
  std::unique_ptr<SigningKey> key;
};

// Immutable after Create; safe to read from any thread.
class IdentitySet {
 public:
  // Loads every identity in `config`. Errors name the identity and use the reference wording for store
  // options: "'cert_file' and 'cert_store' may not both be configured", "cert store type not implemented".
  // `warnings` receives start-up decisions worth a log line (no secrets).
  static absl::StatusOr<std::unique_ptr<IdentitySet>> Create(const config::v1::SignerConfig& config,
                                                             std::vector<std::string>* decisions);

  // The identity called `name`, or nullptr.
  const Identity* Find(const std::string& name) const;

  // All identities, sorted by name.
  std::vector<const Identity*> All() const;

 private:
  IdentitySet() = default;
  std::map<std::string, std::unique_ptr<Identity>> by_name_;
};

// Loads one identity from cert_file + key_file. Exposed for tests.
absl::StatusOr<std::unique_ptr<Identity>> LoadPemIdentity(const config::v1::IdentityConfig& config);

}  // namespace sigil::signer

#endif  // SIGIL_SIGNER_IDENTITY_H_
