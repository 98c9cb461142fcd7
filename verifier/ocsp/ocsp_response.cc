#include "verifier/ocsp/ocsp_response.h"

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "common/openssl_util.h"

namespace sigil::verifier::ocsp {
namespace {

using OcspResponsePtr =
    std::unique_ptr<OCSP_RESPONSE, internal::OpenSslDeleter<OCSP_RESPONSE, OCSP_RESPONSE_free>>;
using OcspBasicRespPtr =
    std::unique_ptr<OCSP_BASICRESP, internal::OpenSslDeleter<OCSP_BASICRESP, OCSP_BASICRESP_free>>;
using OcspCertIdPtr = std::unique_ptr<OCSP_CERTID, internal::OpenSslDeleter<OCSP_CERTID, OCSP_CERTID_free>>;
// A stack that borrows its certificates (sk_X509_free does not free them).
void FreeBorrowedX509Stack(STACK_OF(X509) * s) { sk_X509_free(s); }
using BorrowedX509StackPtr =
    std::unique_ptr<STACK_OF(X509), internal::OpenSslDeleter<STACK_OF(X509), FreeBorrowedX509Stack>>;

absl::Status ParseError(absl::string_view detail) {
  ClearOpenSslErrors();
  return absl::InvalidArgumentError(absl::StrCat(kFailedResponseParse, ": ", detail));
}

absl::Status DelegationError(absl::string_view detail) {
  ClearOpenSslErrors();
  return absl::InvalidArgumentError(absl::StrCat(kResponseDelegationInvalid, ": ", detail));
}

std::optional<absl::Time> ToTime(const ASN1_GENERALIZEDTIME* t) {
  if (t == nullptr) return std::nullopt;
  struct tm tm = {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return absl::FromTimeT(timegm(&tm));
}

std::string Rfc3339(absl::Time t) { return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone()); }

// Whether `cert`'s validity period contains `now`.
bool ValidAt(X509* cert, absl::Time now) {
  time_t t = absl::ToTimeT(now);
  return X509_cmp_time(X509_get0_notBefore(cert), &t) <= 0 && X509_cmp_time(X509_get0_notAfter(cert), &t) >= 0;
}

bool SamePublicKey(X509* a, X509* b) {
  EVP_PKEY* ka = X509_get0_pubkey(a);
  EVP_PKEY* kb = X509_get0_pubkey(b);
  return ka != nullptr && kb != nullptr && EVP_PKEY_eq(ka, kb) == 1;
}

// Checks that `signer` may sign OCSP responses on behalf of `issuer` at `now` (RFC 6960 4.2.2.2).
absl::Status CheckDelegation(X509* signer, X509* issuer, absl::Time now) {
  const std::string who = NameToString(X509_get_subject_name(signer));
  if (X509_check_issued(issuer, signer) != X509_V_OK) {
    return DelegationError(absl::StrCat("responder certificate [", who, "] is not issued by the CA"));
  }
  EVP_PKEY* issuer_key = X509_get0_pubkey(issuer);
  if (issuer_key == nullptr || X509_verify(signer, issuer_key) != 1) {
    return DelegationError(absl::StrCat("responder certificate [", who, "] is not signed by the CA"));
  }
  // X509_get_extension_flags computes the cached flags (EXFLAG_XKUSAGE) first.
  const uint32_t flags = X509_get_extension_flags(signer);
  if ((flags & EXFLAG_XKUSAGE) == 0 || (X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN) == 0) {
    return DelegationError(absl::StrCat("responder certificate [", who, "] lacks id-kp-OCSPSigning"));
  }
  if (!ValidAt(signer, now)) {
    return DelegationError(absl::StrCat("responder certificate [", who, "] is not valid at ", Rfc3339(now)));
  }
  return absl::OkStatus();
}

// Whether `id` (from a SingleResponse) names `cert` (or, when null, any certificate) issued by `issuer`,
// comparing with the CertID's own hash algorithm.
bool CertIdMatches(OCSP_CERTID* id, X509* cert, X509* issuer) {
  ASN1_OBJECT* md_oid = nullptr;
  ASN1_INTEGER* serial = nullptr;
  if (OCSP_id_get0_info(nullptr, &md_oid, nullptr, &serial, id) != 1 || md_oid == nullptr) return false;
  const EVP_MD* md = EVP_get_digestbyobj(md_oid);
  if (md == nullptr) return false;
  if (cert != nullptr) {
    OcspCertIdPtr ours(OCSP_cert_to_id(md, cert, issuer));
    return ours != nullptr && OCSP_id_cmp(ours.get(), id) == 0;
  }
  OcspCertIdPtr ours(OCSP_cert_id_new(md, X509_get_subject_name(issuer), X509_get0_pubkey_bitstr(issuer), serial));
  return ours != nullptr && OCSP_id_issuer_cmp(ours.get(), id) == 0;
}

}  // namespace

absl::StatusOr<ValidatedResponse> ValidateResponse(absl::string_view response_der, X509* cert, X509* issuer,
                                                   absl::Time now, const ValidationOptions& options) {
  if (issuer == nullptr) return absl::InvalidArgumentError("ValidateResponse: issuer is required");
  const unsigned char* p = reinterpret_cast<const unsigned char*>(response_der.data());
  OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(response_der.size())));
  if (response == nullptr || p != reinterpret_cast<const unsigned char*>(response_der.data()) + response_der.size()) {
    return ParseError("not a DER OCSPResponse");
  }
  const int response_status = OCSP_response_status(response.get());
  if (response_status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return ParseError(absl::StrCat("responder status ", OCSP_response_status_str(response_status), " (",
                                   response_status, ")"));
  }
  OcspBasicRespPtr basic(OCSP_response_get1_basic(response.get()));
  if (basic == nullptr) return ParseError("not a basic OCSP response");

  // 1. Signer and signature.
  BorrowedX509StackPtr extra(sk_X509_new_null());
  if (extra == nullptr || sk_X509_push(extra.get(), issuer) <= 0) {
    return OpenSslError(absl::StatusCode::kInternal, "allocating a certificate stack");
  }
  X509* signer = nullptr;
  if (OCSP_resp_get0_signer(basic.get(), &signer, extra.get()) != 1 || signer == nullptr) {
    return ParseError("signer certificate not found");
  }
  absl::Time signer_not_after = absl::InfiniteFuture();
  if (X509_cmp(signer, issuer) != 0 && !SamePublicKey(signer, issuer)) {
    if (auto status = CheckDelegation(signer, issuer, now); !status.ok()) return status;
    if (std::optional<absl::Time> t = ToTime(X509_get0_notAfter(signer)); t.has_value()) signer_not_after = *t;
  }
  BorrowedX509StackPtr signer_only(sk_X509_new_null());
  if (signer_only == nullptr || sk_X509_push(signer_only.get(), signer) <= 0) {
    return OpenSslError(absl::StatusCode::kInternal, "allocating a certificate stack");
  }
  // Only the signature: the signer was chosen and authorised above.
  if (OCSP_basic_verify(basic.get(), signer_only.get(), nullptr,
                        OCSP_NOINTERN | OCSP_NOVERIFY | OCSP_NOCHECKS | OCSP_NOEXPLICIT) != 1) {
    return ParseError("signature does not verify");
  }

  // 2. The SingleResponse about this certificate.
  OCSP_SINGLERESP* single = nullptr;
  const int count = OCSP_resp_count(basic.get());
  for (int i = 0; i < count && single == nullptr; ++i) {
    OCSP_SINGLERESP* candidate = OCSP_resp_get0(basic.get(), i);
    if (candidate != nullptr && CertIdMatches(const_cast<OCSP_CERTID*>(OCSP_SINGLERESP_get0_id(candidate)),
                                              cert, issuer)) {
      single = candidate;
    }
  }
  if (single == nullptr) {
    return ParseError(cert == nullptr ? "no single response for a certificate of this issuer"
                                      : "no single response for this certificate (CertID mismatch)");
  }
  int reason = 0;
  ASN1_GENERALIZEDTIME* revtime = nullptr;
  ASN1_GENERALIZEDTIME* thisupd = nullptr;
  ASN1_GENERALIZEDTIME* nextupd = nullptr;
  const int cert_status = OCSP_single_get0_status(single, &reason, &revtime, &thisupd, &nextupd);
  ValidatedResponse out;
  out.signer_not_after = signer_not_after;
  switch (cert_status) {
    case V_OCSP_CERTSTATUS_GOOD:
      out.status = cache::CachedResponse::Status::kGood;
      break;
    case V_OCSP_CERTSTATUS_REVOKED:
      out.status = cache::CachedResponse::Status::kRevoked;
      out.revoked_at = ToTime(revtime);
      break;
    case V_OCSP_CERTSTATUS_UNKNOWN:
      out.status = cache::CachedResponse::Status::kUnknown;
      break;
    default:
      return ParseError("unrecognised certificate status");
  }
  std::optional<absl::Time> this_update = ToTime(thisupd);
  if (!this_update.has_value()) return ParseError("thisUpdate missing or malformed");
  out.this_update = *this_update;
  if (nextupd != nullptr) {
    out.next_update = ToTime(nextupd);
    if (!out.next_update.has_value()) return ParseError("nextUpdate malformed");
  }
  out.expires = out.next_update.value_or(out.this_update + options.ttl_when_next_update_unset);

  // 3. The effectivity window (the reference server's OCSPResponseCurrent).
  if (!options.check_effectivity) return out;
  const absl::Duration skew = options.allowed_clockskew;
  const std::string skew_text = absl::FormatDuration(skew);
  if (out.next_update.has_value() && *out.next_update < now - skew) {
    Log(LogLevel::kDebug, absl::StrCat("OCSP response NextUpdate [", Rfc3339(*out.next_update),
                                       "] is before now [", Rfc3339(now), "] with clockskew [", skew_text, "]"));
    return absl::FailedPreconditionError(kResponseNotEffective);
  }
  if (!out.next_update.has_value() && out.expires < now - skew) {
    Log(LogLevel::kDebug, absl::StrCat("OCSP response cache expiry [", Rfc3339(out.expires), "] is before now [",
                                       Rfc3339(now), "] with clockskew [", skew_text, "]"));
    return absl::FailedPreconditionError(kResponseNotEffective);
  }
  if (out.this_update > now + skew) {
    Log(LogLevel::kDebug, absl::StrCat("OCSP response ThisUpdate [", Rfc3339(out.this_update),
                                       "] is before now [", Rfc3339(now), "] with clockskew [", skew_text, "]"));
    return absl::FailedPreconditionError(kResponseNotEffective);
  }
  return out;
}

}  // namespace sigil::verifier::ocsp
