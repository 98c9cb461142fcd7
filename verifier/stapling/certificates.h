// Certificate helpers for stapling: parsing a request's chain, the must-staple test and issuer
// determination.
//
// Thread-safety: stateless functions.
#ifndef SIGIL_VERIFIER_STAPLING_CERTIFICATES_H_
#define SIGIL_VERIFIER_STAPLING_CERTIFICATES_H_

#include <openssl/x509.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/openssl_util.h"
#include "google/protobuf/repeated_field.h"

namespace sigil::verifier::stapling {

// At most this many certificates per request (INVALID_ARGUMENT beyond).
inline constexpr int kMaxCertificates = 64;

// Parses the DER certificates of a request: leaf first. INVALID_ARGUMENT for none, too many, or one that
// is not DER (naming its index).
absl::StatusOr<std::vector<X509Ptr>> ParseChain(const google::protobuf::RepeatedPtrField<std::string>& der);

// Whether `cert` carries the TLS Feature extension (RFC 7633, id-pe-tlsfeature 1.3.6.1.5.5.7.1.24) listing
// status_request(5): OCSP "Must-Staple". An unparsable extension counts as absent.
bool HasMustStaple(X509* cert);

// The issuer of `chain[0]`: chain[1] when it issued it, else the first of chain[2..] (a CA bundle) that
// did. "Issued" means names/AKID match (X509_check_issued) and the leaf's signature verifies with the
// candidate's key. INVALID_ARGUMENT saying what to send when there is none. The pointer borrows from
// `chain`.
absl::StatusOr<X509*> FindIssuer(const std::vector<X509Ptr>& chain);

}  // namespace sigil::verifier::stapling

#endif  // SIGIL_VERIFIER_STAPLING_CERTIFICATES_H_
