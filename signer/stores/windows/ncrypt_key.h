// A certificate's private key in a CNG Key Storage Provider, signing TLS handshake digests with
// NCryptSignHash: RSA PKCS#1 v1.5, RSA-PSS with salt = hash length (SHA-256/384/512), ECDSA P-256/384/521
// converted from NCrypt's raw r || s to DER (ecdsa_der.h).
//
// Two ways to get one:
// - AcquireForCertificate: the real path, CryptAcquireCertificatePrivateKey with
//   CRYPT_ACQUIRE_ONLY_NCRYPT_KEY_FLAG | CRYPT_ACQUIRE_SILENT_FLAG. Keys held only by a CryptoAPI CSP and
//   keys whose protection needs a UI prompt are refused with FAILED_PRECONDITION (signerd runs unattended).
// - ImportRsaForTesting: the test seam. Under Wine CryptAcquireCertificatePrivateKey never yields an NCrypt
//   handle (and Wine's NCrypt has no ECDSA), so the Wine tests import an RSA key (BCRYPT_RSAPRIVATE_BLOB)
//   with NCryptImportKey and then run the same Sign code. signerd never calls it.
//
// Verified on Windows only (Wine cannot exercise it; see README.md "verified on Windows only"):
// AcquireForCertificate's success path, the UI-policy refusal, and ECDSA signing through NCrypt. Review
// notes for those paths are next to the code in ncrypt_key.cc.
//
// Thread-safety: Sign may be called concurrently; CNG key handles are safe to use from several threads.
// Sign blocks on the KSP (and on a hardware KSP on the device): keep it off gRPC's threads.
#ifndef SIGIL_SIGNER_STORES_WINDOWS_NCRYPT_KEY_H_
#define SIGIL_SIGNER_STORES_WINDOWS_NCRYPT_KEY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "signer/stores/windows/schemes.h"
#include "signer/stores/windows/scoped_handles.h"
#include "signer/stores/windows/win_status.h"

namespace sigil::winstore {

class NCryptSigningKey {
 public:
  // The private key of `cert` (a context from the MY store; the key keeps its own reference to it).
  // NOT_FOUND when the certificate has no key or the key is gone; FAILED_PRECONDITION for a CryptoAPI-only
  // key, a key that needs a UI prompt, or a key type that cannot sign TLS handshakes; INTERNAL otherwise.
  // Every message names the failing call and keeps its SECURITY_STATUS / error code.
  static Result<std::unique_ptr<NCryptSigningKey>> AcquireForCertificate(PCCERT_CONTEXT cert);

  // Test seam (see above): imports `rsa_private_blob` (BCRYPT_RSAPRIVATE_BLOB) into the Microsoft Software
  // KSP, in memory, and checks that its modulus is the one in `cert`'s public key (INVALID_ARGUMENT
  // "the imported key does not hold the certificate's key" otherwise).
  static Result<std::unique_ptr<NCryptSigningKey>> ImportRsaForTesting(std::string_view rsa_private_blob,
                                                                       PCCERT_CONTEXT cert);

  NCryptSigningKey(const NCryptSigningKey&) = delete;
  NCryptSigningKey& operator=(const NCryptSigningKey&) = delete;

  const KeyDescription& description() const { return description_; }
  // SupportedSchemes(description()).
  std::vector<uint16_t> Schemes() const { return SupportedSchemes(description_); }

  // Signs `digest` (the scheme's hash of the message) as TLS sends it: RSA as the modulus-sized integer,
  // ECDSA as DER. INVALID_ARGUMENT for an unknown scheme, a scheme this key cannot make, or a digest of
  // the wrong length; FAILED_PRECONDITION when the KSP wants a UI prompt; NOT_FOUND when the key is gone;
  // UNAVAILABLE when a hardware KSP's device is not ready; INTERNAL otherwise.
  Result<std::string> Sign(uint16_t scheme_code, std::string_view digest) const;

  // Reads algorithm group and length of `key`; FAILED_PRECONDITION for anything but RSA and ECDSA
  // P-256/384/521. Exposed for tests.
  static Result<KeyDescription> Describe(NCRYPT_KEY_HANDLE key);

 private:
  NCryptSigningKey(ScopedCertContext cert, ScopedNCryptHandle owned_key, NCRYPT_KEY_HANDLE key,
                   KeyDescription description)
      : cert_(std::move(cert)), owned_key_(std::move(owned_key)), key_(key), description_(description) {}

  // Keeps the certificate context alive: when CryptAcquireCertificatePrivateKey hands out a handle it caches
  // on the context (pfCallerFreeProvOrNCryptKey = FALSE), the context owns the handle.
  ScopedCertContext cert_;
  // Set when this object must free the key handle.
  ScopedNCryptHandle owned_key_;
  NCRYPT_KEY_HANDLE key_;
  KeyDescription description_;
};

// Maps a SECURITY_STATUS from NCryptSignHash / NCryptGetProperty to a Status, keeping the code.
Status SigningError(const std::string& what, SECURITY_STATUS status);

}  // namespace sigil::winstore

#endif  // SIGIL_SIGNER_STORES_WINDOWS_NCRYPT_KEY_H_
