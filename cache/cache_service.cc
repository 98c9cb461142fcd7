#include "cache/cache_service.h"

#include <string>

namespace sigil::cache {
namespace {

grpc::ServerUnaryReactor* Unimplemented(grpc::CallbackServerContext* context, const char* rpc) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status(
      grpc::StatusCode::UNIMPLEMENTED,
      std::string(rpc) + " is not implemented in this version of verifierd: the RocksDB OCSP response "
                         "cache is still to be built"));
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* CacheService::GetStats(grpc::CallbackServerContext* context,
                                                 const v1::GetStatsRequest*, v1::CacheStats*) {
  return Unimplemented(context, "GetStats");
}
grpc::ServerUnaryReactor* CacheService::Lookup(grpc::CallbackServerContext* context, const v1::LookupRequest*,
                                               v1::CacheEntry*) {
  return Unimplemented(context, "Lookup");
}
grpc::ServerUnaryReactor* CacheService::Purge(grpc::CallbackServerContext* context, const v1::PurgeRequest*,
                                              v1::PurgeResponse*) {
  return Unimplemented(context, "Purge");
}
grpc::ServerUnaryReactor* CacheService::ImportNatsCache(grpc::CallbackServerContext* context,
                                                        const v1::ImportNatsCacheRequest*,
                                                        v1::ImportNatsCacheResponse*) {
  return Unimplemented(context, "ImportNatsCache");
}
grpc::ServerUnaryReactor* CacheService::ExportNatsCache(grpc::CallbackServerContext* context,
                                                        const v1::ExportNatsCacheRequest*,
                                                        v1::ExportNatsCacheResponse*) {
  return Unimplemented(context, "ExportNatsCache");
}

}  // namespace sigil::cache
