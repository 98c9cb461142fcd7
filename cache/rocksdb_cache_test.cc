#include "cache/rocksdb_cache.h"

#include <cstdlib>
#include <filesystem>

#include "absl/strings/match.h"
#include "cache/fake_clock.h"
#include "cache/rocksdb_status.h"
#include "gtest/gtest.h"

namespace sigil::cache {
namespace {

using ResponseStatus = CachedResponse::Status;

const absl::Time kStart = absl::FromUnixSeconds(1686006795);  // 2023-06-05T23:13:15Z

class RocksDbOcspCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    ASSERT_NE(tmp, nullptr);
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::string(tmp) + "/" + info->name();
    std::filesystem::remove_all(dir_);
    clock_ = std::make_shared<FakeClock>(kStart);
  }

  std::unique_ptr<RocksDbOcspCache> Open(bool preserve_revoked = false) {
    RocksDbOcspCacheOptions options;
    options.local_store = dir_;
    options.preserve_revoked = preserve_revoked;
    auto cache = RocksDbOcspCache::Create(options, clock_);
    EXPECT_TRUE(cache.ok()) << cache.status();
    return cache.ok() ? std::move(cache).value() : nullptr;
  }

  CachedResponse Entry(const std::string& cert, ResponseStatus status, absl::Duration ttl) {
    CachedResponse r;
    r.key = CacheKey(cert);
    r.response_der = "der-of-" + cert;
    r.subject = "CN=" + cert + ",O=Tinghus";
    r.cached_at = clock_->Now();
    r.resp_status = status;
    r.resp_expires = clock_->Now() + ttl;
    r.issuer_fingerprint = CacheKey("issuer");
    r.issuer_subject = "CN=Intermediate CA,O=Tinghus";
    return r;
  }

  std::string dir_;
  std::shared_ptr<FakeClock> clock_;
};

TEST_F(RocksDbOcspCacheTest, PutGetMissAndStats) {
  auto cache = Open();
  ASSERT_NE(cache, nullptr);
  CachedResponse good = Entry("good", ResponseStatus::kGood, absl::Minutes(1));
  good.cert_not_after = kStart + absl::Hours(24 * 365);
  ASSERT_TRUE(cache->Put(good).ok());
  ASSERT_TRUE(cache->Put(Entry("revoked", ResponseStatus::kRevoked, absl::Minutes(1))).ok());
  ASSERT_TRUE(cache->Put(Entry("unknown", ResponseStatus::kUnknown, absl::Minutes(1))).ok());
  ASSERT_TRUE(cache->Put(Entry("good2", ResponseStatus::kGood, absl::Minutes(1))).ok());

  auto got = cache->Get(good.key);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  const CachedResponse& r = **got;
  EXPECT_EQ(r.key, good.key);
  EXPECT_EQ(r.response_der, good.response_der);
  EXPECT_EQ(r.subject, good.subject);
  EXPECT_EQ(r.cached_at, good.cached_at);
  EXPECT_EQ(r.resp_status, ResponseStatus::kGood);
  EXPECT_EQ(r.resp_expires, good.resp_expires);
  EXPECT_EQ(r.issuer_fingerprint, good.issuer_fingerprint);
  EXPECT_EQ(r.issuer_subject, good.issuer_subject);
  EXPECT_EQ(r.cert_not_after, good.cert_not_after);

  auto missing = cache->Get(CacheKey("absent"));
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  CacheStats stats = cache->Stats();
  EXPECT_EQ(stats.cache_type, "local");
  EXPECT_EQ(stats.cache_hits, 1);
  EXPECT_EQ(stats.cache_misses, 1);
  EXPECT_EQ(stats.cached_responses, 4);
  EXPECT_EQ(stats.cached_revoked_responses, 1);
  EXPECT_EQ(stats.cached_good_responses, 2);
  EXPECT_EQ(stats.cached_unknown_responses, 1);

  // Replacing an entry moves it between counts instead of adding one.
  ASSERT_TRUE(cache->Put(Entry("good2", ResponseStatus::kRevoked, absl::Minutes(1))).ok());
  stats = cache->Stats();
  EXPECT_EQ(stats.cached_responses, 4);
  EXPECT_EQ(stats.cached_revoked_responses, 2);
  EXPECT_EQ(stats.cached_good_responses, 1);

  auto purged = cache->Purge(PurgeFilter::ByStatus(ResponseStatus::kRevoked));
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 2);
  purged = cache->Purge(PurgeFilter::All());
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 2);
  stats = cache->Stats();
  EXPECT_EQ(stats.cached_responses, 0);
  EXPECT_EQ(stats.cached_good_responses, 0);
  EXPECT_EQ(stats.cached_unknown_responses, 0);
  ASSERT_TRUE(cache->Flush().ok());
}

