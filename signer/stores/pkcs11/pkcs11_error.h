// The one adapter from PKCS#11's CK_RV error space to absl::Status.
//
// Messages keep the original code's name ("C_Login: CKR_PIN_INCORRECT (0x000000a0)") so an operator can
// look it up in the module's documentation. The absl code says what the caller should do next:
//   UNAVAILABLE          the token or its session went away (removed, reset, network HSM down): retry
//                        later, the store recovers by itself;
//   FAILED_PRECONDITION  fix the configuration or the token first (wrong or locked PIN, key not allowed
//                        to sign, mechanism the token lacks);
//   NOT_FOUND            the object is gone from the token;
//   RESOURCE_EXHAUSTED   the module or device is out of memory or sessions;
//   INVALID_ARGUMENT     the request itself is wrong (data length);
//   INTERNAL             anything else: a module or token failure.
#ifndef SIGIL_SIGNER_STORES_PKCS11_PKCS11_ERROR_H_
#define SIGIL_SIGNER_STORES_PKCS11_PKCS11_ERROR_H_

#include <p11-kit/pkcs11.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sigil::signer::pkcs11 {

// "CKR_PIN_INCORRECT", or "CKR_VENDOR_DEFINED+0x…" / "CKR_0x…" for codes the standard does not name.
std::string CkrName(CK_RV rv);

// The absl code for `rv` (see the table above). OK for CKR_OK.
absl::StatusCode CkrStatusCode(CK_RV rv);

// Whether `rv` says the token, the slot or our session is gone, so every session on the token is dead
// and the token must be found again (CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT,
// CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED, CKR_DEVICE_ERROR, CKR_CRYPTOKI_NOT_INITIALIZED, ...).
bool IsTokenGone(CK_RV rv);

// A status for a failed PKCS#11 call: "<context>: <function>: <CKR name> (0x…)". OK for CKR_OK.
// `context` must never carry a PIN.
absl::Status Pkcs11Error(CK_RV rv, absl::string_view function, absl::string_view context);

}  // namespace sigil::signer::pkcs11

#endif  // SIGIL_SIGNER_STORES_PKCS11_PKCS11_ERROR_H_
