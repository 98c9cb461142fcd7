// Stapling options: the `ocsp { mode, url }` map of each profile (seeds/ocsp-stapling.md) and the
// top-level `store_dir`, validated once at start-up into an immutable struct.
#ifndef SIGIL_VERIFIER_STAPLING_STAPLE_OPTIONS_H_
#define SIGIL_VERIFIER_STAPLING_STAPLE_OPTIONS_H_

#include <cstddef>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sigil/config/v1/verifier.pb.h"
#include "sigil/verifier/v1/verifier.pb.h"

namespace sigil::verifier::stapling {

// The modes of the reference's `ocsp.mode`, as the API's enum (AUTO, MUST, ALWAYS, NEVER).
// "auto" (or empty) → AUTO, "must" → MUST, "always" → ALWAYS, "never" → NEVER (case-insensitive).
// INVALID_ARGUMENT naming `where` and the accepted values otherwise.
absl::StatusOr<v1::StapleMode> ParseStapleMode(absl::string_view mode, absl::string_view where);

// Whether `mode` staples a certificate with (`must_staple`) or without the TLS Feature status_request.
bool ModeStaples(v1::StapleMode mode, bool must_staple);
// Whether a revoked or unknown staple tells the server to stop serving (the seed's shutdown column).
bool ModeStopsServing(v1::StapleMode mode);

struct StapleProfile {
  v1::StapleMode mode = v1::AUTO;
  // Overrides the certificate's AIA OCSP URL when non-empty.
  std::string url;
};

struct StapleManagerOptions {
  // Profiles by name; GetStaple's empty profile selects "default", which always exists (mode auto) even
  // when the config names no such profile.
  std::map<std::string, StapleProfile> profiles;
  // Where staples persist (in <store_dir>/staples/); empty: not persisted.
  std::string store_dir;

  // Fetch: one overall timeout per refresh, and the response size cap.
  absl::Duration fetch_timeout = absl::Seconds(5);
  size_t max_response_bytes = 64 * 1024;
  // Validation of fetched and persisted staples.
  absl::Duration allowed_clockskew = absl::Seconds(30);
  absl::Duration ttl_when_next_update_unset = absl::Hours(1);
  // Refresh: at half the remaining validity, ± jitter (a fraction of that delay), never sooner than
  // min_refresh_delay; after a failure, backoff doubling from min_backoff to max_backoff (also jittered).
  double jitter = 0.1;
  absl::Duration min_refresh_delay = absl::Seconds(30);
  absl::Duration min_backoff = absl::Seconds(30);
  absl::Duration max_backoff = absl::Minutes(10);
  // Distinct certificates registered at most (RESOURCE_EXHAUSTED beyond).
  size_t max_entries = 10000;
  // Run refreshes on a background thread; tests with a fake clock call StapleManager::RefreshDue instead.
  bool start_refresh_thread = true;
};

// Validates every profile's `ocsp` map and `store_dir`. INVALID_ARGUMENT naming the profile for an unknown
// mode or a url that is not http(s).
absl::StatusOr<StapleManagerOptions> ValidateStaplingConfig(const config::v1::VerifierConfig& config);

}  // namespace sigil::verifier::stapling

#endif  // SIGIL_VERIFIER_STAPLING_STAPLE_OPTIONS_H_
