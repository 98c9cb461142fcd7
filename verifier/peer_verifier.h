// PeerVerifier: the OCSP peer evaluation engine behind VerifyPeer, following the NATS ADR "OCSP Peer
// Verification" (seeds/ocsp-peer.md) and the reference server's certOCSPGood / peerOCSPValid, with
// Sigil's fixes (DESIGN.md "Beyond the reference behaviour").
//
// Rules, per request:
//   - chains are evaluated in order; the first valid chain allows the peer and later chains are not
//     evaluated (their links are reported NOT_CHECKED, chain.valid false);
//   - a chain of one certificate (self-signed peer) is valid;
//   - link i (not the last: the trust anchor is never checked) is OCSP-eligible when its AIA lists an
//     http/https OCSP URI; its issuer is link i+1; a chain without eligible links is valid;
//   - every eligible link must be Good (or Unknown with unknown_is_good, or without any obtainable
//     response with allow_when_ca_unreachable and no cached revocation); evaluation of a chain stops at its
//     first invalid link (later links NOT_CHECKED), as in the reference;
//   - warn_only: the verdict is computed as without it, reported (reason, failures, log lines) and then
//     overridden to allowed.
// Per link: cache first (OcspCache::Get; a cached response is validated again exactly like a fetched one),
// responder only when there is no cached response current at `now`. Concurrent evaluations of the same
// (certificate, issuer) share one fetch (single-flight). A fetched, valid response is stored in the cache;
// a failed fetch never replaces or removes a cached one, so a revocation stays remembered while the CA is
// unreachable, until the cache drops it when the certificate expires (the reference forgets it after one
// rejection).
// Hot path: each valid (certificate, issuer, response DER) verdict is kept in memory, so a cache hit only
// compares bytes — no DER parsing, no signature check — until the response's window (or its delegated
// signer's validity) ends. At most kMaxMemoEntries are kept; the memo is cleared when full. Parsed
// certificates are kept by their DER too, with the "link i is issued by link i+1"
// checks already passed: in OpenSSL 3.0 parsing a certificate (its public key through the provider
// decoders, under global locks) costs more than everything else a warm verification does.
//
// Warmest path, VerifyFromMemory: when every certificate was parsed before and every eligible link of the
// chain that decides has a verdict in memory that is current, good (or unknown with unknown_is_good) and
// was confirmed against the cache since the cache's last write, the answer is built from memory alone —
// no parsing, no cache read, no fetch, nothing that blocks — and is the answer Verify would give (same
// links, statuses, sources, log lines; no advisories, since the peer is allowed without invalid links).
// Anything else (a rejection, warn_only overriding, a stale or unconfirmed verdict) is left to Verify.
// For that, every write to the cache must go through cache() (the service's cache administration and
// import use it): a write makes every memorized verdict unconfirmed until Verify reads the cache again.
//
// Log lines use the reference server's wording (seeds/ocsp-peer.md, certidp/messages.go).
//
// Advisories (when an AdvisorySink is given): after the verdict, one ocsp_peer_link_invalid event per
// evaluated invalid link, in evaluation order (also under warn_only, then marked "allowed"), then one
// ocsp_peer_reject event when the peer is rejected (verifier/advisories/advisory.h). Emitting never blocks.
//
// Thread-safety: Verify may be called concurrently from any number of threads; it blocks for up to the
// profile's ca_timeout per fetched link, so callers on gRPC reactor threads must run it elsewhere.
// VerifyFromMemory never blocks (short mutex sections only) and may run on a reactor thread.
#ifndef SIGIL_VERIFIER_PEER_VERIFIER_H_
#define SIGIL_VERIFIER_PEER_VERIFIER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cache/clock.h"
#include "cache/ocsp_cache.h"
#include "sigil/verifier/v1/verifier.pb.h"
#include "verifier/advisories/advisory_sink.h"
#include "verifier/ocsp/http_fetcher.h"
#include "verifier/ocsp/ocsp_response.h"
#include "verifier/verifier_options.h"

