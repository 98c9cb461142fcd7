#include "client/hash_ring.h"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/openssl_util.h"

namespace sigil::client {

uint64_t RingHash(absl::string_view bytes) {
  std::string digest = Digest(EVP_sha256(), bytes);
  uint64_t h = 0;
  for (size_t i = 0; i < 8 && i < digest.size(); ++i) h = (h << 8) | static_cast<uint8_t>(digest[i]);
  return h;
}

absl::StatusOr<std::unique_ptr<HashRing>> HashRing::Create(std::vector<std::string> endpoints, int virtual_nodes) {
  if (endpoints.empty()) return absl::InvalidArgumentError("hash ring: no endpoints");
  if (virtual_nodes < 1 || virtual_nodes > 1000) {
    return absl::InvalidArgumentError("hash ring: virtual_nodes must be between 1 and 1000");
  }
  for (const std::string& e : endpoints) {
    if (e.empty()) return absl::InvalidArgumentError("hash ring: empty endpoint");
  }
  std::sort(endpoints.begin(), endpoints.end());
  endpoints.erase(std::unique(endpoints.begin(), endpoints.end()), endpoints.end());
  std::vector<std::pair<uint64_t, int>> points;
  points.reserve(endpoints.size() * virtual_nodes);
  for (int i = 0; i < static_cast<int>(endpoints.size()); ++i) {
    for (int v = 0; v < virtual_nodes; ++v) points.emplace_back(RingHash(absl::StrCat(endpoints[i], "#", v)), i);
  }
  std::sort(points.begin(), points.end());
  return std::unique_ptr<HashRing>(new HashRing(std::move(endpoints), std::move(points)));
}

std::vector<std::string> HashRing::Order(absl::string_view key) const {
  uint64_t h = RingHash(key);
  auto it = std::lower_bound(points_.begin(), points_.end(), std::make_pair(h, 0));
  size_t start = static_cast<size_t>(it - points_.begin());
  std::vector<std::string> order;
  std::vector<bool> seen(endpoints_.size(), false);
  for (size_t n = 0; n < points_.size() && order.size() < endpoints_.size(); ++n) {
    int index = points_[(start + n) % points_.size()].second;
    if (seen[index]) continue;
    seen[index] = true;
    order.push_back(endpoints_[index]);
  }
  return order;
}

}  // namespace sigil::client
