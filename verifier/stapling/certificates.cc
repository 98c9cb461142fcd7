#include "verifier/stapling/certificates.h"

#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"

namespace sigil::verifier::stapling {
namespace {

constexpr long kStatusRequest = 5;  // RFC 6066 ExtensionType status_request.

bool Issued(X509* issuer, X509* cert) {
  if (X509_check_issued(issuer, cert) != X509_V_OK) return false;
  EVP_PKEY* key = X509_get0_pubkey(issuer);
  const bool ok = key != nullptr && X509_verify(cert, key) == 1;
  ClearOpenSslErrors();
  return ok;
}

}  // namespace

absl::StatusOr<std::vector<X509Ptr>> ParseChain(const google::protobuf::RepeatedPtrField<std::string>& der) {
  if (der.empty()) return absl::InvalidArgumentError("no certificates: send the leaf, then its issuer");
  if (der.size() > kMaxCertificates) {
    return absl::InvalidArgumentError(absl::StrCat("more than ", kMaxCertificates, " certificates"));
  }
  std::vector<X509Ptr> chain;
  for (int i = 0; i < der.size(); ++i) {
    absl::StatusOr<X509Ptr> cert = ParseDerCertificate(der[i]);
    if (!cert.ok()) return absl::InvalidArgumentError(absl::StrCat("certificate [", i, "]: ", cert.status().message()));
    chain.push_back(*std::move(cert));
  }
  return chain;
}

bool HasMustStaple(X509* cert) {
  int crit = 0;
  auto* features = static_cast<TLS_FEATURE*>(X509_get_ext_d2i(cert, NID_tlsfeature, &crit, nullptr));
  if (features == nullptr) {
    ClearOpenSslErrors();
    return false;
  }
  bool found = false;
  for (int i = 0; i < sk_ASN1_INTEGER_num(features); ++i) {
    if (ASN1_INTEGER_get(sk_ASN1_INTEGER_value(features, i)) == kStatusRequest) found = true;
  }
  TLS_FEATURE_free(features);
  return found;
}

absl::StatusOr<X509*> FindIssuer(const std::vector<X509Ptr>& chain) {
  X509* leaf = chain.at(0).get();
  for (size_t i = 1; i < chain.size(); ++i) {
    if (Issued(chain[i].get(), leaf)) return chain[i].get();
  }
  const std::string subject = NameToString(X509_get_subject_name(leaf));
  if (chain.size() == 1) {
    return absl::InvalidArgumentError(absl::StrCat("no issuer for [", subject,
                                                   "]: send the leaf followed by its issuer (or a CA bundle "
                                                   "containing it)"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "no issuer for [", subject, "] among the ", chain.size() - 1, " other certificate(s) given: none is named [",
      NameToString(X509_get_issuer_name(leaf)), "] with a key that verifies the leaf's signature"));
}

}  // namespace sigil::verifier::stapling
