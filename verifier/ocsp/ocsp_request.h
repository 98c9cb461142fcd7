// OCSP requests (RFC 6960 4.1) and where to send them (RFC 5280 4.2.2.1 AIA, RFC 5019 GET encoding).
//
//   OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
//   TBSRequest  ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, requestorName [1] OPTIONAL,
//                              requestList SEQUENCE OF Request, requestExtensions [2] OPTIONAL }
//   CertID      ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING,
//                              issuerKeyHash OCTET STRING, serialNumber CertificateSerialNumber }
//
// Sigil builds unsigned requests with exactly one Request and no extensions (no nonce: responders that
// pre-sign, as RFC 5019 allows, would ignore it, and a nonce defeats caching).
//
// Thread-safety: stateless functions, safe to call concurrently.
#ifndef SIGIL_VERIFIER_OCSP_OCSP_REQUEST_H_
#define SIGIL_VERIFIER_OCSP_OCSP_REQUEST_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sigil::verifier::ocsp {

// The CertID hash algorithm by name: "sha1" (RFC 5019's and most responders' choice; the default),
// "sha256", "sha384" or "sha512". INVALID_ARGUMENT naming the accepted values otherwise.
absl::StatusOr<const EVP_MD*> CertIdDigestByName(absl::string_view name);

// DER OCSPRequest asking about `cert` issued by `issuer` (CertID over issuer's subject name and
// subjectPublicKey bits with `digest`, and cert's serial). Neither pointer may be null; neither is kept.
// INTERNAL with OpenSSL's error queue when encoding fails.
absl::StatusOr<std::string> BuildRequestDer(X509* cert, X509* issuer, const EVP_MD* digest);

// RFC 5019 2.1.1: the GET URL for `request_der` at responder `base_url` — base (without trailing '/') +
// '/' + URL-escaped standard base64 of the request — when the escaped encoding is shorter than 255
// bytes; empty when the request must be POSTed instead.
std::string GetUrl(absl::string_view base_url, absl::string_view request_der);

// Every id-ad-ocsp accessLocation URI of `cert`'s AuthorityInfoAccess, in order (any scheme).
std::vector<std::string> AiaOcspUris(X509* cert);

// The subset of AiaOcspUris with an http or https scheme (case-insensitive): the URLs that make a
// certificate OCSP-eligible. Other schemes (ldap, ...) are ignored, as in the reference server.
std::vector<std::string> WebOcspUrls(X509* cert);

}  // namespace sigil::verifier::ocsp

#endif  // SIGIL_VERIFIER_OCSP_OCSP_REQUEST_H_
