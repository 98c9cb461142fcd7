// libFuzzer entry point for importing a NATS cache.json (cache/nats_cache_json.h) with verifierd's import
// validation (verifier/import_validator.h), the path ImportNatsCache takes. Built by tools/fuzz.sh with
// clang++-14 -fsanitize=fuzzer,address; //verifier:nats_import_fuzz_corpus_test replays
// verifier/testdata/nats_import_corpus/ through the same function on every test run.
//
// Input (tests/fuzz/fuzz_input.h framing): now (u64 Unix seconds), the issuer's DER, then the cache.json
// text (the rest). The seeds (tests/fuzz/make_fuzz_corpora.cc) are files our exporter wrote for real
// test-PKI responses, plus the reference-format seed in cache/testdata.
//
// Properties checked on every input: parsing never crashes and fails only with INVALID_ARGUMENT; entries
// are sorted by key and hold at most max_response_bytes of DER; what parsed serializes and parses again to
// the same entries without rejections; validation fails only with INVALID_ARGUMENT or FAILED_PRECONDITION
// and, when it succeeds, keeps key, subject and response bytes and names the issuer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cache/nats_cache_json.h"
#include "tests/fuzz/fuzz_input.h"
#include "verifier/import_validator.h"

namespace {

// Validating is a signature check per entry; a few are enough to reach every branch.
constexpr size_t kMaxValidatedEntries = 8;

bool SameEntry(const sigil::cache::CachedResponse& a, const sigil::cache::CachedResponse& b) {
  return a.key == b.key && a.response_der == b.response_der && a.subject == b.subject &&
         a.resp_status == b.resp_status;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sigil::testing::FuzzInput in(absl::string_view(reinterpret_cast<const char*>(data), size));
  const absl::Time now = absl::FromUnixSeconds(static_cast<int64_t>(in.Uint64() % (int64_t{1} << 40)));
  const std::vector<std::string> issuers = {std::string(in.Blob())};
  sigil::cache::NatsCacheLimits limits;
  limits.max_entries = 1000;
  absl::StatusOr<sigil::cache::ParsedNatsCache> parsed = sigil::cache::ParseNatsCacheJson(in.Rest(), limits);
  if (!parsed.ok()) {
    if (parsed.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  for (size_t i = 0; i < parsed->entries.size(); ++i) {
    if (parsed->entries[i].response_der.size() > limits.max_response_bytes) std::abort();
    if (i > 0 && !(parsed->entries[i - 1].key < parsed->entries[i].key)) std::abort();
  }

  absl::StatusOr<std::string> json = sigil::cache::SerializeNatsCacheJson(parsed->entries);
  if (!json.ok()) std::abort();
  absl::StatusOr<sigil::cache::ParsedNatsCache> again = sigil::cache::ParseNatsCacheJson(*json, limits);
  if (!again.ok() || !again->rejections.empty() || again->entries.size() != parsed->entries.size()) std::abort();
  for (size_t i = 0; i < parsed->entries.size(); ++i) {
    if (!SameEntry(parsed->entries[i], again->entries[i])) std::abort();
  }

  sigil::verifier::OcspImportValidator validator;
  for (size_t i = 0; i < parsed->entries.size() && i < kMaxValidatedEntries; ++i) {
    const sigil::cache::CachedResponse& claimed = parsed->entries[i];
    absl::StatusOr<sigil::cache::CachedResponse> valid = validator.Validate(claimed, issuers, now);
    if (!valid.ok()) {
      const absl::StatusCode code = valid.status().code();
      if (code != absl::StatusCode::kInvalidArgument && code != absl::StatusCode::kFailedPrecondition) std::abort();
      continue;
    }
    if (valid->key != claimed.key || valid->subject != claimed.subject ||
        valid->response_der != claimed.response_der || valid->issuer_fingerprint.empty()) {
      std::abort();
    }
  }
  return 0;
}