namespace sigil::verifier {

// An OcspCache that forwards to another and counts the writes made through it (Put, Delete, Purge; counted
// after the write), so PeerVerifier knows when a memorized verdict may no longer be what the cache holds.
// Stats() adds the lookups PeerVerifier answered from memory in place of a Get (as the hits, or for a
// "none" cache the misses, that Get would have counted).
class WriteCountingOcspCache final : public cache::OcspCache {
 public:
  explicit WriteCountingOcspCache(std::shared_ptr<cache::OcspCache> inner);

  absl::StatusOr<std::optional<cache::CachedResponse>> Get(const std::string& key) override;
  absl::Status Put(const cache::CachedResponse& response) override;
  absl::Status Delete(const std::string& key) override;
  absl::StatusOr<int64_t> Purge(const cache::PurgeFilter& filter) override;
  absl::StatusOr<std::optional<cache::CachedResponse>> Peek(const std::string& key) override;
  absl::StatusOr<std::vector<cache::CachedResponse>> List(size_t max_entries) override;
  cache::CacheStats Stats() override;
  absl::Status Flush() override;

  // Writes made so far.
  uint64_t writes() const { return writes_.load(std::memory_order_acquire); }
  // Counts `n` lookups answered from memory in place of Get.
  void CountMemoryLookups(int64_t n) { memory_lookups_.fetch_add(n, std::memory_order_relaxed); }

 private:
  const std::shared_ptr<cache::OcspCache> inner_;
  const bool none_;  // The inner cache is the "none" cache (Get always misses).
  std::atomic<uint64_t> writes_{0};
  std::atomic<int64_t> memory_lookups_{0};
};

class PeerVerifier {
 public:
  static constexpr size_t kMaxMemoEntries = 100000;
  static constexpr size_t kMaxParsedCertificates = 10000;
  // Request limits (INVALID_ARGUMENT beyond them).
  static constexpr int kMaxChains = 16;
  static constexpr int kMaxLinks = 16;

  // `profiles` by name (VerifyPeer's empty profile selects "default"). `cache`, `fetcher` and `clock` are
  // shared with the caller and must outlive nothing in particular; `cache` and `fetcher` may be null only
  // when no profile has verify (INVALID_ARGUMENT otherwise); `clock` must not be null. `advisories` may be
  // null (no advisory events).
  static absl::StatusOr<std::unique_ptr<PeerVerifier>> Create(
      std::map<std::string, OcspPeerOptions> profiles, std::shared_ptr<cache::OcspCache> cache,
      std::shared_ptr<ocsp::HttpFetcher> fetcher, std::shared_ptr<const cache::Clock> clock,
      std::shared_ptr<advisories::AdvisorySink> advisories = nullptr);

  // Evaluates `request`. INVALID_ARGUMENT for a peer_role that is neither CLIENT nor SERVER, no chains,
  // an empty chain, more than kMaxChains chains or kMaxLinks links, a certificate that is not DER, a link
  // not issued by the next one, or an unknown profile. Revoked, unknown and unreachable are results
  // (allowed false, reason "client not OCSP valid" / "server not OCSP valid"). A profile without verify
  // allows every peer and reports every link NOT_CHECKED. Advisories describe the asking server with
  // request.server, or `caller` when the request has none (the service passes the mTLS identity).
  absl::StatusOr<v1::VerifyPeerResponse> Verify(const v1::VerifyPeerRequest& request,
                                                const v1::ServerInfo& caller = v1::ServerInfo::default_instance());

  // Verify's answer when memory alone gives it (see "Warmest path" above), else nullopt (call Verify).
  // Never blocks.
  std::optional<v1::VerifyPeerResponse> VerifyFromMemory(const v1::VerifyPeerRequest& request);

  // The cache given to Create, wrapped so that writes are seen (null when none was given). Every other
  // writer of that cache (cache administration, imports) must write through this one.
  std::shared_ptr<cache::OcspCache> cache() const { return cache_; }

 private:
  struct Link;
  struct LinkOutcome;
  struct Flight;
  struct ParsedCertificate;
  static constexpr uint64_t kNeverConfirmed = ~uint64_t{0};
  struct MemoEntry {
    std::string response_der;
    ocsp::ValidatedResponse validated;
    // The cache's write count read before the Get (or the memory answer) that last returned exactly
    // response_der for this link; kNeverConfirmed until then.
    uint64_t confirmed_at_writes = kNeverConfirmed;
  };
  // What one shared fetch produced: the response DER, and whether it was found current in memory by the
  // flight's leader (a late arrival after an earlier flight) rather than fetched.
  struct Fetched {
    std::string der;
    bool from_memory = false;
  };

