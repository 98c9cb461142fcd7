// CacheService: the sigil.cache.v1.Cache operator service over verifierd's OCSP response cache.
//
// Authorization (callers from their mTLS client certificate, common/caller.h):
//   GetStats, Lookup                          any authenticated caller; UNAUTHENTICATED without one
//   Purge, ImportNatsCache, ExportNatsCache   callers matching admin_principals (VerifierConfig
//                                             admin_principals; empty = nobody, "*" = any authenticated
//                                             caller); PERMISSION_DENIED otherwise
// Without a cache (cache == nullptr: no profile enables ocsp_peer), GetStats reports cache_type "none"
// with zeros, Lookup answers NOT_FOUND, Purge removes 0, ExportNatsCache writes "{}" and ImportNatsCache
// answers FAILED_PRECONDITION.
//
// ImportNatsCache validates every entry like a fetched response (ResponseValidator, against the
// request's issuers); the response DER is normative: status and expiry come from the validated response,
// not from the file's fields; a stale response is rejected; cached_at is kept. An entry does not
// replace a cached response that stays valid longer. Imported entries are made durable (Flush) before
// the RPC returns.
//
// Threading: gRPC callback API. GetStats, Lookup and Purge run on gRPC's thread (in-memory counters and
// RocksDB reads and batch writes). ImportNatsCache (a signature check per entry) and ExportNatsCache (a
// full scan and encoding) run on one background worker of the service and finish their reactor from
// there; when kMaxQueuedJobs of them are already waiting, a new one is refused with RESOURCE_EXHAUSTED.
#ifndef SIGIL_CACHE_CACHE_SERVICE_H_
#define SIGIL_CACHE_CACHE_SERVICE_H_

#include <memory>
#include <string>
#include <vector>

#include "cache/clock.h"
#include "cache/ocsp_cache.h"
#include "cache/response_validator.h"
#include "common/blocking_pool.h"
#include "sigil/cache/v1/cache.grpc.pb.h"

namespace sigil::cache {

struct CacheServiceOptions {
  // Borrowed; must outlive the service. Null = no cache configured.
  OcspCache* cache = nullptr;
  // Borrowed; must outlive the service. Null = ImportNatsCache answers FAILED_PRECONDITION.
  ResponseValidator* validator = nullptr;
  // Who may call Purge, ImportNatsCache and ExportNatsCache.
  std::vector<std::string> admin_principals;
  // Null = SystemClock.
  std::shared_ptr<const Clock> clock;
};

class CacheService final : public sigil::cache::v1::Cache::CallbackService {
 public:
  // Import/export jobs that may wait for the worker at once.
  static constexpr size_t kMaxQueuedJobs = 4;
  // Rejection lines returned by one ImportNatsCache (the count in `rejected` is always complete).
  static constexpr size_t kMaxRejectionLines = 1000;

  // No cache configured, no admins.
  CacheService();
  explicit CacheService(CacheServiceOptions options);
  // Finishes queued import/export jobs, then stops the worker. Destroy only after the server has shut
  // down.
  ~CacheService() override;

  CacheService(const CacheService&) = delete;
  CacheService& operator=(const CacheService&) = delete;

  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* context, const v1::GetStatsRequest* request,
                                     v1::CacheStats* response) override;
  // By fingerprint (INVALID_ARGUMENT unless base64 of 32 bytes) or certificate (INVALID_ARGUMENT unless
  // one DER certificate). The entry as stored, expired or not (no hit or miss counted); NOT_FOUND when
  // absent.
  grpc::ServerUnaryReactor* Lookup(grpc::CallbackServerContext* context, const v1::LookupRequest* request,
                                   v1::CacheEntry* response) override;
  // One fingerprint, every entry of one status (INVALID_ARGUMENT for RESPONSE_STATUS_UNSPECIFIED), or all
  // (`all` must be true). preserve_revoked is respected. Returns how many were removed.
  grpc::ServerUnaryReactor* Purge(grpc::CallbackServerContext* context, const v1::PurgeRequest* request,
                                  v1::PurgeResponse* response) override;
  // INVALID_ARGUMENT when `issuers` is empty or one is not a DER certificate, or for whole-file errors
  // (nats_cache_json.h); per-entry problems are counted in `rejected` with one line each.
  grpc::ServerUnaryReactor* ImportNatsCache(grpc::CallbackServerContext* context,
                                            const v1::ImportNatsCacheRequest* request,
                                            v1::ImportNatsCacheResponse* response) override;
  // Every stored entry (expired ones too), in the reference server's cache.json format.
  grpc::ServerUnaryReactor* ExportNatsCache(grpc::CallbackServerContext* context,
                                            const v1::ExportNatsCacheRequest* request,
                                            v1::ExportNatsCacheResponse* response) override;

 private:
  const CacheServiceOptions options_;
  // One thread running import/export jobs in order, at most kMaxQueuedJobs waiting.
  std::unique_ptr<BlockingPool> worker_;
};

}  // namespace sigil::cache

#endif  // SIGIL_CACHE_CACHE_SERVICE_H_
