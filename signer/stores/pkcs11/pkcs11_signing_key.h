// Pkcs11SigningKey: a private key on a PKCS#11 token, named by its CKA_ID. Signs TLS digests with
//   - RSA PKCS#1 v1.5: CKM_RSA_PKCS over DigestInfo(hash) || digest (SHA-1/256/384/512);
//   - RSA-PSS: CKM_RSA_PKCS_PSS over the digest, MGF1 with the same hash, salt length = hash length;
//   - ECDSA: CKM_ECDSA over the digest; the token's raw r || s becomes a DER ECDSA-Sig-Value
//     (RFC 5480 / RFC 8446 section 4.2.3).
// Which of those a key can make is probed once: Schemes() is SupportedSchemes(info()) less the schemes
// whose mechanism the token does not list (C_GetMechanismList) for signing at this key size.
//
// The key keeps its token (and module) alive, so it outlives the Pkcs11KeyStore that opened it. Its
// object handle is cached per token epoch and looked up again by CKA_ID after the token was lost and
// found again, so Sign recovers from token removal and re-insertion without a new OpenKey.
//
// Thread-safety: thread-safe; Sign blocks on the token (MayBlock() is true).
#ifndef SIGIL_SIGNER_STORES_PKCS11_PKCS11_SIGNING_KEY_H_
#define SIGIL_SIGNER_STORES_PKCS11_PKCS11_SIGNING_KEY_H_

#include <p11-kit/pkcs11.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "signer/signing_key.h"
#include "signer/stores/pkcs11/pkcs11_token.h"

namespace sigil::signer {

class Pkcs11SigningKey : public SigningKey {
 public:
  // The private key (CKO_PRIVATE_KEY) with CKA_ID `id` on `token`; `label` is for messages only.
  // NOT_FOUND when the token has no such key; INVALID_ARGUMENT for a key type or curve Sigil does not
  // sign with (RSA under 2048 bits, EC other than P-256/384/521); UNAVAILABLE when the token is away.
  static absl::StatusOr<std::unique_ptr<Pkcs11SigningKey>> Open(std::shared_ptr<pkcs11::Pkcs11Token> token,
                                                                std::string id, std::string label);

  const KeyInfo& info() const override { return info_; }

  // Signs per the header comment. INVALID_ARGUMENT when the digest length is not the scheme's;
  // FAILED_PRECONDITION when the scheme is not in Schemes(); UNAVAILABLE while the token is away;
  // NOT_FOUND when the key was deleted from the token; other codes per pkcs11_error.h.
  absl::StatusOr<std::string> Sign(const SignatureScheme& scheme, absl::string_view digest) override;

  bool MayBlock() const override { return true; }

  // The TLS SignatureScheme codes this key can make on its token, in AllSchemes() order: the key's type,
  // size and curve allow them AND the token offers the mechanism (C_GetMechanismList at Open).
  std::vector<uint16_t> Schemes() const override { return schemes_; }

  // Whether `scheme` is in Schemes().
  bool CanMake(const SignatureScheme& scheme) const;

  // "label=<CKA_LABEL>,id=<hex CKA_ID>".
  const std::string& description() const { return description_; }

 private:
  Pkcs11SigningKey(std::shared_ptr<pkcs11::Pkcs11Token> token, std::string id, std::string description,
                   KeyInfo info, std::vector<uint16_t> schemes)
      : token_(std::move(token)),
        id_(std::move(id)),
        description_(std::move(description)),
        info_(info),
        schemes_(std::move(schemes)) {}

  // The key's object handle in `session`'s epoch: the cached one, or found again by CKA_ID (CkCall
  // CKR_KEY_HANDLE_INVALID from "C_FindObjects" when the token has no such key).
  pkcs11::CkCall FindHandle(const pkcs11::Pkcs11Token::SessionRef& session, CK_OBJECT_HANDLE* handle);
  // Forgets the cached handle (it went invalid).
  void ForgetHandle();

  const std::shared_ptr<pkcs11::Pkcs11Token> token_;
  const std::string id_;
  const std::string description_;
  const KeyInfo info_;
  const std::vector<uint16_t> schemes_;

  // Guards members below.
  absl::Mutex mu_;
  CK_OBJECT_HANDLE handle_ ABSL_GUARDED_BY(mu_) = CK_INVALID_HANDLE;
  // Token epoch handle_ was found in; 0 = none.
  uint64_t handle_epoch_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sigil::signer

#endif  // SIGIL_SIGNER_STORES_PKCS11_PKCS11_SIGNING_KEY_H_
