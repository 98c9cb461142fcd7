// Identity: one TLS identity signerd serves (a certificate chain and the store-held key that signs for
// it), and IdentitySet, the collection built from signerd's config at start-up.
//
// An identity comes either from cert_file + key_file (fixed for the process's life) or from a credential
// store (cert_store, cert_match_by, cert_match). A store-backed identity is looked up again by Refresh
// (periodically, on SIGHUP, on the ReloadIdentities RPC): when the store now selects a different
// certificate, a new IdentityVersion replaces the old one as a whole; requests already holding the old
// version finish with it. A failed re-lookup keeps the current version.
#ifndef SIGIL_SIGNER_IDENTITY_H_
#define SIGIL_SIGNER_IDENTITY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sigil/config/v1/signer.pb.h"
#include "signer/key_store.h"
#include "signer/matching.h"
#include "signer/signing_key.h"

namespace sigil::signer {

// What an identity serves at one moment. Immutable.
struct IdentityVersion {
  // DER certificates, leaf first, intermediates after; never the self-signed anchor.
  std::vector<std::string> chain_der;
  std::string subject;
  int64_t not_before = 0;
  int64_t not_after = 0;
  // Schemes the key can make, probed at load (SigningKey::Schemes).
  std::vector<uint16_t> schemes;
  // SHA-1 hex of the leaf DER.
  std::string thumbprint;
  // Where the store keeps the key (never secret), for logs.
  std::string key_ref;
  // Why the store's certificate was chosen (matching.h Selection::reason); empty for key_file.
  std::string selection_reason;
  std::shared_ptr<SigningKey> key;

  bool Supports(uint16_t scheme) const;
};

// Thread-safe: current() and Refresh() may be called from any thread; refreshes are serialised.
class Identity {
 public:
  const std::string& name() const { return name_; }
  // "PEM" for key_file identities; the store's provider name otherwise.
  const std::string& store() const { return store_name_; }
  // Caller principals allowed to use the identity; "*" allows any authenticated caller.
  const std::vector<std::string>& allowed_principals() const { return allowed_principals_; }
  // How often the periodic refresh looks this identity up; zero when it never does.
  absl::Duration refresh_interval() const { return refresh_interval_; }
  // The credential store this identity is looked up in; null for key_file identities. Set at creation and
  // never replaced, so it lives as long as the identity (for scrape-time metrics of the store).
  const KeyStore* key_store() const { return key_store_.get(); }

  // The version in service now. Never null.
  std::shared_ptr<const IdentityVersion> current() const ABSL_LOCKS_EXCLUDED(mu_);

  // Looks the identity up in its store again at `now`. Returns whether a different certificate is now
  // served (always false for key_file identities). On error the current version stays in service. May
  // block on the store.
  absl::StatusOr<bool> Refresh(absl::Time now) ABSL_LOCKS_EXCLUDED(refresh_mu_, mu_);

  // One start-up log line describing the current version (no secrets).
  std::string Describe() const;

 private:
  friend class IdentitySet;
  friend absl::StatusOr<std::unique_ptr<Identity>> LoadPemIdentity(const config::v1::IdentityConfig& config);
  Identity() = default;

  std::string name_;
  std::string store_name_;
  std::vector<std::string> allowed_principals_;
  absl::Duration refresh_interval_ = absl::ZeroDuration();
  // Null for key_file identities.
  std::unique_ptr<KeyStore> key_store_;
  MatchSpec match_;
  // Serialises Refresh.
  absl::Mutex refresh_mu_;

  // Guards members below.
  mutable absl::Mutex mu_;
  std::shared_ptr<const IdentityVersion> current_ ABSL_GUARDED_BY(mu_);
};

// Makes the KeyStore of a store-backed identity (signer/stores/registry.h in signerd; tests inject).
using KeyStoreFactory = std::function<absl::StatusOr<std::unique_ptr<KeyStore>>(const config::v1::IdentityConfig&)>;

// The identities of a signerd. The set itself is immutable after Create; each Identity rotates on its own.
class IdentitySet {
 public:
  // Loads every identity in `config`, making stores with `factory`. Errors name the identity and use the
  // reference wording for store options: "'cert_file' and 'cert_store' may not both be configured",
  // "cert store type not implemented", "cert match by type not implemented". `decisions` receives
  // start-up decisions worth a log line (no secrets), warnings prefixed "warning: ".
  static absl::StatusOr<std::unique_ptr<IdentitySet>> Create(const config::v1::SignerConfig& config,
                                                             const KeyStoreFactory& factory,
                                                             std::vector<std::string>* decisions);

  // The identity called `name`, or nullptr.
  Identity* Find(const std::string& name) const;

  // All identities, sorted by name.
  std::vector<Identity*> All() const;

 private:
  IdentitySet() = default;
  std::map<std::string, std::unique_ptr<Identity>> by_name_;
};

// Loads one identity from cert_file + key_file. Exposed for tests.
absl::StatusOr<std::unique_ptr<Identity>> LoadPemIdentity(const config::v1::IdentityConfig& config);

}  // namespace sigil::signer

#endif  // SIGIL_SIGNER_IDENTITY_H_
