// libFuzzer entry point for the S2 decoder (cache/s2.h). Built by tools/fuzz.sh with
// clang++-14 -fsanitize=fuzzer,address; //cache:s2_fuzz_corpus_test replays cache/testdata/s2_corpus/
// through the same function on every test run.
//
// Properties checked on every input: decoding as a stream and as a block never crashes, never returns
// more than the limit, and whatever decodes survives an EncodeStream/DecodeStream round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "cache/s2.h"

namespace {

constexpr size_t kFuzzLimit = 256 * 1024;

void CheckRoundTrip(const std::string& decoded) {
  if (decoded.size() > kFuzzLimit) std::abort();
  absl::StatusOr<std::string> again =
      sigil::cache::s2::DecodeStream(sigil::cache::s2::EncodeStream(decoded), kFuzzLimit);
  if (!again.ok() || *again != decoded) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::string> stream = sigil::cache::s2::DecodeStream(input, kFuzzLimit);
  if (stream.ok()) CheckRoundTrip(*stream);
  absl::StatusOr<std::string> block = sigil::cache::s2::DecodeBlock(input, kFuzzLimit);
  if (block.ok()) CheckRoundTrip(*block);
  return 0;
}
