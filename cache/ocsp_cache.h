// OcspCache: the interface of verifierd's OCSP response cache, keyed by certificate fingerprint
// (CacheKey). Backends: RocksDbOcspCache ("local", cache/rocksdb_cache.h) and NoneOcspCache ("none",
// cache/none_cache.h); the ocsp_cache { type } option chooses one.
//
// What a cache deliberately does NOT check: it stores and returns responses as given. It never parses or
// verifies the DER OCSPResponse, its signature, its CertID or its ThisUpdate/NextUpdate; `subject`,
// `resp_status`, `resp_expires` and the issuer fields are the caller's (the validator's) extraction and
// are "non-normative" as in the reference server: a response read back from the cache must be validated
// again like a fetched one. The only time check a cache makes is Get's passive eviction of an entry
// whose resp_expires has passed (and, in RocksDB, the compaction filter).
//
// Thread-safety: every method of every implementation is thread-safe and may be called concurrently.
#ifndef SIGIL_CACHE_OCSP_CACHE_H_
#define SIGIL_CACHE_OCSP_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sigil::cache {

// One cached OCSP response.
struct CachedResponse {
  // The certificate status the CA asserted. Revoked and unknown are results, not errors.
  enum class Status { kGood, kRevoked, kUnknown };

  // CacheKey() of the certificate the response is about.
  std::string key;
  // DER OCSPResponse exactly as the responder returned it.
  std::string response_der;
  // RFC 2253 subject of the certificate.
  std::string subject;
  absl::Time cached_at = absl::UnixEpoch();
  Status resp_status = Status::kGood;
  // When the response stops being usable (NextUpdate, or ThisUpdate + the default TTL).
  absl::Time resp_expires = absl::UnixEpoch();
  // Standard base64 of SHA-256 of the issuer certificate DER the response was validated against.
  std::string issuer_fingerprint;
  // RFC 2253 subject of that issuer.
  std::string issuer_subject;
  // notAfter of the certificate. A revoked entry is kept (even past resp_expires) until this passes;
  // InfiniteFuture when unknown.
  absl::Time cert_not_after = absl::InfiniteFuture();
};

// The reference server's lowercase names: "good", "revoked", "unknown".
absl::string_view ResponseStatusName(CachedResponse::Status status);

// Statistics with the reference server's names (zeros included).
struct CacheStats {
  // "local" or "none".
  std::string cache_type;
  int64_t cache_hits = 0;
  int64_t cache_misses = 0;
  int64_t cached_responses = 0;
  int64_t cached_revoked_responses = 0;
  int64_t cached_good_responses = 0;
  int64_t cached_unknown_responses = 0;
};

// What Purge removes: everything, every entry of one status, or one key.
struct PurgeFilter {
  enum class Kind { kAll, kStatus, kKey };

  static PurgeFilter All() { return PurgeFilter{Kind::kAll, CachedResponse::Status::kGood, ""}; }
  static PurgeFilter ByStatus(CachedResponse::Status status) { return PurgeFilter{Kind::kStatus, status, ""}; }
  static PurgeFilter ByKey(std::string key) {
    return PurgeFilter{Kind::kKey, CachedResponse::Status::kGood, std::move(key)};
  }

  Kind kind;
  CachedResponse::Status status;  // for kStatus
  std::string key;                // for kKey
};

class OcspCache {
 public:
  virtual ~OcspCache() = default;

  // The entry for `key`, or nullopt. Counts one hit or one miss. An entry whose resp_expires is in the
  // past (strictly before the clock's now) and that is not revoked is deleted and reported as a miss;
  // a revoked entry is returned even when its response has expired (the caller decides what an expired
  // revocation means). DATA_LOSS when the stored entry cannot be decoded; other codes from the store.
  virtual absl::StatusOr<std::optional<CachedResponse>> Get(const std::string& key) = 0;

  // Stores `response` under response.key, replacing any entry (a revoked one too, whatever
  // preserve_revoked says: a newer response always wins; ordering is the caller's job).
  // INVALID_ARGUMENT when the key is empty.
  virtual absl::Status Put(const CachedResponse& response) = 0;

  // Removes the entry for `key`; OK when there is none. With preserve_revoked, a revoked entry is kept
  // and OK is returned.
  virtual absl::Status Delete(const std::string& key) = 0;

  // Removes the entries `filter` selects and returns how many were removed. With preserve_revoked,
  // revoked entries are never removed (and not counted).
  virtual absl::StatusOr<int64_t> Purge(const PurgeFilter& filter) = 0;

  // The stored entry for `key`, or nullopt, exactly as stored: no expiry check, no eviction, no hit or
  // miss counted. For operators (Lookup) and tools. DATA_LOSS when the stored entry cannot be decoded.
  virtual absl::StatusOr<std::optional<CachedResponse>> Peek(const std::string& key) = 0;

  // Every stored entry in key order, expired ones included, counting nothing (for export). Entries that
  // cannot be decoded are skipped (and logged). RESOURCE_EXHAUSTED when there are more than `max_entries`.
  virtual absl::StatusOr<std::vector<CachedResponse>> List(size_t max_entries) = 0;

  // Current statistics.
  virtual CacheStats Stats() = 0;

  // Durability point: when it returns OK, every earlier successful Put/Delete/Purge survives a crash of
  // the machine, not only of the process.
  virtual absl::Status Flush() = 0;
};

// The cache key of a certificate: standard (padded) base64 of SHA-256 of its DER, as the reference
// server keys cache.json. `cert_der` is not parsed.
std::string CacheKey(absl::string_view cert_der);

}  // namespace sigil::cache

#endif  // SIGIL_CACHE_OCSP_CACHE_H_
