#include "signer/stores/pkcs11/pkcs11_objects.h"

#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace sigil::signer::pkcs11 {
namespace {

struct ParamBldDeleter {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamDeleter {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};

absl::StatusOr<EvpPkeyPtr> KeyFromParams(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, ParamDeleter> params(OSSL_PARAM_BLD_to_param(bld));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, absl::StrCat("building the ", type, " public key"));
  }
  return EvpPkeyPtr(key);
}

}  // namespace

CkCall FindObjects(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE session, std::vector<CK_ATTRIBUTE> attrs,
                   std::vector<CK_OBJECT_HANDLE>* objects) {
  objects->clear();
  CK_RV rv = f->C_FindObjectsInit(session, attrs.data(), attrs.size());
  if (rv != CKR_OK) return {rv, "C_FindObjectsInit"};
  CK_OBJECT_HANDLE batch[64];
  while (true) {
    CK_ULONG count = 0;
    rv = f->C_FindObjects(session, batch, 64, &count);
    if (rv != CKR_OK) {
      f->C_FindObjectsFinal(session);
      return {rv, "C_FindObjects"};
    }
    objects->insert(objects->end(), batch, batch + count);
    if (count < 64) break;
  }
  rv = f->C_FindObjectsFinal(session);
  if (rv != CKR_OK) return {rv, "C_FindObjectsFinal"};
  return {};
}

CkCall GetAttribute(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
                    CK_ATTRIBUTE_TYPE type, std::string* value) {
  CK_ATTRIBUTE attr{type, nullptr, 0};
  CK_RV rv = f->C_GetAttributeValue(session, object, &attr, 1);
  if (rv != CKR_OK) return {rv, "C_GetAttributeValue"};
  if (attr.ulValueLen == CK_UNAVAILABLE_INFORMATION) return {CKR_ATTRIBUTE_TYPE_INVALID, "C_GetAttributeValue"};
  value->assign(attr.ulValueLen, '\0');
  attr.pValue = value->data();
  rv = f->C_GetAttributeValue(session, object, &attr, 1);
  if (rv != CKR_OK) return {rv, "C_GetAttributeValue"};
  value->resize(attr.ulValueLen);
  return {};
}

CkCall GetUlongAttribute(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
                         CK_ATTRIBUTE_TYPE type, CK_ULONG* value) {
  CK_ATTRIBUTE attr = Attr(type, value);
  CK_RV rv = f->C_GetAttributeValue(session, object, &attr, 1);
  if (rv != CKR_OK) return {rv, "C_GetAttributeValue"};
  return {};
}

std::string HexBytes(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

absl::StatusOr<std::string> UnhexBytes(absl::string_view hex) {
  if (hex.size() % 2 != 0) return absl::InvalidArgumentError("odd number of hex digits");
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError("not a hex string");
    }
  }
  return absl::HexStringToBytes(hex);
}

absl::StatusOr<int> CurveFromEcParams(absl::string_view ec_params) {
  const auto* p = reinterpret_cast<const unsigned char*>(ec_params.data());
  ASN1_OBJECT* oid = d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(ec_params.size()));
  if (oid == nullptr) {
    ClearOpenSslErrors();
    return absl::InvalidArgumentError("CKA_EC_PARAMS is not a named curve OID");
  }
  int nid = OBJ_obj2nid(oid);
  ASN1_OBJECT_free(oid);
  if (nid == NID_undef) return absl::InvalidArgumentError("CKA_EC_PARAMS names an unknown curve");
  return nid;
}

absl::StatusOr<std::string> EcParamsForCurve(int curve_nid) {
  ASN1_OBJECT* oid = OBJ_nid2obj(curve_nid);
  if (oid == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown curve NID ", curve_nid));
  int len = i2d_ASN1_OBJECT(oid, nullptr);
  std::string der(len > 0 ? len : 0, '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (len <= 0 || i2d_ASN1_OBJECT(oid, &out) != len) {
    return OpenSslError(absl::StatusCode::kInternal, "encoding the curve OID");
  }
  return der;
}

absl::StatusOr<EvpPkeyPtr> RsaPublicKey(absl::string_view modulus, absl::string_view exponent) {
  BignumPtr n(BN_bin2bn(reinterpret_cast<const unsigned char*>(modulus.data()), modulus.size(), nullptr));
  BignumPtr e(BN_bin2bn(reinterpret_cast<const unsigned char*>(exponent.data()), exponent.size(), nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter> bld(OSSL_PARAM_BLD_new());
  if (n == nullptr || e == nullptr || bld == nullptr ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "RSA public key parameters");
  }
  return KeyFromParams("RSA", bld.get());
}

absl::StatusOr<EvpPkeyPtr> EcPublicKey(int curve_nid, absl::string_view ec_point) {
  std::string point(ec_point);
  // PKCS#11 2.40: CKA_EC_POINT is DER OCTET STRING { uncompressed point }.
  const auto* p = reinterpret_cast<const unsigned char*>(ec_point.data());
  ASN1_OCTET_STRING* octets = d2i_ASN1_OCTET_STRING(nullptr, &p, static_cast<long>(ec_point.size()));
  if (octets != nullptr && p == reinterpret_cast<const unsigned char*>(ec_point.data()) + ec_point.size()) {
    point.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(octets)), ASN1_STRING_length(octets));
  }
  ASN1_OCTET_STRING_free(octets);
  ClearOpenSslErrors();
  // tpm2-pkcs11 1.9.0 writes the OCTET STRING length of a P-521 point (133 bytes) in short form
  // (04 85 ...), which is not DER; accept a one-byte length that covers exactly the rest.
  if (point.size() == ec_point.size() && ec_point.size() > 2 && ec_point[0] == 0x04 &&
      static_cast<unsigned char>(ec_point[1]) == ec_point.size() - 2) {
    point = std::string(ec_point.substr(2));
  }
  const char* group = OBJ_nid2sn(curve_nid);
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter> bld(OSSL_PARAM_BLD_new());
  if (group == nullptr || bld == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "EC public key parameters");
  }
  return KeyFromParams("EC", bld.get());
}


}  // namespace sigil::signer::pkcs11
