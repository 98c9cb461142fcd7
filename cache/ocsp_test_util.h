// Test helper (testonly): real DER OCSPResponses made with OpenSSL (OCSP_basic_sign), for import and
// export tests of the OCSP cache.
#ifndef SIGIL_CACHE_OCSP_TEST_UTIL_H_
#define SIGIL_CACHE_OCSP_TEST_UTIL_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cache/ocsp_cache.h"
#include "tests/pki/test_pki.h"

namespace sigil::cache::testing {

struct OcspResponseSpec {
  CachedResponse::Status status = CachedResponse::Status::kGood;
  absl::Time this_update;
  // Absent = NextUpdate left out.
  std::optional<absl::Time> next_update;
  // For kRevoked.
  absl::Time revoked_at;
};

// A successful basic OCSPResponse about `cert` (issued by `issuer`), signed by `signer` (the issuer itself
// or a delegated responder certificate the issuer signed; it is included in `certs`), SHA-1 CertID as
// `openssl ocsp` sends. INTERNAL with OpenSSL's errors on failure.
absl::StatusOr<std::string> MakeOcspResponse(X509* cert, X509* issuer, const sigil::testing::Issued& signer,
                                             const OcspResponseSpec& spec);

}  // namespace sigil::cache::testing

#endif  // SIGIL_CACHE_OCSP_TEST_UTIL_H_