  // An evaluated invalid link, for its advisory.
  struct InvalidLink {
    int chain = 0;
    int link = 0;
    std::string failure;
    absl::Time time;
  };

  PeerVerifier(std::map<std::string, OcspPeerOptions> profiles, std::shared_ptr<cache::OcspCache> cache,
               std::shared_ptr<ocsp::HttpFetcher> fetcher, std::shared_ptr<const cache::Clock> clock,
               std::shared_ptr<advisories::AdvisorySink> advisories);
  void EmitAdvisories(const v1::VerifyPeerRequest& request, const v1::ServerInfo& server,
                      const std::vector<InvalidLink>& invalid, bool rejected, bool allowed_by_warn_only,
                      absl::string_view reason);

  // Verify, or with `memory_only` VerifyFromMemory (nullopt: memory cannot answer; errors are left to Verify).
  absl::StatusOr<std::optional<v1::VerifyPeerResponse>> VerifyImpl(const v1::VerifyPeerRequest& request,
                                                                   const v1::ServerInfo& caller, bool memory_only);
  // The parsed certificate for `der` (from memory; parsed and remembered unless `memory_only`), null when
  // memory_only and not remembered; INVALID_ARGUMENT when not DER.
  absl::StatusOr<std::shared_ptr<const ParsedCertificate>> Certificate(absl::string_view der, bool memory_only);
  LinkOutcome EvaluateLink(const Link& link, const OcspPeerOptions& options);
  // The outcome memory alone gives for `link`: a current, confirmed, good verdict; else nullopt.
  std::optional<LinkOutcome> EvaluateLinkFromMemory(const Link& link, const OcspPeerOptions& options);
  // Marks the memo entry for `link` confirmed at `writes` when it still holds `der`.
  void MemoConfirm(const Link& link, const std::string& der, uint64_t writes);
  // Validates `der` for `link` at `now`, through the memo when the same bytes were validated before.
  absl::StatusOr<ocsp::ValidatedResponse> Validate(const Link& link, const std::string& der, absl::Time now,
                                                   const OcspPeerOptions& options);
  // The memo's verdict for `der` when it is still current at `now` under `options`.
  std::optional<ocsp::ValidatedResponse> MemoLookup(const std::string& memo_key, const std::string& der,
                                                    absl::Time now, const OcspPeerOptions& options);
  void MemoStore(const std::string& memo_key, const std::string& der, const ocsp::ValidatedResponse& v);
  // Runs the leader's fetch for `link`, or waits for the one already running.
  absl::StatusOr<Fetched> SharedFetch(const Link& link, const OcspPeerOptions& options);
  absl::StatusOr<Fetched> LeaderFetch(const Link& link, const OcspPeerOptions& options);

  const std::map<std::string, OcspPeerOptions> profiles_;
  const std::shared_ptr<WriteCountingOcspCache> cache_;
  const std::shared_ptr<ocsp::HttpFetcher> fetcher_;
  const std::shared_ptr<const cache::Clock> clock_;
  const std::shared_ptr<advisories::AdvisorySink> advisories_;

  // Guards members below.
  absl::Mutex mu_;
  // In-flight fetches by memo key (certificate fingerprint + issuer fingerprint).
  absl::flat_hash_map<std::string, std::shared_ptr<Flight>> flights_ ABSL_GUARDED_BY(mu_);
  // Verified verdicts by memo key.
  absl::flat_hash_map<std::string, MemoEntry> memo_ ABSL_GUARDED_BY(mu_);

  // Guards members below (separate from mu_: read on every request).
  absl::Mutex certs_mu_;
  // Parsed certificates by their DER.
  absl::flat_hash_map<std::string, std::shared_ptr<const ParsedCertificate>> certs_ ABSL_GUARDED_BY(certs_mu_);
  // Memo keys (certificate|issuer fingerprints) of links whose issuer check passed.
  absl::flat_hash_set<std::string> issued_ ABSL_GUARDED_BY(certs_mu_);
};

}  // namespace sigil::verifier

#endif  // SIGIL_VERIFIER_PEER_VERIFIER_H_
