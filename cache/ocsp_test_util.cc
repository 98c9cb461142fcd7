#include "cache/ocsp_test_util.h"

#include <openssl/ocsp.h>

#include "common/openssl_util.h"

namespace sigil::cache::testing {
namespace {

struct OcspResponseDeleter {
  void operator()(OCSP_RESPONSE* p) const { OCSP_RESPONSE_free(p); }
};
struct BasicDeleter {
  void operator()(OCSP_BASICRESP* p) const { OCSP_BASICRESP_free(p); }
};
struct Asn1TimeDeleter {
  void operator()(ASN1_TIME* p) const { ASN1_TIME_free(p); }
};
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, Asn1TimeDeleter>;

Asn1TimePtr ToAsn1(absl::Time t) { return Asn1TimePtr(ASN1_TIME_set(nullptr, absl::ToTimeT(t))); }

}  // namespace

absl::StatusOr<std::string> MakeOcspResponse(X509* cert, X509* issuer, const sigil::testing::Issued& signer,
                                             const OcspResponseSpec& spec) {
  OCSP_CERTID* id = OCSP_cert_to_id(EVP_sha1(), cert, issuer);
  if (id == nullptr) return OpenSslError(absl::StatusCode::kInternal, "OCSP_cert_to_id");
  std::unique_ptr<OCSP_BASICRESP, BasicDeleter> basic(OCSP_BASICRESP_new());
  int status = V_OCSP_CERTSTATUS_GOOD;
  if (spec.status == CachedResponse::Status::kRevoked) status = V_OCSP_CERTSTATUS_REVOKED;
  if (spec.status == CachedResponse::Status::kUnknown) status = V_OCSP_CERTSTATUS_UNKNOWN;
  Asn1TimePtr this_update = ToAsn1(spec.this_update);
  Asn1TimePtr next_update = spec.next_update.has_value() ? ToAsn1(*spec.next_update) : nullptr;
  Asn1TimePtr revoked_at = ToAsn1(spec.revoked_at);
  OCSP_SINGLERESP* single =
      OCSP_basic_add1_status(basic.get(), id, status, OCSP_REVOKED_STATUS_KEYCOMPROMISE,
                             status == V_OCSP_CERTSTATUS_REVOKED ? revoked_at.get() : nullptr, this_update.get(),
                             next_update.get());
  OCSP_CERTID_free(id);
  if (single == nullptr) return OpenSslError(absl::StatusCode::kInternal, "OCSP_basic_add1_status");
  if (OCSP_basic_sign(basic.get(), signer.cert.get(), signer.key.get(), EVP_sha256(), nullptr, 0) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "OCSP_basic_sign");
  }
  std::unique_ptr<OCSP_RESPONSE, OcspResponseDeleter> response(
      OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
  if (response == nullptr) return OpenSslError(absl::StatusCode::kInternal, "OCSP_response_create");
  unsigned char* der = nullptr;
  const int len = i2d_OCSP_RESPONSE(response.get(), &der);
  if (len <= 0) return OpenSslError(absl::StatusCode::kInternal, "i2d_OCSP_RESPONSE");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

}  // namespace sigil::cache::testing
