#include "verifier/import_validator.h"

#include <algorithm>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/openssl_util.h"

namespace sigil::verifier {
namespace {

// How far validation got before failing; higher is closer to a valid answer.
int Rank(const absl::Status& status) {
  if (status.code() == absl::StatusCode::kFailedPrecondition) return 2;
  if (absl::StartsWith(status.message(), ocsp::kResponseDelegationInvalid)) return 1;
  return 0;
}

}  // namespace

absl::StatusOr<cache::CachedResponse> OcspImportValidator::Validate(const cache::CachedResponse& claimed,
                                                                    absl::Span<const std::string> issuers_der,
                                                                    absl::Time now) {
  if (issuers_der.empty()) return absl::InvalidArgumentError("no issuer certificate to validate the response against");
  std::optional<absl::Status> best;
  for (size_t i = 0; i < issuers_der.size(); ++i) {
    absl::StatusOr<X509Ptr> issuer = ParseDerCertificate(issuers_der[i]);
    if (!issuer.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("issuer ", i, " is not a DER certificate: ", issuer.status().message()));
    }
    absl::StatusOr<ocsp::ValidatedResponse> validated =
        ocsp::ValidateResponse(claimed.response_der, /*cert=*/nullptr, issuer->get(), now, options_);
    if (!validated.ok()) {
      if (!best.has_value() || Rank(validated.status()) > Rank(*best)) best = validated.status();
      continue;
    }
    cache::CachedResponse out = claimed;
    out.resp_status = validated->status;
    out.resp_expires = std::min(validated->expires, validated->signer_not_after);
    out.issuer_fingerprint = cache::CacheKey(issuers_der[i]);
    out.issuer_subject = NameToString(X509_get_subject_name(issuer->get()));
    return out;
  }
  return *best;
}

}  // namespace sigil::verifier
