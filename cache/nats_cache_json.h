// The NATS server's OCSP peer cache file, cache.json: reading one into CachedResponse values (for
// ImportNatsCache) and writing our cache in the same format (for ExportNatsCache), so that operators can
// move a cache between the reference server and verifierd.
//
// Format (the reference server's OCSPResponseCacheItem map, json.MarshalIndent):
//   { "<key>": { "subject": "CN=...",                  (omitted when empty)
//                "cached_at": "2023-06-05T23:13:15Z",   (RFC 3339)
//                "resp_status": "good" | "revoked" | "unknown",
//                "resp_expires": "2023-06-05T23:14:15Z",
//                "resp": "<standard base64 of an S2 stream of the DER OCSPResponse>" }, ... }
// where <key> is the certificate fingerprint (CacheKey: standard base64 of SHA-256 of the DER).
//
// What the parser deliberately does not check: the response itself. subject, resp_status and
// resp_expires are "non-normative" (the seed's word); they are returned as claimed, and the caller must
// validate response_der like a fetched response and take the status and expiry from it. The key cannot
// be checked without the certificate: a mis-keyed entry is caught when the response is validated again
// for the certificate being checked (CertID match).
//
// Thread-safety: pure functions.
#ifndef SIGIL_CACHE_NATS_CACHE_JSON_H_
#define SIGIL_CACHE_NATS_CACHE_JSON_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "cache/ocsp_cache.h"
#include "cache/s2.h"

namespace sigil::cache {

struct NatsCacheLimits {
  // Whole file.
  size_t max_file_bytes = 16 << 20;
  size_t max_entries = 100000;
  // One decoded (decompressed) DER response.
  size_t max_response_bytes = s2::kDefaultMaxDecodedSize;
};

struct ParsedNatsCache {
  // Entries that parsed: key, subject, cached_at, resp_status and resp_expires as claimed, response_der
  // decoded from `resp`. Issuer fields empty, cert_not_after InfiniteFuture. Sorted by key.
  std::vector<CachedResponse> entries;
  // One line per entry that did not parse: "<key>: <why>". Sorted by key.
  std::vector<std::string> rejections;
};

// Parses a cache.json. Whole-file errors are INVALID_ARGUMENT: larger than max_file_bytes, not a JSON
// object (the parser's message follows), more than max_entries entries. Per-entry problems become
// rejections: the key is not base64 of 32 bytes; the value is not an object; cached_at or resp_status
// missing or invalid; resp_expires present but invalid; resp missing, not base64, not a valid S2 stream
// or larger than max_response_bytes once decoded. Unknown fields in an entry are ignored, as the
// reference server ignores them.
absl::StatusOr<ParsedNatsCache> ParseNatsCacheJson(absl::string_view json, const NatsCacheLimits& limits = {});

// Writes `entries` as a cache.json the reference server loads: two-space indented, times in UTC RFC 3339
// ("Z"), resp = base64 of EncodeStream(response_der). Entries with an empty key are skipped. INTERNAL only
// if protobuf's JSON printer fails.
absl::StatusOr<std::string> SerializeNatsCacheJson(absl::Span<const CachedResponse> entries);

}  // namespace sigil::cache

#endif  // SIGIL_CACHE_NATS_CACHE_JSON_H_