TEST_F(RocksDbOcspCacheTest, ExpiredGoodEntryIsMissAndRemoved) {
  auto cache = Open();
  ASSERT_NE(cache, nullptr);
  CachedResponse good = Entry("good", ResponseStatus::kGood, absl::Minutes(1));
  CachedResponse revoked = Entry("revoked", ResponseStatus::kRevoked, absl::Minutes(1));
  ASSERT_TRUE(cache->Put(good).ok());
  ASSERT_TRUE(cache->Put(revoked).ok());
  clock_->Advance(absl::Minutes(2));

  auto got = cache->Get(good.key);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  // An expired revocation is still returned.
  got = cache->Get(revoked.key);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->has_value());

  CacheStats stats = cache->Stats();
  EXPECT_EQ(stats.cache_hits, 1);
  EXPECT_EQ(stats.cache_misses, 1);
  EXPECT_EQ(stats.cached_responses, 1);
  EXPECT_EQ(stats.cached_good_responses, 0);
  // Removed, not merely hidden: going back in time does not bring it back.
  clock_->Set(kStart);
  got = cache->Get(good.key);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
}

TEST_F(RocksDbOcspCacheTest, PreserveRevokedKeepsRevokedUntilReplaced) {
  auto cache = Open(/*preserve_revoked=*/true);
  ASSERT_NE(cache, nullptr);
  CachedResponse revoked = Entry("revoked", ResponseStatus::kRevoked, absl::Minutes(1));
  CachedResponse good = Entry("good", ResponseStatus::kGood, absl::Minutes(1));
  ASSERT_TRUE(cache->Put(revoked).ok());
  ASSERT_TRUE(cache->Put(good).ok());

  EXPECT_TRUE(cache->Delete(revoked.key).ok());
  auto purged = cache->Purge(PurgeFilter::ByKey(revoked.key));
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 0);
  purged = cache->Purge(PurgeFilter::All());
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 1);  // only the good one
  auto got = cache->Get(revoked.key);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->resp_status, ResponseStatus::kRevoked);

  clock_->Advance(absl::Minutes(5));
  CachedResponse newer = Entry("revoked", ResponseStatus::kGood, absl::Minutes(1));
  newer.response_der = "newer-der";
  ASSERT_TRUE(cache->Put(newer).ok());
  got = cache->Get(revoked.key);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->resp_status, ResponseStatus::kGood);
  EXPECT_EQ((*got)->response_der, "newer-der");
  EXPECT_TRUE(cache->Delete(revoked.key).ok());
  got = cache->Get(revoked.key);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  EXPECT_EQ(cache->Stats().cached_responses, 0);
}

TEST_F(RocksDbOcspCacheTest, CompactionFilterDropsExpiredEntries) {
  auto cache = Open();
  ASSERT_NE(cache, nullptr);
  CachedResponse good = Entry("good", ResponseStatus::kGood, absl::Minutes(1));
  CachedResponse revoked = Entry("revoked", ResponseStatus::kRevoked, absl::Minutes(1));
  revoked.cert_not_after = kStart + absl::Hours(1);
  ASSERT_TRUE(cache->Put(good).ok());
  ASSERT_TRUE(cache->Put(revoked).ok());

  clock_->Advance(absl::Minutes(2));
  ASSERT_TRUE(cache->CompactRange().ok());
  CacheStats stats = cache->Stats();
  EXPECT_EQ(stats.cached_responses, 1);
  EXPECT_EQ(stats.cached_good_responses, 0);
  EXPECT_EQ(stats.cached_revoked_responses, 1);
  clock_->Set(kStart);  // the good entry is gone from disk, not only expired
  auto got = cache->Get(good.key);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  got = cache->Get(revoked.key);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->has_value());

  clock_->Set(kStart + absl::Hours(2));
  ASSERT_TRUE(cache->CompactRange().ok());
  EXPECT_EQ(cache->Stats().cached_responses, 0);
  got = cache->Get(revoked.key);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
}

