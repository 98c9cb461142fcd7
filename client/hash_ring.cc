#include "client/hash_ring.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>
#include <set>

#include "absl/strings/numbers.h"
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

absl::StatusOr<std::vector<std::string>> ResolveEndpoints(absl::string_view name_and_port) {
  size_t colon = name_and_port.rfind(':');
  int port = 0;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(name_and_port.substr(colon + 1), &port) || port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("\"", name_and_port, "\" is not name:port"));
  }
  std::string host(name_and_port.substr(0, colon));
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &raw);
  if (rc != 0) return absl::UnavailableError(absl::StrCat("cannot resolve ", host, ": ", gai_strerror(rc)));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> result(raw, &freeaddrinfo);
  std::set<std::string> out;
  for (addrinfo* ai = result.get(); ai != nullptr; ai = ai->ai_next) {
    char text[INET_ADDRSTRLEN] = {};
    const auto* sin = reinterpret_cast<const sockaddr_in*>(ai->ai_addr);
    if (inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text)) != nullptr) out.insert(absl::StrCat(text, ":", port));
  }
  if (out.empty()) return absl::UnavailableError(absl::StrCat(host, " has no IPv4 address"));
  return std::vector<std::string>(out.begin(), out.end());
}

}  // namespace sigil::client
