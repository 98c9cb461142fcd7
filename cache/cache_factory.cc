#include "cache/cache_factory.h"

#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "cache/none_cache.h"
#include "common/status_macros.h"

namespace sigil::cache {

absl::StatusOr<OcspCacheOptions> ValidateOcspCacheOptions(const config::v1::OcspCache& options) {
  OcspCacheOptions out;
  const std::string type = absl::AsciiStrToLower(options.type());
  if (type.empty() || type == "local") {
    out.type = OcspCacheOptions::Type::kLocal;
  } else if (type == "none") {
    out.type = OcspCacheOptions::Type::kNone;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("error parsing OCSP peer cache config, unknown type [", options.type(),
                     "]: ocsp_cache.type must be \"local\" or \"none\""));
  }
  out.local.local_store = options.local_store().empty() ? "_rc_" : options.local_store();
  out.local.preserve_revoked = options.preserve_revoked();
  if (options.has_save_interval()) {
    const double seconds = options.save_interval();
    if (!std::isfinite(seconds)) {
      return absl::InvalidArgumentError("ocsp_cache.save_interval must be a finite number of seconds");
    }
    if (seconds < 1.0) {
      return absl::InvalidArgumentError(
          absl::StrCat("ocsp_cache.save_interval must be at least 1 second (got ", seconds, ")"));
    }
    out.local.save_interval = absl::Seconds(seconds);
  } else {
    out.local.save_interval = absl::Seconds(300);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<OcspCache>> CreateOcspCache(const config::v1::OcspCache& options,
                                                           std::shared_ptr<const Clock> clock) {
  SIGIL_ASSIGN_OR_RETURN(OcspCacheOptions validated, ValidateOcspCacheOptions(options));
  if (validated.type == OcspCacheOptions::Type::kNone) return std::make_unique<NoneOcspCache>();
  SIGIL_ASSIGN_OR_RETURN(std::unique_ptr<RocksDbOcspCache> local,
                         RocksDbOcspCache::Create(validated.local, std::move(clock)));
  return std::unique_ptr<OcspCache>(std::move(local));
}

bool OcspPeerEnabled(const config::v1::VerifierConfig& config) {
  for (const auto& [name, profile] : config.profiles()) {
    if (profile.ocsp_peer().verify()) return true;
  }
  return false;
}

absl::StatusOr<std::unique_ptr<OcspCache>> CreateOcspCacheForVerifier(const config::v1::VerifierConfig& config,
                                                                      std::shared_ptr<const Clock> clock) {
  SIGIL_ASSIGN_OR_RETURN(OcspCacheOptions validated, ValidateOcspCacheOptions(config.ocsp_cache()));
  (void)validated;
  if (!OcspPeerEnabled(config)) return std::unique_ptr<OcspCache>();
  return CreateOcspCache(config.ocsp_cache(), std::move(clock));
}

}  // namespace sigil::cache