TEST_F(RocksDbOcspCacheTest, ReopenKeepsEntries) {
  CachedResponse good = Entry("good", ResponseStatus::kGood, absl::Hours(1));
  CachedResponse revoked = Entry("revoked", ResponseStatus::kRevoked, absl::Hours(1));
  {
    auto cache = Open();
    ASSERT_NE(cache, nullptr);
    ASSERT_TRUE(cache->Put(good).ok());
    ASSERT_TRUE(cache->Put(revoked).ok());
  }
  auto cache = Open();
  ASSERT_NE(cache, nullptr);
  CacheStats stats = cache->Stats();
  EXPECT_EQ(stats.cached_responses, 2);
  EXPECT_EQ(stats.cached_good_responses, 1);
  EXPECT_EQ(stats.cached_revoked_responses, 1);
  EXPECT_EQ(stats.cache_hits, 0);
  auto got = cache->Get(good.key);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->response_der, good.response_der);
}

TEST_F(RocksDbOcspCacheTest, SecondOpenOfSameDirectoryFails) {
  auto first = Open();
  ASSERT_NE(first, nullptr);
  RocksDbOcspCacheOptions options;
  options.local_store = dir_;
  auto second = RocksDbOcspCache::Create(options, clock_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StartsWith(second.status().message(),
                               "OCSP cache directory " + dir_ + " is already in use by another open cache"))
      << second.status();
}

TEST_F(RocksDbOcspCacheTest, SaveIntervalBelowOneSecondIsRejected) {
  RocksDbOcspCacheOptions options;
  options.local_store = dir_;
  options.save_interval = absl::Milliseconds(999);
  auto cache = RocksDbOcspCache::Create(options, clock_);
  ASSERT_FALSE(cache.ok());
  EXPECT_EQ(cache.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cache.status().message(), "save_interval must be at least 1 second");
  options.save_interval = absl::Seconds(1);
  EXPECT_TRUE(RocksDbOcspCache::Create(options, clock_).ok());
}

TEST_F(RocksDbOcspCacheTest, PeekAndListCountNothingAndKeepExpiredEntries) {
  auto cache = Open();
  ASSERT_NE(cache, nullptr);
  CachedResponse good = Entry("good", ResponseStatus::kGood, absl::Minutes(1));
  CachedResponse revoked = Entry("revoked", ResponseStatus::kRevoked, absl::Minutes(1));
  ASSERT_TRUE(cache->Put(good).ok());
  ASSERT_TRUE(cache->Put(revoked).ok());
  clock_->Advance(absl::Minutes(2));  // Both responses expired.

  auto peeked = cache->Peek(good.key);
  ASSERT_TRUE(peeked.ok()) << peeked.status();
  ASSERT_TRUE(peeked->has_value());
  EXPECT_EQ((*peeked)->response_der, good.response_der);
  auto absent = cache->Peek(CacheKey("absent"));
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());

  auto all = cache->List(10);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_LT((*all)[0].key, (*all)[1].key);
  auto too_many = cache->List(1);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kResourceExhausted);

  CacheStats stats = cache->Stats();
  EXPECT_EQ(stats.cache_hits, 0);
  EXPECT_EQ(stats.cache_misses, 0);
  EXPECT_EQ(stats.cached_responses, 2);
}

TEST(FromRocksDbStatusTest, KeepsRocksDbMessage) {
  EXPECT_TRUE(FromRocksDbStatus(rocksdb::Status::OK(), "x").ok());
  absl::Status s = FromRocksDbStatus(rocksdb::Status::Corruption("bad block"), "reading");
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(s.message(), "reading: Corruption: bad block");
  EXPECT_EQ(FromRocksDbStatus(rocksdb::Status::IOError("disk"), "w").code(), absl::StatusCode::kInternal);
  EXPECT_EQ(FromRocksDbStatus(rocksdb::Status::Busy(), "w").code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sigil::cache
