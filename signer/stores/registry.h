// The one place that maps an identity's `cert_store` provider name (case-insensitive) to a KeyStore
// backend.
//
//   "PEM"                                       PemKeyStore over pem_store.directory (development)
//   "PKCS11"                                    Pkcs11KeyStore over the pkcs11 options
//   "WindowsCurrentUser", "WindowsLocalMachine"  the Windows "MY" stores: Windows builds only
//
// Anything else is INVALID_ARGUMENT "cert store type not implemented" (the Certificate Store ADR's
// message), followed by the names this build knows.
#ifndef SIGIL_SIGNER_STORES_REGISTRY_H_
#define SIGIL_SIGNER_STORES_REGISTRY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "sigil/config/v1/signer.pb.h"
#include "signer/key_store.h"

namespace sigil::signer {

absl::StatusOr<std::unique_ptr<KeyStore>> CreateKeyStore(const config::v1::IdentityConfig& config);

}  // namespace sigil::signer

#endif  // SIGIL_SIGNER_STORES_REGISTRY_H_
