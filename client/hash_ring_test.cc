#include "client/hash_ring.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sigil::client {
namespace {

using ::testing::UnorderedElementsAreArray;

std::vector<std::string> Replicas(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(absl::StrCat("10.0.0.", i + 1, ":7444"));
  return out;
}

TEST(HashRingTest, RejectsBadInput) {
  EXPECT_EQ(HashRing::Create({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HashRing::Create({""}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HashRing::Create({"a:1"}, 0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(HashRingTest, OrderListsEveryEndpointOnceAndIsStable) {
  auto ring = HashRing::Create(Replicas(5));
  ASSERT_TRUE(ring.ok());
  for (int k = 0; k < 50; ++k) {
    std::string key = absl::StrCat("certificate-", k);
    std::vector<std::string> order = (*ring)->Order(key);
    EXPECT_THAT(order, UnorderedElementsAreArray(Replicas(5)));
    EXPECT_EQ((*ring)->Order(key), order);
  }
}

TEST(HashRingTest, SameKeySameOwnerWhateverTheListOrder) {
  std::vector<std::string> a = Replicas(4);
  std::vector<std::string> b = {a[2], a[0], a[3], a[1], a[0]};  // shuffled, with a duplicate
  auto ring_a = HashRing::Create(a);
  auto ring_b = HashRing::Create(b);
  ASSERT_TRUE(ring_a.ok() && ring_b.ok());
  EXPECT_EQ((*ring_b)->endpoints(), (*ring_a)->endpoints());
  for (int k = 0; k < 50; ++k) {
    std::string key = absl::StrCat("k", k);
    EXPECT_EQ((*ring_a)->Order(key), (*ring_b)->Order(key));
  }
}

TEST(HashRingTest, KeysSpreadOverReplicas) {
  auto ring = HashRing::Create(Replicas(3));
  ASSERT_TRUE(ring.ok());
  std::map<std::string, int> owners;
  for (int k = 0; k < 3000; ++k) owners[(*ring)->Order(absl::StrCat("cert", k))[0]]++;
  ASSERT_EQ(owners.size(), 3u);
  // 100 virtual nodes each: every replica owns a fair share (expected 1000; far from 0 or 3000).
  for (const auto& [endpoint, n] : owners) EXPECT_GT(n, 500) << endpoint;
}

TEST(HashRingTest, RemovingAReplicaMovesOnlyItsKeysToTheirNextReplica) {
  std::vector<std::string> all = Replicas(4);
  auto full = HashRing::Create(all);
  std::vector<std::string> without = {all[0], all[1], all[3]};
  auto reduced = HashRing::Create(without);
  ASSERT_TRUE(full.ok() && reduced.ok());
  int moved = 0;
  for (int k = 0; k < 1000; ++k) {
    std::string key = absl::StrCat("cert", k);
    std::vector<std::string> order = (*full)->Order(key);
    std::string now = (*reduced)->Order(key)[0];
    if (order[0] == all[2]) {
      // The removed replica's keys go to the replica the full ring lists next for them.
      EXPECT_EQ(now, order[1]);
      ++moved;
    } else {
      EXPECT_EQ(now, order[0]);
    }
  }
  EXPECT_GT(moved, 0);
}

TEST(HashRingTest, RingHashIsSha256Prefix) {
  // SHA-256("abc") = ba7816bf8f01cfea...
  EXPECT_EQ(RingHash("abc"), 0xba7816bf8f01cfeaULL);
}

}  // namespace
}  // namespace sigil::client
