// WindowsKeyStore: the KeyStore for the Certificate Store ADR's "WindowsCurrentUser" and
// "WindowsLocalMachine" providers, in the Windows build of signerd only (signer/stores/registry.cc,
// #ifdef _WIN32). A thin absl adapter over the Windows store core (cert_store.h, ncrypt_key.h):
//
// - Certificates(): the MY store's certificates that carry a private key, re-read on every call so rotation
//   is picked up (key_ref "ksp=<provider>;container=<name>").
// - CaCertificates(): the intermediates and roots of the chains the Windows chain engine accepts for those
//   certificates (CertStore::ChainCaCertificates), so the common chain assembly (signer/matching.h) sends
//   what Windows' own chain engine would: leaf + non-self-signed intermediates, or the leaf alone.
// - OpenKey(): the real KSP path (NCryptSigningKey::AcquireForCertificate): CryptoAPI-only keys and keys that
//   need a UI prompt are refused with FAILED_PRECONDITION.
//
// Matching runs in common code (signer/matching.h) over Certificates(), like every store; the core's own
// matcher (cert_match.h) implements the same rules for the sigil_winstore tool, and the Wine tests check
// that both choose the same certificate.
//
// Thread-safety: every method may be called concurrently. Every method blocks on crypt32 / the KSP.
#ifndef SIGIL_SIGNER_STORES_WINDOWS_WINDOWS_KEY_STORE_H_
#define SIGIL_SIGNER_STORES_WINDOWS_WINDOWS_KEY_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "signer/key_store.h"
#include "signer/stores/windows/cert_store.h"
#include "signer/stores/windows/win_status.h"

namespace sigil::signer {

// The core's Status as an absl::Status (same code numbers, same message).
absl::Status FromWinStatus(const winstore::Status& status);

class WindowsKeyStore : public KeyStore {
 public:
  // `provider` is "WindowsCurrentUser" or "WindowsLocalMachine" (case-insensitive). INVALID_ARGUMENT
  // "cert store type not implemented: ..." otherwise; PERMISSION_DENIED / UNAVAILABLE when the MY store
  // cannot be opened (checked here so a bad deployment stops start-up).
  static absl::StatusOr<std::unique_ptr<WindowsKeyStore>> Create(absl::string_view provider);

  absl::string_view provider() const override { return winstore::ProviderName(location_); }
  absl::StatusOr<std::vector<StoreCertificate>> Certificates() override;
  absl::StatusOr<std::vector<std::string>> CaCertificates() override;
  absl::StatusOr<std::unique_ptr<SigningKey>> OpenKey(const StoreCertificate& certificate) override;

 private:
  explicit WindowsKeyStore(winstore::StoreLocation location) : location_(location) {}

  const winstore::StoreLocation location_;
};

}  // namespace sigil::signer

#endif  // SIGIL_SIGNER_STORES_WINDOWS_WINDOWS_KEY_STORE_H_
