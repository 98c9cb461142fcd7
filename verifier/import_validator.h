// OcspImportValidator: the cache::ResponseValidator verifierd gives the Cache service, so that every
// response imported from a NATS cache.json is validated exactly like a fetched one
// (ocsp::ValidateResponse: signer or delegated responder, signature, CertID against the issuer,
// effectivity window with allowed_clockskew).
//
// The certificate a cache.json entry is about is not in the file, so the CertID is matched against the
// issuer only (ValidateResponse with cert == nullptr); the entry's key is trusted as given and checked
// when the response is validated again for a real certificate on use.
//
// Thread-safety: stateless after construction; Validate may be called concurrently.
#ifndef SIGIL_VERIFIER_IMPORT_VALIDATOR_H_
#define SIGIL_VERIFIER_IMPORT_VALIDATOR_H_

#include <string>

#include "cache/response_validator.h"
#include "verifier/ocsp/ocsp_response.h"

namespace sigil::verifier {

class OcspImportValidator final : public cache::ResponseValidator {
 public:
  // `options`: the default profile's ocsp_peer options (allowed_clockskew, TTL without NextUpdate).
  explicit OcspImportValidator(ocsp::ValidationOptions options = {}) : options_(options) {}

  // See cache::ResponseValidator. resp_expires = the response's expiry, capped at the delegated
  // responder certificate's notAfter. When several issuers fail, the error of the one that got furthest
  // is returned: FAILED_PRECONDITION (stale: signature and CertID were fine) before "Invalid OCSP response
  // delegation" before parse/CertID failures; INVALID_ARGUMENT when an issuer is not DER.
  absl::StatusOr<cache::CachedResponse> Validate(const cache::CachedResponse& claimed,
                                                 absl::Span<const std::string> issuers_der, absl::Time now) override;

 private:
  const ocsp::ValidationOptions options_;
};

}  // namespace sigil::verifier

#endif  // SIGIL_VERIFIER_IMPORT_VALIDATOR_H_
