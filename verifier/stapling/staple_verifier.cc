#include "verifier/stapling/staple_verifier.h"

#include "absl/strings/str_cat.h"
#include "cache/ocsp_cache.h"
#include "verifier/ocsp/ocsp_response.h"
#include "verifier/stapling/certificates.h"

namespace sigil::verifier::stapling {

absl::StatusOr<v1::VerifyStapleResponse> VerifyStaple(const v1::VerifyStapleRequest& request,
                                                      const std::map<std::string, OcspPeerOptions>& profiles,
                                                      absl::Time now) {
  const std::string profile_name = request.profile().empty() ? "default" : request.profile();
  OcspPeerOptions options;
  if (auto it = profiles.find(profile_name); it != profiles.end()) {
    options = it->second;
  } else if (!request.profile().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown profile \"", profile_name, "\""));
  }
  absl::StatusOr<std::vector<X509Ptr>> chain = ParseChain(request.certificates());
  if (!chain.ok()) return chain.status();
  absl::StatusOr<X509*> issuer = FindIssuer(*chain);
  if (!issuer.ok()) return issuer.status();

  v1::VerifyStapleResponse response;
  if (request.staple().empty()) {
    response.set_status(v1::NO_RESPONSE);
    response.set_failure(std::string(kNoStaple));
    return response;
  }
  ocsp::ValidationOptions validation;
  validation.allowed_clockskew = options.allowed_clockskew;
  validation.ttl_when_next_update_unset = options.cache_ttl_when_next_update_unset;
  absl::StatusOr<ocsp::ValidatedResponse> v =
      ocsp::ValidateResponse(request.staple(), (*chain)[0].get(), *issuer, now, validation);
  if (!v.ok()) {
    response.set_status(v1::NO_RESPONSE);
    response.set_failure(std::string(v.status().message()));
    return response;
  }
  using Status = cache::CachedResponse::Status;
  switch (v->status) {
    case Status::kGood:
      response.set_status(v1::GOOD);
      break;
    case Status::kRevoked:
      response.set_status(v1::REVOKED);
      break;
    case Status::kUnknown:
      response.set_status(v1::UNKNOWN);
      break;
  }
  const bool good = v->status == Status::kGood || (v->status == Status::kUnknown && options.unknown_is_good);
  response.set_valid(good);
  if (!good) response.set_failure(absl::StrCat(ocsp::kResponseInvalidStatus, ": ", cache::ResponseStatusName(v->status)));
  return response;
}

}  // namespace sigil::verifier::stapling
