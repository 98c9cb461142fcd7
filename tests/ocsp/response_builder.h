// Builds signed DER OCSPResponses in memory with OpenSSL's OCSP_basic_sign, for table-driven validation
// tests and for in-test HTTP servers that must serve a specific (stale, future, foreign) response.
// testonly.
#ifndef SIGIL_TESTS_OCSP_RESPONSE_BUILDER_H_
#define SIGIL_TESTS_OCSP_RESPONSE_BUILDER_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sigil::testing {

struct ResponseSpec {
  enum class CertStatus { kGood, kRevoked, kUnknown };
  CertStatus status = CertStatus::kGood;
  absl::Time this_update = absl::Now();
  // Absent: no NextUpdate in the response.
  std::optional<absl::Time> next_update = absl::Now() + absl::Hours(1);
  absl::Time revoked_at = absl::Now() - absl::Hours(1);
  // CertID hash.
  const EVP_MD* cert_id_digest = EVP_sha1();
  // OCSPResponseStatus; anything but successful(0) produces a response without a body.
  int response_status = 0;
  // Put the signer certificate into BasicOCSPResponse.certs.
  bool include_signer_cert = true;
  // ResponderID byKey instead of byName.
  bool responder_id_by_key = false;
};

// A DER OCSPResponse about `cert` (issued by `issuer`) signed by `signer_cert`/`signer_key` (the issuer
// itself or a delegate). INTERNAL with OpenSSL's errors on failure.
absl::StatusOr<std::string> MakeOcspResponse(X509* cert, X509* issuer, X509* signer_cert, EVP_PKEY* signer_key,
                                             const ResponseSpec& spec);

}  // namespace sigil::testing

#endif  // SIGIL_TESTS_OCSP_RESPONSE_BUILDER_H_
