#include "cache/none_cache.h"

namespace sigil::cache {

absl::StatusOr<std::optional<CachedResponse>> NoneOcspCache::Get(const std::string& /*key*/) {
  misses_.fetch_add(1, std::memory_order_relaxed);
  return std::nullopt;
}

absl::Status NoneOcspCache::Put(const CachedResponse& response) {
  if (response.key.empty()) return absl::InvalidArgumentError("cache entry has an empty key");
  return absl::OkStatus();
}

absl::Status NoneOcspCache::Delete(const std::string& /*key*/) { return absl::OkStatus(); }

absl::StatusOr<int64_t> NoneOcspCache::Purge(const PurgeFilter& /*filter*/) { return 0; }

absl::StatusOr<std::optional<CachedResponse>> NoneOcspCache::Peek(const std::string& /*key*/) { return std::nullopt; }

absl::StatusOr<std::vector<CachedResponse>> NoneOcspCache::List(size_t /*max_entries*/) {
  return std::vector<CachedResponse>();
}

CacheStats NoneOcspCache::Stats() {
  CacheStats stats;
  stats.cache_type = "none";
  stats.cache_misses = misses_.load(std::memory_order_relaxed);
  return stats;
}

absl::Status NoneOcspCache::Flush() { return absl::OkStatus(); }

}  // namespace sigil::cache
