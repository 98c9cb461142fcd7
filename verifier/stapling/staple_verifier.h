// VerifyStaple: checks an OCSP staple a peer presented (routes and gateways connecting to each other) against
// the peer's chain, as the reference server does for its cluster peers, with Sigil's stricter checks:
//   1. the issuer of certificates[0] is found (certificates.h: certificates[1], else the rest);
//   2. ocsp::ValidateResponse (ocsp_response.h): signer is the issuer or an authorized delegate (EKU
//      OCSPSigning, issued by the issuer, valid now), a SingleResponse's CertID matches the leaf (hashes and
//      serial), and the window is current with the profile's allowed_clockskew (ocsp_peer defaults when the
//      profile sets none);
//   3. the status is good (unknown is good only with the profile's unknown_is_good).
// An invalid staple is a result (valid false, failure in the reference wording), never an error.
//
// Thread-safety: stateless.
#ifndef SIGIL_VERIFIER_STAPLING_STAPLE_VERIFIER_H_
#define SIGIL_VERIFIER_STAPLING_STAPLE_VERIFIER_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sigil/verifier/v1/verifier.pb.h"
#include "verifier/verifier_options.h"

namespace sigil::verifier::stapling {

// The failure for an empty staple.
inline constexpr absl::string_view kNoStaple = "no OCSP staple presented";

// Errors: INVALID_ARGUMENT for no or unparsable certificates, no issuer among them, or a profile that is
// not in `profiles` (the empty profile selects "default"; when `profiles` has no "default", the reference
// defaults apply to it).
absl::StatusOr<v1::VerifyStapleResponse> VerifyStaple(const v1::VerifyStapleRequest& request,
                                                      const std::map<std::string, OcspPeerOptions>& profiles,
                                                      absl::Time now);

}  // namespace sigil::verifier::stapling

#endif  // SIGIL_VERIFIER_STAPLING_STAPLE_VERIFIER_H_
