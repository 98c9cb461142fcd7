// StoreFixture: how the KeyStore conformance suite (keystore_conformance.h) provisions a backend. One
// implementation per backend (PEM directory, SoftHSM2 token, TPM through tpm2-pkcs11, Windows under Wine).
//
// A fixture owns a fresh, empty store (a temp directory, a freshly initialised token) for its lifetime and
// removes it on destruction. Failures are reported with gtest assertions (ADD_FAILURE / FAIL in the
// caller), so methods return a Status the suite ASSERTs on.
#ifndef SIGIL_SIGNER_STORES_TESTING_STORE_FIXTURE_H_
#define SIGIL_SIGNER_STORES_TESTING_STORE_FIXTURE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "signer/key_store.h"
#include "tests/pki/test_pki.h"

namespace sigil::signer::testing {

class StoreFixture {
 public:
  virtual ~StoreFixture() = default;

  // Backend name for test names ("PEM", "SoftHSM2", "TPM").
  virtual std::string name() const = 0;

  // Key types the backend can generate (a TPM may lack P-521): called before GenerateKey.
  virtual bool Supports(const sigil::testing::KeySpec& spec) const = 0;

  // The key type the suite uses where any key will do (matching, chains, rotation). EC P-256 unless the
  // backend cannot make it (NCrypt under Wine has no ECDSA).
  virtual sigil::testing::KeySpec DefaultKey() const { return sigil::testing::KeySpec::Ec(); }

  // The key type of the CA certificates the suite issues (a store that builds chains itself checks their
  // signatures). EC P-256 unless the backend's chain engine mishandles it (Wine's rejects ECDSA signatures
  // with a short r or s).
  virtual sigil::testing::KeySpec CaKey() const { return sigil::testing::KeySpec::Ec(); }

  // Generates a key pair inside the store under `label` and returns its public key as PEM
  // (SubjectPublicKeyInfo), so the suite can issue a certificate for it.
  virtual absl::StatusOr<std::string> GenerateKey(const sigil::testing::KeySpec& spec,
                                                  const std::string& label) = 0;

  // Stores `cert_der` next to the key generated under `label` (same CKA_ID on a token).
  virtual absl::Status AddCertificate(const std::string& label, const std::string& cert_der) = 0;

  // Stores a CA certificate the store offers for chain building.
  virtual absl::Status AddCaCertificate(const std::string& cert_der) = 0;

  // A KeyStore over the fixture's store. May be called several times (each sees the current contents).
  virtual absl::StatusOr<std::unique_ptr<KeyStore>> Open() = 0;
};

// Generates a `key` pair in `fixture` under `label`, issues a certificate per `spec` for its public key
// signed by `issuer`, and stores the certificate next to the key. Returns the certificate's DER.
absl::StatusOr<std::string> ProvisionIdentity(StoreFixture& fixture, const std::string& label,
                                              const sigil::testing::KeySpec& key, const sigil::testing::CertSpec& spec,
                                              const sigil::testing::Issued& issuer);

}  // namespace sigil::signer::testing

#endif  // SIGIL_SIGNER_STORES_TESTING_STORE_FIXTURE_H_
