// The KeyStore conformance suite on a fresh SoftHSM2 token per test.
#include "signer/stores/pkcs11/testing/pkcs11_fixture.h"
#include "signer/stores/testing/keystore_conformance.h"

namespace sigil::signer::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(SoftHsm2, KeyStoreConformanceTest,
                         ::testing::Values(ConformanceParam{"SoftHSM2", &MakeSoftHsmStoreFixture}),
                         ConformanceParamName);

}  // namespace
}  // namespace sigil::signer::testing
