// Test helpers for S2 streams (testonly): chunk builders and the seed's example cache.json.
#ifndef SIGIL_CACHE_S2_TEST_UTIL_H_
#define SIGIL_CACHE_S2_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace sigil::cache::s2::testing {

// The S2 stream identifier chunk.
inline const std::string kS2Identifier = std::string("\xff\x06\x00\x00" "S2sTwO", 10);

// One chunk: type, 3-byte little-endian length, body.
std::string Chunk(uint8_t type, absl::string_view body);

// The body of a data chunk: the little-endian masked CRC-32C of `data`, then `data`.
std::string WithCrc(absl::string_view data);

// A compressed-data chunk holding `block`, whose decoded form is `decoded` (for the CRC).
std::string CompressedChunk(absl::string_view block, absl::string_view decoded);

// Path of the seed's example cache.json (three real NATS-server entries), relative to the test's working
// directory.
inline constexpr char kSeedCacheJsonPath[] = "cache/testdata/nats_cache_seed.json";

// (key, resp) of every entry of the seed's example cache.json; fails the test when unreadable.
std::vector<std::pair<std::string, std::string>> ReadSeedCacheJson();

}  // namespace sigil::cache::s2::testing

#endif  // SIGIL_CACHE_S2_TEST_UTIL_H_
