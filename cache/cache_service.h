// CacheService: the sigil.cache.v1.Cache operator service.
//
// This version answers every RPC with UNIMPLEMENTED and a message naming what is missing: the RocksDB
// response cache arrives with its own issue.
#ifndef SIGIL_CACHE_CACHE_SERVICE_H_
#define SIGIL_CACHE_CACHE_SERVICE_H_

#include "sigil/cache/v1/cache.grpc.pb.h"

namespace sigil::cache {

class CacheService final : public sigil::cache::v1::Cache::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* context, const v1::GetStatsRequest* request,
                                     v1::CacheStats* response) override;
  grpc::ServerUnaryReactor* Lookup(grpc::CallbackServerContext* context, const v1::LookupRequest* request,
                                   v1::CacheEntry* response) override;
  grpc::ServerUnaryReactor* Purge(grpc::CallbackServerContext* context, const v1::PurgeRequest* request,
                                  v1::PurgeResponse* response) override;
  grpc::ServerUnaryReactor* ImportNatsCache(grpc::CallbackServerContext* context,
                                            const v1::ImportNatsCacheRequest* request,
                                            v1::ImportNatsCacheResponse* response) override;
  grpc::ServerUnaryReactor* ExportNatsCache(grpc::CallbackServerContext* context,
                                            const v1::ExportNatsCacheRequest* request,
                                            v1::ExportNatsCacheResponse* response) override;
};

}  // namespace sigil::cache

#endif  // SIGIL_CACHE_CACHE_SERVICE_H_
