#include "signer/identity.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"
#include "signer/signature_scheme.h"
#include "signer/stores/pem/pem_signing_key.h"

namespace sigil::signer {
namespace {

absl::Status IdentityError(const std::string& name, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("identity '", name, "': ", message));
}

absl::Status Annotate(const std::string& name, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat("identity '", name, "': ", status.message()));
}

int64_t AsnTimeToUnix(const ASN1_TIME* t) {
  struct tm tm = {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

bool IsSelfSigned(X509* cert) { return X509_check_issued(cert, cert) == X509_V_OK; }

// Builds a version from a chain (leaf first, DER) and the key that signs for the leaf.
absl::StatusOr<std::shared_ptr<IdentityVersion>> MakeVersion(std::vector<std::string> chain_der,
                                                                   std::unique_ptr<SigningKey> key,
                                                                   std::string key_ref) {
  SIGIL_ASSIGN_OR_RETURN(X509Ptr leaf, ParseDerCertificate(chain_der.at(0)));
  auto version = std::make_shared<IdentityVersion>();
  version->subject = NameToString(X509_get_subject_name(leaf.get()));
  version->not_before = AsnTimeToUnix(X509_get0_notBefore(leaf.get()));
  version->not_after = AsnTimeToUnix(X509_get0_notAfter(leaf.get()));
  version->thumbprint = Thumbprint(chain_der[0]);
  version->chain_der = std::move(chain_der);
  version->schemes = key->Schemes();
  if (version->schemes.empty()) {
    return absl::FailedPreconditionError("the key can make no TLS signature scheme signerd supports");
  }
  version->key_ref = std::move(key_ref);
  version->key = std::move(key);
  return version;
}

// Proves that `version`'s key is the leaf certificate's: one signature over a fixed digest with the first
// scheme the key makes must verify with the leaf's public key. A store pairs certificates and keys by its
// own reference (a PKCS#11 CKA_ID, a CNG key name) that nothing else ties to the certificate; without this a
// mis-paired key would sign every handshake with a signature no peer accepts. FAILED_PRECONDITION names
// the key reference; the store's own error (e.g. UNAVAILABLE for a lost token) passes through.
absl::Status CheckKeyMatchesCertificate(const IdentityVersion& version) {
  SIGIL_ASSIGN_OR_RETURN(X509Ptr leaf, ParseDerCertificate(version.chain_der.at(0)));
  const SignatureScheme& scheme = *FindScheme(version.schemes.front());
  const std::string digest(scheme.digest_length, '\x5a');
  SIGIL_ASSIGN_OR_RETURN(std::string signature, version.key->Sign(scheme, digest));
  if (!VerifySignature(X509_get0_pubkey(leaf.get()), scheme, digest, signature).ok()) {
    ClearOpenSslErrors();
    return absl::FailedPreconditionError(absl::StrCat("the key ", version.key_ref,
                                                      " does not match the certificate: its test signature does "
                                                      "not verify with the certificate's public key"));
  }
  return absl::OkStatus();
}

struct Lookup {
  // Null when the store still selects the current version.
  std::shared_ptr<const IdentityVersion> version;
};

// Selects the identity's certificate in `store`, opens its key and assembles its chain.
absl::StatusOr<Lookup> LookUp(KeyStore& store, const MatchSpec& match, absl::Time now,
                              const IdentityVersion* current) {
  SIGIL_ASSIGN_OR_RETURN(std::vector<StoreCertificate> certificates, store.Certificates());
  SIGIL_ASSIGN_OR_RETURN(Selection selection, SelectCertificate(certificates, match, now));
  const StoreCertificate& chosen = certificates[selection.index];
  SIGIL_ASSIGN_OR_RETURN(std::vector<std::string> cas, store.CaCertificates());
  SIGIL_ASSIGN_OR_RETURN(std::vector<std::string> chain, AssembleChain(chosen.der, cas, now));
  if (current != nullptr && current->chain_der == chain && current->key_ref == chosen.key_ref) {
    return Lookup{nullptr};  // unchanged: keep the open key
  }
  SIGIL_ASSIGN_OR_RETURN(std::unique_ptr<SigningKey> key, store.OpenKey(chosen));
  SIGIL_ASSIGN_OR_RETURN(std::shared_ptr<IdentityVersion> version,
                         MakeVersion(std::move(chain), std::move(key), chosen.key_ref));
  SIGIL_RETURN_IF_ERROR(CheckKeyMatchesCertificate(*version));
  version->selection_reason = std::move(selection.reason);
  return Lookup{std::move(version)};
}

}  // namespace

bool IdentityVersion::Supports(uint16_t scheme) const {
  return std::find(schemes.begin(), schemes.end(), scheme) != schemes.end();
}

std::shared_ptr<const IdentityVersion> Identity::current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

absl::StatusOr<bool> Identity::Refresh(absl::Time now) {
  if (key_store_ == nullptr) return false;
  absl::MutexLock refresh_lock(&refresh_mu_);
  std::shared_ptr<const IdentityVersion> before = current();
  auto lookup = LookUp(*key_store_, match_, now, before.get());
  if (!lookup.ok()) return Annotate(name_, lookup.status());
  if (lookup->version == nullptr) return false;
  absl::MutexLock lock(&mu_);
  current_ = lookup->version;
  return true;
}

std::string Identity::Describe() const {
  std::shared_ptr<const IdentityVersion> version = current();
  std::vector<std::string> scheme_names;
  for (uint16_t s : version->schemes) scheme_names.push_back(SchemeLabel(s));
  std::string source =
      key_store_ == nullptr
          ? absl::StrCat("PEM ", version->key_ref)
          : absl::StrCat(store_name_, " (", MatchByName(match_.by), " \"", match_.term, "\", ",
                         version->selection_reason,
                         ", thumbprint ", version->thumbprint, ", key ", version->key_ref, ")");
  return absl::StrCat("identity '", name_, "': ", version->subject, " from ", source, ", ",
                      version->chain_der.size(), " certificate(s), schemes [", absl::StrJoin(scheme_names, ", "),
                      "], allowed [", absl::StrJoin(allowed_principals_, ", "), "]");
}

absl::StatusOr<std::unique_ptr<Identity>> LoadPemIdentity(const config::v1::IdentityConfig& config) {
  const std::string& name = config.name();
  auto cert_pem = ReadFileToString(config.cert_file());
  if (!cert_pem.ok()) return IdentityError(name, absl::StrCat("cert_file: ", cert_pem.status().message()));
  auto certs = ParsePemCertificates(*cert_pem, "cert_file");
  if (!certs.ok()) return IdentityError(name, certs.status().message());
  auto key_pem = ReadFileToString(config.key_file());
  if (!key_pem.ok()) return IdentityError(name, absl::StrCat("key_file: ", key_pem.status().message()));
  auto pkey = ParsePemPrivateKey(*key_pem, "key_file");
  if (!pkey.ok()) return IdentityError(name, pkey.status().message());
  X509* leaf = (*certs)[0].get();
  if (X509_check_private_key(leaf, pkey->get()) != 1) {
    ClearOpenSslErrors();
    return IdentityError(name, "'key_file' does not match the certificate in 'cert_file'");
  }
  auto key = PemSigningKey::Create(*std::move(pkey));
  if (!key.ok()) return IdentityError(name, key.status().message());

  std::vector<std::string> chain;
  for (size_t i = 0; i < certs->size(); ++i) {
    // The chain a TLS server sends carries no self-signed trust anchor (RFC 8446 section 4.4.2).
    if (i > 0 && IsSelfSigned((*certs)[i].get())) continue;
    chain.push_back(CertificateDer((*certs)[i].get()));
  }
  auto version = MakeVersion(std::move(chain), *std::move(key), config.key_file());
  if (!version.ok()) return Annotate(name, version.status());

  std::unique_ptr<Identity> identity(new Identity());
  identity->name_ = name;
  identity->store_name_ = "PEM";
  identity->allowed_principals_.assign(config.allowed_principals().begin(), config.allowed_principals().end());
  absl::MutexLock lock(&identity->mu_);
  identity->current_ = *std::move(version);
  return identity;
}

absl::StatusOr<std::unique_ptr<IdentitySet>> IdentitySet::Create(const config::v1::SignerConfig& config,
                                                                 const KeyStoreFactory& factory,
                                                                 std::vector<std::string>* decisions) {
  std::unique_ptr<IdentitySet> set(new IdentitySet());
  for (const config::v1::IdentityConfig& ic : config.identities()) {
    if (ic.name().empty()) return absl::InvalidArgumentError("identity: 'name' is required");
    if (set->by_name_.count(ic.name()) != 0) {
      return IdentityError(ic.name(), "the name is used by another identity");
    }
    if (ic.allowed_principals().empty()) {
      return IdentityError(ic.name(),
                           "'allowed_principals' is required: the callers' mTLS principals (SAN DNS, SAN "
                           "URI or subject CN) allowed to sign with it, or \"*\" for any authenticated "
                           "caller");
    }
    if (ic.has_refresh_interval() && !(ic.refresh_interval() >= 0 && ic.refresh_interval() <= 86400 * 365)) {
      return IdentityError(ic.name(), "'refresh_interval' must be between 0 and one year (seconds)");
    }
    std::unique_ptr<Identity> identity;
    if (!ic.cert_store().empty()) {
      if (!ic.cert_file().empty()) {
        return IdentityError(ic.name(), "'cert_file' and 'cert_store' may not both be configured");
      }
      auto store = factory(ic);
      if (!store.ok()) return Annotate(ic.name(), store.status());
      auto match_by = ParseMatchBy(ic.cert_match_by());
      if (!match_by.ok()) return IdentityError(ic.name(), match_by.status().message());
      if (ic.cert_match().empty()) {
        return IdentityError(ic.name(), "'cert_match' is required with 'cert_store'");
      }
      if (!ic.key_file().empty()) {
        decisions->push_back(absl::StrCat("warning: identity '", ic.name(),
                                          "': 'key_file' is ignored because 'cert_store' is configured"));
      }
      identity.reset(new Identity());
      identity->name_ = ic.name();
      identity->store_name_ = std::string((*store)->provider());
      identity->allowed_principals_.assign(ic.allowed_principals().begin(), ic.allowed_principals().end());
      identity->refresh_interval_ =
          absl::Seconds(ic.has_refresh_interval() ? ic.refresh_interval() : 300.0);
      identity->key_store_ = *std::move(store);
      identity->match_ = MatchSpec{*match_by, ic.cert_match(), ic.cert_match_skip_invalid()};
      auto lookup = LookUp(*identity->key_store_, identity->match_, absl::Now(), nullptr);
      if (!lookup.ok()) return Annotate(ic.name(), lookup.status());
      absl::MutexLock lock(&identity->mu_);
      identity->current_ = std::move(lookup->version);
    } else {
      if (!ic.cert_match_by().empty() || !ic.cert_match().empty() || ic.cert_match_skip_invalid()) {
        return IdentityError(ic.name(), "'cert_match_by', 'cert_match' and 'cert_match_skip_invalid' need 'cert_store'");
      }
      if (ic.cert_file().empty()) return IdentityError(ic.name(), "'cert_file' (or 'cert_store') is required");
      if (ic.key_file().empty()) return IdentityError(ic.name(), "'key_file' is required with 'cert_file'");
      SIGIL_ASSIGN_OR_RETURN(identity, LoadPemIdentity(ic));
    }
    decisions->push_back(identity->Describe());
    set->by_name_[identity->name()] = std::move(identity);
  }
  if (set->by_name_.empty()) return absl::InvalidArgumentError("no identities configured");
  return set;
}

Identity* IdentitySet::Find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second.get();
}

std::vector<Identity*> IdentitySet::All() const {
  std::vector<Identity*> out;
  for (const auto& [name, identity] : by_name_) out.push_back(identity.get());
  return out;
}

}  // namespace sigil::signer
