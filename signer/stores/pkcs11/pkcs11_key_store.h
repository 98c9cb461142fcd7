// Pkcs11KeyStore: cert_store "PKCS11", TLS identities on a PKCS#11 token (an HSM, a TPM through
// tpm2-pkcs11, SoftHSM2), reached through any PKCS#11 module loaded with dlopen().
//
// What the store lists:
//   - Certificates(): every X.509 certificate object (CKO_CERTIFICATE, CKC_X_509) for which the token
//     holds a private key (CKO_PRIVATE_KEY) with the same non-empty CKA_ID; key_ref is
//     "label=<CKA_LABEL>,id=<hex CKA_ID>".
//   - CaCertificates(): the other X.509 certificates on the token, then the certificates of `ca_file`
//     (read on each call, so replacing the file is picked up by the next re-lookup).
// Objects are read on every call; nothing is cached but key handles.
//
// The token is found by label (slot ids are not stable: SoftHSM2 gives a fresh token a random one), the
// PIN is read once from pin_file, and all token work goes through a Pkcs11Token (pkcs11_token.h): a
// session pool of `sessions`, at most `max_concurrent_ops` operations in flight, re-login, and
// recovery from token removal and re-insertion. The module is shared process-wide (pkcs11_module.h).
//
// The store does not check that a certificate's public key matches the private key with its CKA_ID,
// nor the certificate's validity or usage (signer/matching.h chooses among what it lists).
//
// Thread-safety: thread-safe. Methods block on the token; call them off gRPC's threads.
#ifndef SIGIL_SIGNER_STORES_PKCS11_PKCS11_KEY_STORE_H_
#define SIGIL_SIGNER_STORES_PKCS11_PKCS11_KEY_STORE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/metrics.h"
#include "sigil/config/v1/signer.pb.h"
#include "signer/key_store.h"
#include "signer/stores/pkcs11/pkcs11_signing_key.h"
#include "signer/stores/pkcs11/pkcs11_token.h"

namespace sigil::signer {

class Pkcs11KeyStore : public KeyStore {
 public:
  // Settings the config does not expose.
  struct Tuning {
    // Least time between two module re-initialisations made to find a lost token (pkcs11_token.h).
    absl::Duration reinitialize_interval = absl::Seconds(5);
  };

  // Validates `options`, loads the module (or shares the loaded one), finds the token by label and logs
  // in. Errors name the option:
  //   INVALID_ARGUMENT     pkcs11.module / pkcs11.token_label / pkcs11.pin_file missing, token_label longer
  //                        than 32 bytes, sessions or max_concurrent_ops 0 or over 1024, empty PIN;
  //   FAILED_PRECONDITION  pin_file or ca_file unreadable, ca_file without certificates, module that does
  //                        not load or initialise, wrong or locked PIN (the message never holds the PIN);
  //   NOT_FOUND            no token with that label (the message lists the labels found).
  static absl::StatusOr<std::unique_ptr<Pkcs11KeyStore>> Create(const config::v1::Pkcs11Store& options);
  static absl::StatusOr<std::unique_ptr<Pkcs11KeyStore>> Create(const config::v1::Pkcs11Store& options,
                                                                const Tuning& tuning);

  absl::string_view provider() const override { return "PKCS11"; }
  absl::StatusOr<std::vector<StoreCertificate>> Certificates() override;
  absl::StatusOr<std::vector<std::string>> CaCertificates() override;
  // The key with the CKA_ID named in certificate.key_ref, as a Pkcs11SigningKey. INVALID_ARGUMENT for a
  // key_ref this store did not make; NOT_FOUND when the key is gone; see Pkcs11SigningKey::Open.
  absl::StatusOr<std::unique_ptr<SigningKey>> OpenKey(const StoreCertificate& certificate) override;

  // OpenKey with the concrete type, whose Schemes() reports the schemes the token can make.
  absl::StatusOr<std::unique_ptr<Pkcs11SigningKey>> OpenPkcs11Key(const StoreCertificate& certificate);

  // The token's counters (logins, sessions, losses, recoveries, peak operations in flight).
  pkcs11::TokenStats token_stats() const { return token_->stats(); }
  // The token, for tests and diagnostics.
  pkcs11::Pkcs11Token& token() const { return *token_; }

 private:
  Pkcs11KeyStore(std::shared_ptr<pkcs11::Pkcs11Token> token, std::string ca_file)
      : token_(std::move(token)), ca_file_(std::move(ca_file)) {}

  // One read of the token's certificate and private key objects.
  struct Listing {
    std::vector<StoreCertificate> leaves;
    std::vector<std::string> cas;
  };
  absl::StatusOr<Listing> List();

  const std::shared_ptr<pkcs11::Pkcs11Token> token_;
  // Empty when not configured.
  const std::string ca_file_;
};

// Scrape-time metrics (common/metrics.h ScrapeCollector) of the tokens behind `stores`, each given with the
// name of the identity that uses it (two identities on one token label have a Pkcs11Token each, so the
// `identity` label keeps their series apart). Families, labelled {identity, token=<token label>}:
//   sigil_pkcs11_token_present                  gauge   1 while the token is in service, 0 from a detected
//                                                       loss until it is found again (not probed at scrape)
//   sigil_pkcs11_logins_total                   counter successful C_Login calls, the first one included
//   sigil_pkcs11_sessions_opened_total          counter
//   sigil_pkcs11_token_losses_total             counter
//   sigil_pkcs11_token_recoveries_total         counter
//   sigil_pkcs11_module_reinitializations_total counter
//   sigil_pkcs11_peak_ops_in_flight             gauge   most operations seen in flight at once
// The callback reads only token_stats() (no PKCS#11 call), so a scrape never waits for a token. Every store
// must outlive the MetricsServer exposing the collector.
ScrapeCallback Pkcs11TokenMetrics(std::vector<std::pair<std::string, const Pkcs11KeyStore*>> stores);

// Reads ca_file's PEM certificates as DER. `option` names the option in messages.
absl::StatusOr<std::vector<std::string>> ReadCaFile(const std::string& path, absl::string_view option);

}  // namespace sigil::signer

#endif  // SIGIL_SIGNER_STORES_PKCS11_PKCS11_KEY_STORE_H_
