// The one place that turns verifierd's `ocsp_cache` option (sigil.config.v1.OcspCache) into an OcspCache
// backend: "local" → RocksDbOcspCache, "none" → NoneOcspCache. Validation happens here once, at start-up;
// nothing else reads the raw proto.
//
// Decisions where the reference server differs or is silent:
// - `type` is matched case-insensitively ("Local" = "local"); empty = "local". Anything else stops
//   start-up (INVALID_ARGUMENT naming the option and the allowed values), as in the reference.
// - `save_interval` below 1 second stops start-up with INVALID_ARGUMENT instead of being raised to 1 s
//   silently as the reference does ("a minimum value of 1 second is enforced"): a durability setting that
//   quietly means something else than written is worse than a clear start-up error. Unset = 300 s.
// - `local_store` empty = "_rc_", relative to the working directory.
//
// Thread-safety: pure functions; the created cache is thread-safe (ocsp_cache.h).
#ifndef SIGIL_CACHE_CACHE_FACTORY_H_
#define SIGIL_CACHE_CACHE_FACTORY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "cache/clock.h"
#include "cache/ocsp_cache.h"
#include "cache/rocksdb_cache.h"
#include "sigil/config/v1/verifier.pb.h"

namespace sigil::cache {

// The validated `ocsp_cache` option.
struct OcspCacheOptions {
  enum class Type { kLocal, kNone };
  Type type = Type::kLocal;
  // Used when type is kLocal.
  RocksDbOcspCacheOptions local;
};

// Validates `options`. INVALID_ARGUMENT with the exact start-up message:
//   error parsing OCSP peer cache config, unknown type [X]: ocsp_cache.type must be "local" or "none"
//     (the reference server's wording, then the allowed values)
//   ocsp_cache.save_interval must be at least 1 second (got X)
//   ocsp_cache.save_interval must be a finite number of seconds
absl::StatusOr<OcspCacheOptions> ValidateOcspCacheOptions(const config::v1::OcspCache& options);

// Validates `options` and creates the cache. Errors: those of ValidateOcspCacheOptions, then those of
// RocksDbOcspCache::Create (FAILED_PRECONDITION naming the directory when another process holds it).
// `clock` must not be null.
absl::StatusOr<std::unique_ptr<OcspCache>> CreateOcspCache(const config::v1::OcspCache& options,
                                                           std::shared_ptr<const Clock> clock);

// Whether any profile of `config` enables OCSP peer verification (`ocsp_peer.verify`).
bool OcspPeerEnabled(const config::v1::VerifierConfig& config);

// verifierd's rule, as in the reference: the `ocsp_cache` option is always validated, but a cache is
// created only when a profile enables OCSP peer verification; otherwise returns nullptr (no cache: the
// Cache service then reports cache_type "none"). An absent `ocsp_cache` means the defaults ("local").
absl::StatusOr<std::unique_ptr<OcspCache>> CreateOcspCacheForVerifier(const config::v1::VerifierConfig& config,
                                                                      std::shared_ptr<const Clock> clock);

}  // namespace sigil::cache

#endif  // SIGIL_CACHE_CACHE_FACTORY_H_
