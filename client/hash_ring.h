// Consistent hashing of certificates onto verifierd replicas.
//
// verifierd scales out as a StatefulSet; the client library sends every check of one certificate to one replica
// so the certificate's OCSP response is fetched and cached once per fleet. The key is the SHA-256 fingerprint of
// the leaf certificate's DER. gRPC 1.51 has a ring_hash load-balancing policy, but its request hash only comes
// from xDS route configuration (there is no per-call hash API without an xDS control plane), so this small ring
// is hand-written: each endpoint owns `virtual_nodes` points at SHA-256("<endpoint>#<i>"), a key goes to the first
// point at or after SHA-256 prefix of the key, and the following distinct endpoints on the ring are its fallbacks
// when the first is down. SHA-256 (not std::hash / absl::Hash, which vary between processes) makes every fleet
// server route a certificate to the same replica; adding or removing a replica moves only ~1/N of the keys.
//
// Endpoints are strings ("host:port"): a static list, or what client/discovery.h finds in DNS.
// HashRing is immutable after Create and safe to use from any thread.
#ifndef SIGIL_CLIENT_HASH_RING_H_
#define SIGIL_CLIENT_HASH_RING_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sigil::client {

class HashRing {
 public:
  // Builds the ring over `endpoints` (duplicates removed; order does not matter). INVALID_ARGUMENT for an empty
  // list, an empty endpoint, or virtual_nodes outside 1..1000.
  static absl::StatusOr<std::unique_ptr<HashRing>> Create(std::vector<std::string> endpoints,
                                                          int virtual_nodes = 100);

  // Every endpoint once, in the order to try for `key`: the owner first, then the next distinct endpoints
  // clockwise. `key` is any byte string; callers pass the raw SHA-256 of the leaf certificate DER.
  std::vector<std::string> Order(absl::string_view key) const;

  // The sorted, de-duplicated endpoints.
  const std::vector<std::string>& endpoints() const { return endpoints_; }

 private:
  HashRing(std::vector<std::string> endpoints, std::vector<std::pair<uint64_t, int>> points)
      : endpoints_(std::move(endpoints)), points_(std::move(points)) {}

  const std::vector<std::string> endpoints_;
  // (hash point, index into endpoints_), sorted by point.
  const std::vector<std::pair<uint64_t, int>> points_;
};

// First 8 bytes (big-endian) of SHA-256(`bytes`): the ring position of keys and points.
uint64_t RingHash(absl::string_view bytes);

}  // namespace sigil::client

#endif  // SIGIL_CLIENT_HASH_RING_H_
