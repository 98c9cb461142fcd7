#include "cache/ocsp_cache.h"

#include "gtest/gtest.h"

namespace sigil::cache {
namespace {

TEST(CacheKeyTest, IsStandardBase64OfSha256) {
  // SHA-256 of the empty string.
  EXPECT_EQ(CacheKey(""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  EXPECT_EQ(CacheKey("abc"), "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
}

TEST(ResponseStatusNameTest, UsesReferenceNames) {
  EXPECT_EQ(ResponseStatusName(CachedResponse::Status::kGood), "good");
  EXPECT_EQ(ResponseStatusName(CachedResponse::Status::kRevoked), "revoked");
  EXPECT_EQ(ResponseStatusName(CachedResponse::Status::kUnknown), "unknown");
}

}  // namespace
}  // namespace sigil::cache
