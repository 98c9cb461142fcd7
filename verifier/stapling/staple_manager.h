// StapleManager: OCSP staples for the fleet's own certificates (GetStaple), following the NATS OCSP
// stapling documentation (seeds/ocsp-stapling.md) with Sigil's fixes (DESIGN.md "Beyond").
//
// GetStaple(request):
//   - mode (request, else profile; default auto): auto and must staple only certificates with the TLS
//     Feature status_request ("Must-Staple"), always staples every certificate, never none. A certificate
//     the mode does not staple gets an empty answer (status NOT_CHECKED) and is not registered.
//   - responder: the request's url, else the profile's url, else the leaf's AIA http(s) OCSP URLs.
//   - issuer: certificates[1] when it issued the leaf (signature checked), else the first of the rest
//     (a CA bundle) that did (certificates.h).
//   - the first call for a (leaf, issuer, responder) registers it for background refresh: the staple
//     persisted in store_dir is used when still valid (so a restart does not need the responder), else it is
//     fetched now (POST, then GET when the responder refuses POST).
//   - the answer: the current staple when it is valid at now (its window, with allowed_clockskew), with its
//     status, ThisUpdate, NextUpdate and the next refresh time; no staple (status NO_RESPONSE) when there is
//     none yet or it has expired. must_stop_serving is set for a REVOKED or UNKNOWN staple under must or
//     always (the seed's shutdown column); auto never asks a server to stop.
// Refresh: at half the remaining validity with jitter; on failure exponential backoff with jitter, and the
// current staple stays (a failed or invalid fetch never replaces a valid staple; neither does a valid but
// older one). Every successful refresh is persisted with an atomic write (temp file, fsync, rename).
//
// What it deliberately does not do: check the leaf's own chain to a trust anchor (the server already
// trusts its own certificate), or send nonces.
//
// Thread-safety: every method may be called concurrently. GetStaple blocks for up to fetch_timeout on a
// first registration without a persisted staple (concurrent first calls for one certificate share that
// fetch), so gRPC callers run it off the reactor threads. The background thread refreshes due staples one
// at a time.
#ifndef SIGIL_VERIFIER_STAPLING_STAPLE_MANAGER_H_
#define SIGIL_VERIFIER_STAPLING_STAPLE_MANAGER_H_

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cache/clock.h"
#include "common/openssl_util.h"
#include "sigil/verifier/v1/verifier.pb.h"
#include "verifier/ocsp/http_fetcher.h"
#include "verifier/ocsp/ocsp_response.h"
#include "verifier/stapling/staple_options.h"

namespace sigil::verifier::stapling {

class StapleManager {
 public:
  // `fetcher` and `clock` must not be null. Creates <store_dir>/staples (0700) when store_dir is set
  // (FAILED_PRECONDITION when it cannot), and starts the refresh thread when options ask for it.
  static absl::StatusOr<std::unique_ptr<StapleManager>> Create(StapleManagerOptions options,
                                                               std::shared_ptr<ocsp::HttpFetcher> fetcher,
                                                               std::shared_ptr<const cache::Clock> clock);
  // Stops the refresh thread (waits for a refresh in progress).
  ~StapleManager();

  // See the file comment. Errors: INVALID_ARGUMENT for no/bad certificates, an unknown profile, or no
  // issuer among the certificates; FAILED_PRECONDITION when a stapled certificate has no responder URL
  // (no AIA OCSP URL, no url); RESOURCE_EXHAUSTED beyond max_entries registrations. A failed fetch is not
  // an error: the answer then has no staple (status NO_RESPONSE) and the refresh is retried with backoff.
  absl::StatusOr<v1::GetStapleResponse> GetStaple(const v1::GetStapleRequest& request);

  // Refreshes every registered staple whose refresh time is at or before the clock's now, one after
  // the other; returns how many it attempted. The refresh thread calls it; tests with a fake clock call
  // it directly.
  int RefreshDue();

  // The earliest next refresh among registered staples (InfiniteFuture when none).
  absl::Time NextRefresh() const;
  size_t registered() const;

  // One registered certificate's staple, for metrics (no staple bytes).
  struct StapleState {
    std::string subject;  // The leaf's subject (RFC 2253).
    std::string serial;   // The leaf's serial number, uppercase hex.
    // Whether a staple is held (possibly expired); this_update is meaningful only then.
    bool has_staple = false;
    absl::Time this_update = absl::UnixEpoch();
    absl::Time next_refresh = absl::InfinitePast();
  };
  // Every registered certificate, in no particular order. Never blocks on a fetch.
  std::vector<StapleState> Snapshot() const;

 private:
  struct Entry;

  StapleManager(StapleManagerOptions options, std::shared_ptr<ocsp::HttpFetcher> fetcher,
                std::shared_ptr<const cache::Clock> clock);
  // Fetches, validates, adopts (or not) and persists a staple for `entry`; reschedules it. Called with
  // entry->refreshing set by the caller, without mu_ held.
  void Refresh(Entry& entry);
  // Reads and validates the persisted staple of `entry`, if any.
  std::optional<ocsp::ValidatedResponse> LoadPersisted(Entry& entry, std::string* der);
  void Persist(const Entry& entry, const std::string& der);
  absl::Duration Jittered(absl::Duration d) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RefreshLoop();
  v1::GetStapleResponse Answer(const Entry& entry, v1::StapleMode mode, absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const StapleManagerOptions options_;
  const std::shared_ptr<ocsp::HttpFetcher> fetcher_;
  const std::shared_ptr<const cache::Clock> clock_;
  const std::string staples_dir_;  // <store_dir>/staples, or empty.

  // Guards members below (and the mutable state of every Entry).
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
  absl::BitGen random_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Set when a registration may have moved the earliest refresh time: wakes the refresh thread.
  bool wake_ ABSL_GUARDED_BY(mu_) = false;

  std::thread refresher_;
};

}  // namespace sigil::verifier::stapling

#endif  // SIGIL_VERIFIER_STAPLING_STAPLE_MANAGER_H_
