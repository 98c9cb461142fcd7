// The KeyStore conformance suite: one parameterized GoogleTest suite every KeyStore backend passes.
//
// It provisions keys and certificates through the backend's StoreFixture and then checks, through the
// backend's KeyStore and the shared matching code (signer/matching.h): the Certificate Store ADR's
// Subject/Issuer match table, Thumbprint matching, cert_match_skip_invalid, the deterministic choice
// between several matches, chain assembly from the store's CA certificates, and every signature scheme
// the key supports, verified with OpenSSL.
//
// A backend's test instantiates it:
//
//   using ::sigil::signer::testing::KeyStoreConformanceTest;  // the macro needs an unqualified name
//   INSTANTIATE_TEST_SUITE_P(SoftHsm2, KeyStoreConformanceTest,
//                            ::testing::Values(ConformanceParam{"SoftHSM2", &MakeSoftHsmFixture}),
//                            ConformanceParamName);
//
// and depends on //signer/stores/testing:keystore_conformance (alwayslink, so the TEST_Ps register).
#ifndef SIGIL_SIGNER_STORES_TESTING_KEYSTORE_CONFORMANCE_H_
#define SIGIL_SIGNER_STORES_TESTING_KEYSTORE_CONFORMANCE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "signer/stores/testing/store_fixture.h"

namespace sigil::signer::testing {

struct ConformanceParam {
  // Backend name used in test names (letters and digits only).
  std::string name;
  // Makes a fresh fixture (an empty store) for one test.
  std::function<absl::StatusOr<std::unique_ptr<StoreFixture>>()> make_fixture;
};

inline std::string ConformanceParamName(const ::testing::TestParamInfo<ConformanceParam>& info) {
  return info.param.name;
}

class KeyStoreConformanceTest : public ::testing::TestWithParam<ConformanceParam> {
 protected:
  void SetUp() override;

  // The fixture made for this test; never null after SetUp.
  std::unique_ptr<StoreFixture> fixture_;
};

}  // namespace sigil::signer::testing

#endif  // SIGIL_SIGNER_STORES_TESTING_KEYSTORE_CONFORMANCE_H_
