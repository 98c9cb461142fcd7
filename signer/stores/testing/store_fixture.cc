#include "signer/stores/testing/store_fixture.h"

#include "common/openssl_util.h"
#include "common/status_macros.h"

namespace sigil::signer::testing {

absl::StatusOr<std::string> ProvisionIdentity(StoreFixture& fixture, const std::string& label,
                                              const sigil::testing::KeySpec& key, const sigil::testing::CertSpec& spec,
                                              const sigil::testing::Issued& issuer) {
  SIGIL_ASSIGN_OR_RETURN(std::string public_pem, fixture.GenerateKey(key, label));
  SIGIL_ASSIGN_OR_RETURN(EvpPkeyPtr public_key, ParsePublicKeyPem(public_pem));
  SIGIL_ASSIGN_OR_RETURN(X509Ptr cert, sigil::testing::IssueCertForPublicKey(spec, public_key.get(), issuer));
  std::string der = CertificateDer(cert.get());
  SIGIL_RETURN_IF_ERROR(fixture.AddCertificate(label, der));
  return der;
}

}  // namespace sigil::signer::testing
