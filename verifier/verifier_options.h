// verifierd's validated profiles: the `ocsp_peer` options of sigil.config.v1.VerifierConfig, checked once
// at start-up into immutable structs. Nothing else reads the raw profile protos.
#ifndef SIGIL_VERIFIER_VERIFIER_OPTIONS_H_
#define SIGIL_VERIFIER_VERIFIER_OPTIONS_H_

#include <openssl/evp.h>

#include <cstddef>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sigil/config/v1/verifier.pb.h"

namespace sigil::verifier {

// One profile's `ocsp_peer` options with the reference defaults filled in.
struct OcspPeerOptions {
  bool verify = false;
  absl::Duration ca_timeout = absl::Seconds(2);
  absl::Duration allowed_clockskew = absl::Seconds(30);
  bool warn_only = false;
  bool unknown_is_good = false;
  bool allow_when_ca_unreachable = false;
  absl::Duration cache_ttl_when_next_update_unset = absl::Seconds(3600);
  // Sigil extensions.
  const EVP_MD* cert_id_digest = EVP_sha1();
  size_t max_response_bytes = 64 * 1024;
};

struct VerifierOptions {
  // Profiles by name.
  std::map<std::string, OcspPeerOptions> profiles;
  // Whether some profile has ocsp_peer.verify; the response cache is created only then (as the reference
  // server initialises its cache only when a listener enables OCSP peer).
  bool any_ocsp_peer = false;
};

// Validates `ocsp_peer` of profile `profile` (named in messages). INVALID_ARGUMENT, naming the profile and
// field, for: a negative or non-finite duration, ca_timeout of 0 or above 60 seconds, an unknown
// cert_id_hash, max_response_bytes below 1024 or above 16 MiB.
absl::StatusOr<OcspPeerOptions> ValidateOcspPeer(const config::v1::OcspPeer& proto, const std::string& profile);

// Validates every profile. INVALID_ARGUMENT as above, and for a profile with an empty name. (The
// `ocsp_cache` option is validated by cache/cache_factory.h, the one place that reads it.)
absl::StatusOr<VerifierOptions> ValidateVerifierConfig(const config::v1::VerifierConfig& config);

}  // namespace sigil::verifier

#endif  // SIGIL_VERIFIER_VERIFIER_OPTIONS_H_
