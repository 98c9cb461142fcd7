#include "cache/ocsp_cache.h"

#include <openssl/sha.h>

#include "absl/strings/escaping.h"

namespace sigil::cache {

absl::string_view ResponseStatusName(CachedResponse::Status status) {
  switch (status) {
    case CachedResponse::Status::kGood:
      return "good";
    case CachedResponse::Status::kRevoked:
      return "revoked";
    case CachedResponse::Status::kUnknown:
      return "unknown";
  }
  return "unknown";
}

std::string CacheKey(absl::string_view cert_der) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(cert_der.data()), cert_der.size(), digest);
  return absl::Base64Escape(absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

}  // namespace sigil::cache
