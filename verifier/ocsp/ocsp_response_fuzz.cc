// libFuzzer entry point for OCSP response parsing and validation (verifier/ocsp/ocsp_response.h). Built by
// tools/fuzz.sh with clang++-14 -fsanitize=fuzzer,address; //verifier/ocsp:ocsp_response_fuzz_corpus_test
// replays verifier/ocsp/testdata/ocsp_response_corpus/ through the same function on every test run.
//
// Input (tests/fuzz/fuzz_input.h framing): now (u64 Unix seconds), flags (u8: bit 0 = no certificate,
// validate against the issuer only; bit 1 = skip the effectivity window), the issuer's DER, the
// certificate's DER, then the DER OCSPResponse (the rest). The seeds (tests/fuzz/make_fuzz_corpora.cc) hold
// real test-PKI certificates and responses signed by their issuers or delegated responders, so mutations
// reach the signature, CertID and time checks.
//
// Properties checked on every input: ValidateResponse never crashes; an error has one of the documented
// codes; an accepted response honours the documented window (this_update <= now + skew, expires >=
// now - skew when the window is checked) and expires is next_update or this_update + TTL.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/openssl_util.h"
#include "tests/fuzz/fuzz_input.h"
#include "verifier/ocsp/ocsp_response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sigil::testing::FuzzInput in(absl::string_view(reinterpret_cast<const char*>(data), size));
  const absl::Time now = absl::FromUnixSeconds(static_cast<int64_t>(in.Uint64() % (int64_t{1} << 40)));
  const uint8_t flags = in.Byte();
  absl::StatusOr<sigil::X509Ptr> issuer = sigil::ParseDerCertificate(in.Blob());
  absl::StatusOr<sigil::X509Ptr> cert = sigil::ParseDerCertificate(in.Blob());
  if (!issuer.ok()) return 0;  // ValidateResponse requires an issuer.
  X509* cert_arg = nullptr;
  if ((flags & 1) == 0) {
    if (!cert.ok()) return 0;
    cert_arg = cert->get();
  }
  sigil::verifier::ocsp::ValidationOptions options;
  options.check_effectivity = (flags & 2) == 0;
  absl::StatusOr<sigil::verifier::ocsp::ValidatedResponse> v =
      sigil::verifier::ocsp::ValidateResponse(in.Rest(), cert_arg, issuer->get(), now, options);
  if (!v.ok()) {
    const absl::StatusCode code = v.status().code();
    if (code != absl::StatusCode::kInvalidArgument && code != absl::StatusCode::kFailedPrecondition) std::abort();
    return 0;
  }
  if (v->expires != v->next_update.value_or(v->this_update + options.ttl_when_next_update_unset)) std::abort();
  if (options.check_effectivity) {
    if (v->this_update > now + options.allowed_clockskew) std::abort();
    if (v->expires < now - options.allowed_clockskew) std::abort();
  }
  return 0;
}
