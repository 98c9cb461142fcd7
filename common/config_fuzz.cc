// libFuzzer entry point for daemon configuration: the JSON loader (common/config.h) into SignerConfig and
// VerifierConfig, then the start-up validators that read those messages: the listener (common/
// tls_listener.h), verifierd's profiles (verifier/verifier_options.h), stapling (verifier/stapling/
// staple_options.h) and the ocsp_cache option (cache/cache_factory.h). Built by tools/fuzz.sh with
// clang++-14 -fsanitize=fuzzer,address; //common:config_fuzz_corpus_test replays common/testdata/config_corpus/
// through the same function on every test run.
//
// Input: the config file's bytes. Every file path a listener names is replaced by one of a fixture's files
// (a self-signed certificate and its key, written once to a temporary directory), so the validators read
// real PEM instead of arbitrary local files and go on to check the remaining options.
//
// Not covered: signerd's identities (IdentitySet::Create opens key stores and files) and the advisories
// option (its validator lives with the NATS publisher).
//
// Properties checked on every input: nothing crashes; parsing fails only with INVALID_ARGUMENT; each
// validator fails only with INVALID_ARGUMENT (the listener also NOT_FOUND / FAILED_PRECONDITION for its
// files, as documented); a config that parsed is accepted again after a print/parse round trip through
// protobuf's JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "cache/cache_factory.h"
#include "common/config.h"
#include "common/tls_listener.h"
#include "google/protobuf/util/json_util.h"
#include "sigil/config/v1/signer.pb.h"
#include "sigil/config/v1/verifier.pb.h"
#include "tests/pki/test_pki.h"
#include "verifier/stapling/staple_options.h"
#include "verifier/verifier_options.h"

namespace {

struct Fixture {
  std::string cert_file;
  std::string key_file;
};

const Fixture& GetFixture() {
  static const Fixture* fixture = [] {
    std::string dir_template = std::string(getenv("TEST_TMPDIR") != nullptr ? getenv("TEST_TMPDIR") : "/tmp") +
                               "/sigil-config-fuzz.XXXXXX";
    if (mkdtemp(dir_template.data()) == nullptr) std::abort();
    sigil::testing::CertSpec spec;
    spec.subject = {{"CN", "config-fuzz"}};
    spec.is_ca = true;
    absl::StatusOr<sigil::testing::Issued> issued =
        sigil::testing::SelfSigned(spec, sigil::testing::KeySpec::Ec());
    if (!issued.ok()) std::abort();
    auto* f = new Fixture{dir_template + "/cert.pem", dir_template + "/key.pem"};
    if (!sigil::testing::WriteFile(f->cert_file, issued->CertPem()).ok()) std::abort();
    if (!sigil::testing::WriteFile(f->key_file, issued->KeyPem()).ok()) std::abort();
    return f;
  }();
  return *fixture;
}

void CheckCode(const absl::Status& status, bool files) {
  if (status.ok() || status.code() == absl::StatusCode::kInvalidArgument) return;
  if (files && (status.code() == absl::StatusCode::kNotFound ||
                status.code() == absl::StatusCode::kFailedPrecondition)) {
    return;
  }
  std::abort();
}

void CheckListener(sigil::config::v1::Listener listener) {
  const Fixture& fixture = GetFixture();
  sigil::config::v1::TlsMap* tls = listener.mutable_tls();
  if (!tls->cert_file().empty()) tls->set_cert_file(fixture.cert_file);
  if (!tls->key_file().empty()) tls->set_key_file(fixture.key_file);
  if (!tls->ca_file().empty()) tls->set_ca_file(fixture.cert_file);
  CheckCode(sigil::ValidateListener(listener).status(), /*files=*/true);
}

// Printing what parsed and parsing it again must give a message the loader accepts.
void CheckRoundTrip(const google::protobuf::Message& message, google::protobuf::Message* scratch) {
  std::string json;
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(message, &json, print).ok()) std::abort();
  if (!sigil::ParseJsonConfig(json, "round trip", scratch).ok()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view json(reinterpret_cast<const char*>(data), size);

  sigil::config::v1::SignerConfig signer;
  absl::Status status = sigil::ParseJsonConfig(json, "fuzz", &signer);
  CheckCode(status, /*files=*/false);
  if (status.ok()) {
    sigil::config::v1::SignerConfig scratch;
    CheckRoundTrip(signer, &scratch);
    CheckListener(signer.listener());
  }

  sigil::config::v1::VerifierConfig verifier;
  status = sigil::ParseJsonConfig(json, "fuzz", &verifier);
  CheckCode(status, /*files=*/false);
  if (!status.ok()) return 0;
  sigil::config::v1::VerifierConfig scratch;
  CheckRoundTrip(verifier, &scratch);
  CheckListener(verifier.listener());
  CheckCode(sigil::verifier::ValidateVerifierConfig(verifier).status(), /*files=*/false);
  CheckCode(sigil::verifier::stapling::ValidateStaplingConfig(verifier).status(), /*files=*/false);
  CheckCode(sigil::cache::ValidateOcspCacheOptions(verifier.ocsp_cache()).status(), /*files=*/false);
  return 0;
}
