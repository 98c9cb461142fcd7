// RocksDbOcspCache: the "local" cache type, an OcspCache kept in an embedded RocksDB database in the
// directory `local_store` (the reference server keeps a cache.json there instead; import/export of that
// format lives elsewhere).
//
// Storage: key = CacheKey of the certificate, value = a serialized sigil.cache.v1.CacheRecord. Blocks
// are compressed by RocksDB itself (LZ4, else Snappy, else none, by what librocksdb was built with).
// Durability: the WAL is on and every write reaches the OS at once (survives the process being killed),
// but writes are not fsynced one by one; a background thread fsyncs the WAL (FlushWAL(true)) every
// save_interval, and Flush() and destruction do the same.
// Eviction: Get evicts expired non-revoked entries passively; a compaction filter, using the injected
// clock, drops expired non-revoked entries and revoked entries whose cert_not_after has passed.
// Stats: hits and misses are process-lifetime counters; per-status entry counts are kept in memory,
// initialised by one scan at open and recounted after a compaction has dropped entries.
//
// What it deliberately does not check: the response DER and the extracted fields are stored as given
// (see ocsp_cache.h). One directory belongs to one open instance: RocksDB's LOCK file enforces it.
//
// Thread-safety: all methods are thread-safe. Reads run concurrently; writes, deletes and purges are
// serialised by an internal mutex so that the counters match the store.
#ifndef SIGIL_CACHE_ROCKSDB_CACHE_H_
#define SIGIL_CACHE_ROCKSDB_CACHE_H_

#include <rocksdb/db.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cache/clock.h"
#include "cache/ocsp_cache.h"

namespace sigil::cache {

struct RocksDbOcspCacheOptions {
  // Directory of the database; created when missing. Relative paths are relative to the working dir.
  std::string local_store = "_rc_";
  // When true, Delete and Purge never remove revoked entries (Put still replaces them).
  bool preserve_revoked = false;
  // How often the WAL is fsynced. At least 1 second.
  absl::Duration save_interval = absl::Seconds(300);
};

class RocksDbOcspCache final : public OcspCache {
 public:
  // Opens (creating when needed) the database in options.local_store. INVALID_ARGUMENT
  // "save_interval must be at least 1 second" when it is shorter; FAILED_PRECONDITION naming the
  // directory when another instance (in this or another process) has it open; other RocksDB failures
  // through FromRocksDbStatus. `clock` must not be null.
  static absl::StatusOr<std::unique_ptr<RocksDbOcspCache>> Create(const RocksDbOcspCacheOptions& options,
                                                                   std::shared_ptr<const Clock> clock);

  // Stops the background thread, fsyncs the WAL and closes the database.
  ~RocksDbOcspCache() override;

  RocksDbOcspCache(const RocksDbOcspCache&) = delete;
  RocksDbOcspCache& operator=(const RocksDbOcspCache&) = delete;

  absl::StatusOr<std::optional<CachedResponse>> Get(const std::string& key) override;
  absl::Status Put(const CachedResponse& response) override;
  absl::Status Delete(const std::string& key) override;
  absl::StatusOr<int64_t> Purge(const PurgeFilter& filter) override;
  absl::StatusOr<std::optional<CachedResponse>> Peek(const std::string& key) override;
  absl::StatusOr<std::vector<CachedResponse>> List(size_t max_entries) override;
  // cache_type "local".
  CacheStats Stats() override;
  // FlushWAL(true): fsyncs every write so far.
  absl::Status Flush() override;

  // Runs a full manual compaction (the compaction filter included). For tests and operators.
  absl::Status CompactRange();

 private:
  class ExpiryFilter;
  class CompactionListener;

  RocksDbOcspCache(const RocksDbOcspCacheOptions& options, std::shared_ptr<const Clock> clock);

  // Recounts the per-status counts from a full scan.
  absl::Status RecountLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adjusts the counts by `delta` for one entry of `status`.
  void CountLocked(CachedResponse::Status status, int64_t delta) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Deletes `key` when its stored value is still `expected` (Get's passive eviction).
  absl::Status EvictIfUnchanged(const std::string& key, const std::string& expected);
  void FlushLoop();

  const RocksDbOcspCacheOptions options_;
  const std::shared_ptr<const Clock> clock_;
  // Declared before db_: RocksDB borrows them until db_ is closed.
  std::unique_ptr<ExpiryFilter> filter_;
  std::shared_ptr<CompactionListener> listener_;
  std::unique_ptr<rocksdb::DB> db_;

  std::atomic<int64_t> hits_{0};
  std::atomic<int64_t> misses_{0};
  // Set by the compaction listener when a compaction dropped entries: the counts need a rescan.
  std::atomic<bool> counts_stale_{false};

  // Guards members below. Held across every write so the counts match the store.
  absl::Mutex mu_;
  int64_t good_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t revoked_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t unknown_ ABSL_GUARDED_BY(mu_) = 0;

  // Guards members below (the background flusher's stop signal).
  absl::Mutex flush_mu_;
  absl::CondVar flush_cv_;
  bool stopping_ ABSL_GUARDED_BY(flush_mu_) = false;
  std::thread flusher_;
};

}  // namespace sigil::cache

#endif  // SIGIL_CACHE_ROCKSDB_CACHE_H_
