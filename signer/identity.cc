#include "signer/identity.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"
#include "signer/stores/pem/pem_signing_key.h"

namespace sigil::signer {
namespace {

absl::Status IdentityError(const std::string& name, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("identity '", name, "': ", message));
}

int64_t AsnTimeToUnix(const ASN1_TIME* t) {
  struct tm tm = {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

bool IsSelfSigned(X509* cert) {
  return X509_check_issued(cert, cert) == X509_V_OK;
}

}  // namespace

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

  auto identity = std::make_unique<Identity>();
  identity->name = name;
  identity->store = "PEM";
  identity->subject = NameToString(X509_get_subject_name(leaf));
  identity->not_before = AsnTimeToUnix(X509_get0_notBefore(leaf));
  identity->not_after = AsnTimeToUnix(X509_get0_notAfter(leaf));
  for (size_t i = 0; i < certs->size(); ++i) {
    // The chain a TLS server sends carries no self-signed trust anchor (RFC 8446 section 4.4.2).
    if (i > 0 && IsSelfSigned((*certs)[i].get())) continue;
    identity->chain_der.push_back(CertificateDer((*certs)[i].get()));
  }
  identity->schemes = SupportedSchemes((*key)->info());
  identity->key = *std::move(key);
  identity->allowed_principals.assign(config.allowed_principals().begin(),
                                      config.allowed_principals().end());
  return identity;
}

absl::StatusOr<std::unique_ptr<IdentitySet>> IdentitySet::Create(const config::v1::SignerConfig& config,
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
    if (!ic.cert_store().empty()) {
      if (!ic.cert_file().empty()) {
        return IdentityError(ic.name(), "'cert_file' and 'cert_store' may not both be configured");
      }
      // No credential store provider is built into this version of signerd yet.
      return IdentityError(ic.name(), "cert store type not implemented");
    }
    if (!ic.cert_match_by().empty() || !ic.cert_match().empty()) {
      return IdentityError(ic.name(), "'cert_match_by' and 'cert_match' need 'cert_store'");
    }
    if (ic.cert_file().empty()) return IdentityError(ic.name(), "'cert_file' (or 'cert_store') is required");
    if (ic.key_file().empty()) return IdentityError(ic.name(), "'key_file' is required with 'cert_file'");
    SIGIL_ASSIGN_OR_RETURN(std::unique_ptr<Identity> identity, LoadPemIdentity(ic));
    std::vector<std::string> scheme_names;
    for (uint16_t s : identity->schemes) scheme_names.push_back(SchemeLabel(s));
    decisions->push_back(absl::StrCat("identity '", identity->name, "': ", identity->subject, " from PEM ",
                                      ic.cert_file(), ", ", identity->chain_der.size(),
                                      " certificate(s), schemes [", absl::StrJoin(scheme_names, ", "),
                                      "], allowed [", absl::StrJoin(identity->allowed_principals, ", "), "]"));
    set->by_name_[identity->name] = std::move(identity);
  }
  if (set->by_name_.empty()) return absl::InvalidArgumentError("no identities configured");
  return set;
}

const Identity* IdentitySet::Find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second.get();
}

std::vector<const Identity*> IdentitySet::All() const {
  std::vector<const Identity*> out;
  for (const auto& [name, identity] : by_name_) out.push_back(identity.get());
  return out;
}

}  // namespace sigil::signer
