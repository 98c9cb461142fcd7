// KeyStore: a credential store that holds TLS identities (a certificate and the private key that signs for
// it), seen through the three things signerd needs: list certificates, list CA certificates, open a key.
//
// Selecting the identity (cert_match_by / cert_match, validity, deterministic choice) and assembling the
// chain are NOT a store's job: signer/matching.h does both over what the store lists, the same way for
// every store. A store never checks trust, revocation or key usage (as the Certificate Store ADR says,
// that is the TLS peer's job).
//
// Backends: PemKeyStore ("PEM", signer/stores/pem/), Pkcs11KeyStore ("PKCS11", signer/stores/pkcs11/);
// signer/stores/registry.h chooses one from an identity's config.
//
// Thread-safety: every method may be called from any thread, concurrently. Methods may block on the store
// (a token, a service): call them off gRPC's threads.
#ifndef SIGIL_SIGNER_KEY_STORE_H_
#define SIGIL_SIGNER_KEY_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "signer/signing_key.h"

namespace sigil::signer {

// A certificate the store holds together with its private key.
struct StoreCertificate {
  // The certificate, DER.
  std::string der;
  // Where the store keeps the key (PKCS#11: "label=…,id=<hex CKA_ID>"; PEM: the key file's path). Opaque
  // to callers except for log lines; never secret.
  std::string key_ref;
};

class KeyStore {
 public:
  virtual ~KeyStore() = default;

  // Canonical provider name: "PEM", "PKCS11", "WindowsCurrentUser", "WindowsLocalMachine".
  virtual absl::string_view provider() const = 0;

  // Every certificate whose private key the store holds, in the store's own order (callers must not rely
  // on it). Certificates without a key are not listed. UNAVAILABLE when the store cannot be reached now
  // (token removed, service down); INTERNAL for a store failure.
  virtual absl::StatusOr<std::vector<StoreCertificate>> Certificates() = 0;

  // CA certificates the store offers for chain building (DER): CA objects on a token, a configured
  // ca_file, the PEM directory's CA files. May be empty. Same errors as Certificates().
  virtual absl::StatusOr<std::vector<std::string>> CaCertificates() = 0;

  // The key of `certificate` (one Certificates() returned). The key stays valid after the KeyStore is
  // destroyed (it owns what it needs) and keeps working across token removal and re-insertion: Sign
  // returns UNAVAILABLE while the token is away and recovers without a new OpenKey. NOT_FOUND when the
  // key is gone from the store.
  virtual absl::StatusOr<std::unique_ptr<SigningKey>> OpenKey(const StoreCertificate& certificate) = 0;
};

}  // namespace sigil::signer

#endif  // SIGIL_SIGNER_KEY_STORE_H_
