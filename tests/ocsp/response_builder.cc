#include "tests/ocsp/response_builder.h"

#include <openssl/ocsp.h>

#include <memory>

#include "common/openssl_util.h"

namespace sigil::testing {
namespace {

using OcspResponsePtr =
    std::unique_ptr<OCSP_RESPONSE, internal::OpenSslDeleter<OCSP_RESPONSE, OCSP_RESPONSE_free>>;
using OcspBasicRespPtr =
    std::unique_ptr<OCSP_BASICRESP, internal::OpenSslDeleter<OCSP_BASICRESP, OCSP_BASICRESP_free>>;
using OcspCertIdPtr = std::unique_ptr<OCSP_CERTID, internal::OpenSslDeleter<OCSP_CERTID, OCSP_CERTID_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, internal::OpenSslDeleter<ASN1_TIME, ASN1_TIME_free>>;

Asn1TimePtr GeneralizedTime(absl::Time t) {
  return Asn1TimePtr(ASN1_GENERALIZEDTIME_set(nullptr, absl::ToTimeT(t)));
}

std::string Der(OCSP_RESPONSE* response) {
  unsigned char* der = nullptr;
  int len = i2d_OCSP_RESPONSE(response, &der);
  if (len <= 0) return "";
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

}  // namespace

absl::StatusOr<std::string> MakeOcspResponse(X509* cert, X509* issuer, X509* signer_cert, EVP_PKEY* signer_key,
                                             const ResponseSpec& spec) {
  if (spec.response_status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    OcspResponsePtr response(OCSP_response_create(spec.response_status, nullptr));
    if (response == nullptr) return OpenSslError(absl::StatusCode::kInternal, "OCSP_response_create");
    return Der(response.get());
  }
  OcspBasicRespPtr basic(OCSP_BASICRESP_new());
  OcspCertIdPtr id(OCSP_cert_to_id(spec.cert_id_digest, cert, issuer));
  if (basic == nullptr || id == nullptr) return OpenSslError(absl::StatusCode::kInternal, "OCSP allocations");
  int status = V_OCSP_CERTSTATUS_GOOD;
  if (spec.status == ResponseSpec::CertStatus::kRevoked) status = V_OCSP_CERTSTATUS_REVOKED;
  if (spec.status == ResponseSpec::CertStatus::kUnknown) status = V_OCSP_CERTSTATUS_UNKNOWN;
  Asn1TimePtr this_update = GeneralizedTime(spec.this_update);
  Asn1TimePtr next_update = spec.next_update.has_value() ? GeneralizedTime(*spec.next_update) : nullptr;
  Asn1TimePtr revoked_at = GeneralizedTime(spec.revoked_at);
  if (OCSP_basic_add1_status(basic.get(), id.get(), status, OCSP_REVOKED_STATUS_KEYCOMPROMISE,
                             status == V_OCSP_CERTSTATUS_REVOKED ? revoked_at.get() : nullptr, this_update.get(),
                             next_update.get()) == nullptr) {
    return OpenSslError(absl::StatusCode::kInternal, "OCSP_basic_add1_status");
  }
  unsigned long flags = 0;
  if (!spec.include_signer_cert) flags |= OCSP_NOCERTS;
  if (spec.responder_id_by_key) flags |= OCSP_RESPID_KEY;
  if (OCSP_basic_sign(basic.get(), signer_cert, signer_key, EVP_sha256(), nullptr, flags) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "OCSP_basic_sign");
  }
  OcspResponsePtr response(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
  if (response == nullptr) return OpenSslError(absl::StatusCode::kInternal, "OCSP_response_create");
  return Der(response.get());
}

}  // namespace sigil::testing
