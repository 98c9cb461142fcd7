#include "verifier/verifier_options.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "verifier/ocsp/ocsp_request.h"

namespace sigil::verifier {
namespace {

// Seconds (the seeds' float64 form) to a Duration; `fallback` when unset.
absl::StatusOr<absl::Duration> Seconds(bool has, double value, absl::Duration fallback,
                                       const std::string& profile, const char* field) {
  if (!has) return fallback;
  if (!std::isfinite(value) || value < 0) {
    return absl::InvalidArgumentError(absl::StrCat("profile \"", profile, "\": ocsp_peer.", field,
                                                   " must be a non-negative number of seconds, got ", value));
  }
  return absl::Seconds(value);
}

}  // namespace

absl::StatusOr<OcspPeerOptions> ValidateOcspPeer(const config::v1::OcspPeer& proto, const std::string& profile) {
  OcspPeerOptions out;
  out.verify = proto.verify();
  out.warn_only = proto.warn_only();
  out.unknown_is_good = proto.unknown_is_good();
  out.allow_when_ca_unreachable = proto.allow_when_ca_unreachable();
  auto ca_timeout = Seconds(proto.has_ca_timeout(), proto.ca_timeout(), out.ca_timeout, profile, "ca_timeout");
  if (!ca_timeout.ok()) return ca_timeout.status();
  if (*ca_timeout <= absl::ZeroDuration() || *ca_timeout > absl::Seconds(60)) {
    return absl::InvalidArgumentError(absl::StrCat("profile \"", profile,
                                                   "\": ocsp_peer.ca_timeout must be above 0 and at most 60 seconds"));
  }
  out.ca_timeout = *ca_timeout;
  auto skew = Seconds(proto.has_allowed_clockskew(), proto.allowed_clockskew(), out.allowed_clockskew, profile,
                      "allowed_clockskew");
  if (!skew.ok()) return skew.status();
  out.allowed_clockskew = *skew;
  auto ttl = Seconds(proto.has_cache_ttl_when_next_update_unset(), proto.cache_ttl_when_next_update_unset(),
                     out.cache_ttl_when_next_update_unset, profile, "cache_ttl_when_next_update_unset");
  if (!ttl.ok()) return ttl.status();
  out.cache_ttl_when_next_update_unset = *ttl;
  if (!proto.cert_id_hash().empty()) {
    auto digest = ocsp::CertIdDigestByName(proto.cert_id_hash());
    if (!digest.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("profile \"", profile, "\": ocsp_peer.cert_id_hash: ", digest.status().message()));
    }
    out.cert_id_digest = *digest;
  }
  if (proto.has_max_response_bytes()) {
    if (proto.max_response_bytes() < 1024 || proto.max_response_bytes() > (16u << 20)) {
      return absl::InvalidArgumentError(absl::StrCat("profile \"", profile,
                                                     "\": ocsp_peer.max_response_bytes must be between 1024 and "
                                                     "16777216, got ", proto.max_response_bytes()));
    }
    out.max_response_bytes = proto.max_response_bytes();
  }
  return out;
}

absl::StatusOr<VerifierOptions> ValidateVerifierConfig(const config::v1::VerifierConfig& config) {
  VerifierOptions out;
  for (const auto& [name, profile] : config.profiles()) {
    if (name.empty()) return absl::InvalidArgumentError("profiles: a profile name must not be empty");
    auto peer = ValidateOcspPeer(profile.ocsp_peer(), name);
    if (!peer.ok()) return peer.status();
    out.any_ocsp_peer = out.any_ocsp_peer || peer->verify;
    out.profiles.emplace(name, *peer);
  }
  return out;
}

}  // namespace sigil::verifier
