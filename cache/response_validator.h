// ResponseValidator: how the Cache service validates an OCSP response it did not fetch itself (an entry
// of an imported NATS cache.json) "like a fetched one", without cache/ depending on verifier/. verifierd
// passes an implementation backed by the OCSP response validator (verifier/import_validator.h); tests may
// pass fakes.
//
// Thread-safety: implementations must be safe to call from several threads at once.
#ifndef SIGIL_CACHE_RESPONSE_VALIDATOR_H_
#define SIGIL_CACHE_RESPONSE_VALIDATOR_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "cache/ocsp_cache.h"

namespace sigil::cache {

class ResponseValidator {
 public:
  virtual ~ResponseValidator() = default;

  // Validates `claimed.response_der` (a DER OCSPResponse) at `now` against each of `issuers_der` (DER CA
  // certificates) in turn, as a response fetched from that issuer's responder would be (signer or
  // delegated responder, signature, effectivity window). The certificate itself is unknown, so the
  // response's CertID need only match the issuer.
  //
  // On success returns `claimed` with the normative fields taken from the validated response:
  // resp_status, resp_expires, issuer_fingerprint and issuer_subject (of the issuer it validated
  // against); key, subject, response_der and cached_at are kept, cert_not_after is left as given.
  // Errors: INVALID_ARGUMENT when it validates against no issuer (parse, signature, delegation or CertID
  // failure; the message says why for the closest issuer); FAILED_PRECONDITION when the response is
  // outside its effectivity window (stale).
  virtual absl::StatusOr<CachedResponse> Validate(const CachedResponse& claimed,
                                                  absl::Span<const std::string> issuers_der, absl::Time now) = 0;
};

}  // namespace sigil::cache

#endif  // SIGIL_CACHE_RESPONSE_VALIDATOR_H_
