#include "cache/none_cache.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace sigil::cache {
namespace {

TEST(NoneOcspCacheTest, StoresNothingAndCountsMisses) {
  NoneOcspCache cache;
  CachedResponse response;
  response.key = CacheKey("cert");
  response.response_der = "der";
  response.resp_expires = absl::InfiniteFuture();
  ASSERT_TRUE(cache.Put(response).ok());

  auto got = cache.Get(response.key);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  ASSERT_TRUE(cache.Get("other").ok());

  auto purged = cache.Purge(PurgeFilter::All());
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 0);
  EXPECT_TRUE(cache.Delete(response.key).ok());
  EXPECT_TRUE(cache.Flush().ok());

  CacheStats stats = cache.Stats();
  EXPECT_EQ(stats.cache_type, "none");
  EXPECT_EQ(stats.cache_hits, 0);
  EXPECT_EQ(stats.cache_misses, 2);
  EXPECT_EQ(stats.cached_responses, 0);
  EXPECT_EQ(stats.cached_revoked_responses, 0);
  EXPECT_EQ(stats.cached_good_responses, 0);
  EXPECT_EQ(stats.cached_unknown_responses, 0);
}

TEST(NoneOcspCacheTest, PeekAndListAreEmpty) {
  NoneOcspCache cache;
  CachedResponse r;
  r.key = CacheKey("cert");
  ASSERT_TRUE(cache.Put(r).ok());
  auto peeked = cache.Peek(r.key);
  ASSERT_TRUE(peeked.ok());
  EXPECT_FALSE(peeked->has_value());
  auto all = cache.List(10);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
  EXPECT_EQ(cache.Stats().cache_misses, 0);
}

TEST(NoneOcspCacheTest, PutRejectsEmptyKey) {
  NoneOcspCache cache;
  EXPECT_EQ(cache.Put(CachedResponse{}).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sigil::cache
