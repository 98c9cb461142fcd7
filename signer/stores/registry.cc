#include "signer/stores/registry.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "signer/stores/pem/pem_key_store.h"
#ifdef _WIN32
#include "signer/stores/windows/windows_key_store.h"
#endif
#include "signer/stores/pkcs11/pkcs11_key_store.h"

namespace sigil::signer {

absl::StatusOr<std::unique_ptr<KeyStore>> CreateKeyStore(const config::v1::IdentityConfig& config) {
  const std::string& provider = config.cert_store();
  if (absl::EqualsIgnoreCase(provider, "PEM")) {
    SIGIL_ASSIGN_OR_RETURN(std::unique_ptr<PemKeyStore> store, PemKeyStore::Create(config.pem_store()));
    return std::unique_ptr<KeyStore>(std::move(store));
  }
  if (absl::EqualsIgnoreCase(provider, "PKCS11")) {
    SIGIL_ASSIGN_OR_RETURN(std::unique_ptr<Pkcs11KeyStore> store, Pkcs11KeyStore::Create(config.pkcs11()));
    return std::unique_ptr<KeyStore>(std::move(store));
  }
  if (absl::EqualsIgnoreCase(provider, "WindowsCurrentUser") ||
      absl::EqualsIgnoreCase(provider, "WindowsLocalMachine")) {
#ifdef _WIN32
    SIGIL_ASSIGN_OR_RETURN(std::unique_ptr<WindowsKeyStore> store, WindowsKeyStore::Create(provider));
    return std::unique_ptr<KeyStore>(std::move(store));
#else
    return absl::InvalidArgumentError(absl::StrCat(
        "cert store type not implemented: ", provider, " is available only in the Windows build of signerd"));
#endif
  }
  return absl::InvalidArgumentError(absl::StrCat("cert store type not implemented: \"", provider,
                                                 "\" (this build knows PEM, PKCS11)"));
}

}  // namespace sigil::signer
