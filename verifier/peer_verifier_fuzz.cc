// libFuzzer entry point for certificate chains as VerifyPeer receives them (verifier/peer_verifier.h):
// chain decoding, the issued-by and OCSP-eligibility checks, and link evaluation against a responder that
// answers from the input. Built by tools/fuzz.sh with clang++-14 -fsanitize=fuzzer,address;
// //verifier:peer_verifier_fuzz_corpus_test replays verifier/testdata/peer_verifier_corpus/ on every test run.
//
// No network: the HttpFetcher returns the input's response bytes (or fails, per a flag) for every request,
// and the cache is the "none" cache, so every evaluation reaches the fetch and validation path.
//
// Input (tests/fuzz/fuzz_input.h framing): now (u64 Unix seconds), flags (u8: bit 0 unknown_is_good,
// bit 1 allow_when_ca_unreachable, bit 2 warn_only, bit 3 the responder fails, bit 4 peer_role SERVER,
// bit 5 peer_role unspecified), chain count (u8, mod 4), then per chain a link count (u8, mod 20) and that
// many certificate DER blobs, then the DER OCSPResponse the responder serves (the rest).
//
// Properties checked on every input: Verify never crashes; it fails only with INVALID_ARGUMENT; a result
// has one ChainResult per chain and one Link per certificate; a REVOKED link is never valid; a valid chain
// has only valid or NOT_CHECKED links; without warn_only the peer is allowed exactly when some chain is
// valid; a second Verify of the same request gives the same verdict.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cache/fake_clock.h"
#include "cache/none_cache.h"
#include "tests/fuzz/fuzz_input.h"
#include "verifier/ocsp/http_fetcher.h"
#include "verifier/peer_verifier.h"

namespace {

// Serves one fixed body (or one fixed failure) for every request.
class FixedFetcher final : public sigil::verifier::ocsp::HttpFetcher {
 public:
  FixedFetcher(std::string body, bool fail) : body_(std::move(body)), fail_(fail) {}
  absl::StatusOr<std::string> Fetch(const sigil::verifier::ocsp::HttpRequest& request) override {
    if (fail_) return absl::UnavailableError("fuzz responder down");
    if (body_.size() > request.max_response_bytes) return absl::ResourceExhaustedError("body too large");
    return body_;
  }

 private:
  const std::string body_;
  const bool fail_;
};

bool ChainsValid(const sigil::verifier::v1::VerifyPeerResponse& response) {
  for (const auto& chain : response.chains()) {
    if (chain.valid()) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace v1 = sigil::verifier::v1;
  sigil::testing::FuzzInput in(absl::string_view(reinterpret_cast<const char*>(data), size));
  const absl::Time now = absl::FromUnixSeconds(static_cast<int64_t>(in.Uint64() % (int64_t{1} << 40)));
  const uint8_t flags = in.Byte();
  v1::VerifyPeerRequest request;
  request.set_peer_role((flags & 32) != 0 ? v1::PEER_ROLE_UNSPECIFIED
                                          : (flags & 16) != 0 ? v1::SERVER : v1::CLIENT);
  const int chains = in.Byte() % 4;
  for (int c = 0; c < chains; ++c) {
    v1::Chain* chain = request.add_chains();
    const int links = in.Byte() % 20;
    for (int l = 0; l < links; ++l) {
      absl::string_view der = in.Blob();
      chain->add_certificates(der.data(), der.size());
    }
  }
  const std::string body(in.Rest());

  sigil::verifier::OcspPeerOptions options;
  options.verify = true;
  options.unknown_is_good = (flags & 1) != 0;
  options.allow_when_ca_unreachable = (flags & 2) != 0;
  options.warn_only = (flags & 4) != 0;
  auto verifier = sigil::verifier::PeerVerifier::Create(
      {{"default", options}}, std::make_shared<sigil::cache::NoneOcspCache>(),
      std::make_shared<FixedFetcher>(body, (flags & 8) != 0), std::make_shared<sigil::cache::FakeClock>(now));
  if (!verifier.ok()) std::abort();

  absl::StatusOr<v1::VerifyPeerResponse> result = (*verifier)->Verify(request);
  if (!result.ok()) {
    if (result.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  if (result->chains_size() != request.chains_size()) std::abort();
  for (int c = 0; c < request.chains_size(); ++c) {
    const v1::ChainResult& chain = result->chains(c);
    if (chain.links_size() != request.chains(c).certificates_size()) std::abort();
    for (const v1::Link& link : chain.links()) {
      if (link.status() == v1::REVOKED && link.valid()) std::abort();
      if (chain.valid() && !link.valid() && link.status() != v1::NOT_CHECKED) std::abort();
    }
  }
  if (!options.warn_only && result->allowed() != ChainsValid(*result)) std::abort();
  absl::StatusOr<v1::VerifyPeerResponse> again = (*verifier)->Verify(request);
  if (!again.ok() || again->allowed() != result->allowed()) std::abort();
  return 0;
}
