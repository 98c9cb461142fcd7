// WineKeyStore: the KeyStore interface over the Windows store agent under Wine (testonly), so the KeyStore
// conformance suite runs against the real crypt32 / ncrypt code of signer/stores/windows/.
//
// Certificates() and CaCertificates() are the agent's "list" and "cas" (the same core calls the Windows
// signerd's KeyStore makes). Keys go through the test seam (ncrypt_key.h ImportRsaForTesting): Wine cannot
// hand out an NCrypt key for a store certificate, so the fixture keeps each certificate's RSA key as a
// BCRYPT_RSAPRIVATE_BLOB in a TestKeyBlobs table, and every Sign imports it into Wine's NCrypt and signs
// with the real NCryptSignHash path.
//
// Thread-safety: every method may be called concurrently.
#ifndef SIGIL_SIGNER_STORES_WINDOWS_TESTING_WINE_KEY_STORE_H_
#define SIGIL_SIGNER_STORES_WINDOWS_TESTING_WINE_KEY_STORE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "signer/key_store.h"
#include "signer/stores/windows/testing/wine_agent.h"

namespace sigil::signer::testing {

// The RSA private key blob of each provisioned certificate (by DER), shared by a fixture and its stores.
class TestKeyBlobs {
 public:
  void Add(const std::string& cert_der, std::string blob) ABSL_LOCKS_EXCLUDED(mu_);
  std::optional<std::string> Find(const std::string& cert_der) const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // Guards members below.
  mutable absl::Mutex mu_;
  std::map<std::string, std::string> blobs_ ABSL_GUARDED_BY(mu_);
};

// BCRYPT_RSAPRIVATE_BLOB of an OpenSSL RSA key (header, e, n, p, q; big-endian numbers), the format
// NCryptImportKey takes. INVALID_ARGUMENT for a non-RSA key.
absl::StatusOr<std::string> RsaPrivateBlob(EVP_PKEY* key);

class WineKeyStore : public KeyStore {
 public:
  // `provider` is "WindowsCurrentUser" or "WindowsLocalMachine".
  WineKeyStore(std::shared_ptr<const WineAgent> agent, std::string provider, std::shared_ptr<const TestKeyBlobs> keys)
      : agent_(std::move(agent)), provider_(std::move(provider)), keys_(std::move(keys)) {}

  absl::string_view provider() const override { return provider_; }
  absl::StatusOr<std::vector<StoreCertificate>> Certificates() override;
  absl::StatusOr<std::vector<std::string>> CaCertificates() override;
  // NOT_FOUND when the fixture has no key blob for the certificate.
  absl::StatusOr<std::unique_ptr<SigningKey>> OpenKey(const StoreCertificate& certificate) override;

 private:
  const std::shared_ptr<const WineAgent> agent_;
  const std::string provider_;
  const std::shared_ptr<const TestKeyBlobs> keys_;
};

}  // namespace sigil::signer::testing

#endif  // SIGIL_SIGNER_STORES_WINDOWS_TESTING_WINE_KEY_STORE_H_
