// Small PKCS#11 object helpers shared by the store, its keys and the test fixtures: searching objects,
// reading attributes, and turning public key attributes (CKA_MODULUS / CKA_PUBLIC_EXPONENT,
// CKA_EC_PARAMS / CKA_EC_POINT) into OpenSSL keys.
//
// The session helpers report the failing call as a CkCall so callers can keep CK_RV semantics (retry,
// re-login) and still name the function in messages. They hold no state; thread-safety is the session's.
#ifndef SIGIL_SIGNER_STORES_PKCS11_PKCS11_OBJECTS_H_
#define SIGIL_SIGNER_STORES_PKCS11_PKCS11_OBJECTS_H_

#include <p11-kit/pkcs11.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/openssl_util.h"

namespace sigil::signer::pkcs11 {

// The outcome of a PKCS#11 call: its CK_RV and the function's name ("C_SignInit").
struct CkCall {
  CK_RV rv = CKR_OK;
  const char* function = "";
  bool ok() const { return rv == CKR_OK; }
};

// Template entry helpers. The attribute points at `value`, which must outlive the template's use.
template <typename T>
CK_ATTRIBUTE Attr(CK_ATTRIBUTE_TYPE type, T* value) {
  return CK_ATTRIBUTE{type, value, sizeof(T)};
}
inline CK_ATTRIBUTE BytesAttr(CK_ATTRIBUTE_TYPE type, const std::string& value) {
  return CK_ATTRIBUTE{type, const_cast<char*>(value.data()), value.size()};
}

// Every object matching `attrs` (C_FindObjectsInit/C_FindObjects/C_FindObjectsFinal).
CkCall FindObjects(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE session, std::vector<CK_ATTRIBUTE> attrs,
                   std::vector<CK_OBJECT_HANDLE>* objects);

// Reads one attribute's bytes into `*value`. CKR_ATTRIBUTE_TYPE_INVALID / CKR_ATTRIBUTE_SENSITIVE come
// back as the CkCall's rv (the attribute is absent or secret).
CkCall GetAttribute(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
                    CK_ATTRIBUTE_TYPE type, std::string* value);

// Reads a CK_ULONG attribute (CKA_CLASS, CKA_KEY_TYPE, ...).
CkCall GetUlongAttribute(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
                         CK_ATTRIBUTE_TYPE type, CK_ULONG* value);

// Lowercase hex of `bytes` (CKA_ID in key_ref strings and logs).
std::string HexBytes(absl::string_view bytes);
// Inverse of HexBytes; INVALID_ARGUMENT for odd length or non-hex characters.
absl::StatusOr<std::string> UnhexBytes(absl::string_view hex);

// The curve NID of a CKA_EC_PARAMS value (DER ECParameters holding a namedCurve OID). INVALID_ARGUMENT
// for explicit parameters or a malformed value.
absl::StatusOr<int> CurveFromEcParams(absl::string_view ec_params);
// CKA_EC_PARAMS (DER namedCurve OID) for a curve NID.
absl::StatusOr<std::string> EcParamsForCurve(int curve_nid);

// An RSA public key from big-endian CKA_MODULUS and CKA_PUBLIC_EXPONENT.
absl::StatusOr<EvpPkeyPtr> RsaPublicKey(absl::string_view modulus, absl::string_view exponent);
// An EC public key on `curve_nid` from CKA_EC_POINT: a DER OCTET STRING holding the uncompressed point
// (PKCS#11 2.40+), the same with a short-form length over 127 (tpm2-pkcs11 1.9.0 for P-521), or the raw
// point as some older modules store it.
absl::StatusOr<EvpPkeyPtr> EcPublicKey(int curve_nid, absl::string_view ec_point);

}  // namespace sigil::signer::pkcs11

#endif  // SIGIL_SIGNER_STORES_PKCS11_PKCS11_OBJECTS_H_
