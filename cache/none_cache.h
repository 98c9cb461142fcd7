// NoneOcspCache: the "none" cache type. Stores nothing: every Get is a miss (counted), Put/Delete/Flush
// succeed without effect, Purge removes 0. For tests and for deployments that mandate an OCSP check at
// every connection. It checks nothing about its inputs beyond what the interface requires.
//
// Thread-safety: all methods are thread-safe (the counters are atomics).
#ifndef SIGIL_CACHE_NONE_CACHE_H_
#define SIGIL_CACHE_NONE_CACHE_H_

#include <atomic>

#include "cache/ocsp_cache.h"

namespace sigil::cache {

class NoneOcspCache final : public OcspCache {
 public:
  NoneOcspCache() = default;

  absl::StatusOr<std::optional<CachedResponse>> Get(const std::string& key) override;
  absl::Status Put(const CachedResponse& response) override;
  absl::Status Delete(const std::string& key) override;
  absl::StatusOr<int64_t> Purge(const PurgeFilter& filter) override;
  // Always nullopt / empty.
  absl::StatusOr<std::optional<CachedResponse>> Peek(const std::string& key) override;
  absl::StatusOr<std::vector<CachedResponse>> List(size_t max_entries) override;
  // cache_type "none"; only cache_misses ever moves.
  CacheStats Stats() override;
  absl::Status Flush() override;

 private:
  std::atomic<int64_t> misses_{0};
};

}  // namespace sigil::cache

#endif  // SIGIL_CACHE_NONE_CACHE_H_
