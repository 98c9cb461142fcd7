#include "verifier/ocsp/ocsp_request.h"

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/openssl_util.h"

namespace sigil::verifier::ocsp {
namespace {

using OcspRequestPtr = std::unique_ptr<OCSP_REQUEST, internal::OpenSslDeleter<OCSP_REQUEST, OCSP_REQUEST_free>>;
using OcspCertIdPtr = std::unique_ptr<OCSP_CERTID, internal::OpenSslDeleter<OCSP_CERTID, OCSP_CERTID_free>>;
void FreeAia(AUTHORITY_INFO_ACCESS* aia) { AUTHORITY_INFO_ACCESS_free(aia); }
using AiaPtr = std::unique_ptr<AUTHORITY_INFO_ACCESS, internal::OpenSslDeleter<AUTHORITY_INFO_ACCESS, FreeAia>>;

// RFC 3986 percent-encoding of everything outside the unreserved set (base64's '+', '/', '=').
std::string UrlEscape(absl::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size() * 3 / 2);
  for (unsigned char c : in) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<const EVP_MD*> CertIdDigestByName(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "sha1") return EVP_sha1();
  if (lower == "sha256") return EVP_sha256();
  if (lower == "sha384") return EVP_sha384();
  if (lower == "sha512") return EVP_sha512();
  return absl::InvalidArgumentError(
      absl::StrCat("unknown CertID hash \"", name, "\": expected sha1, sha256, sha384 or sha512"));
}

absl::StatusOr<std::string> BuildRequestDer(X509* cert, X509* issuer, const EVP_MD* digest) {
  OcspCertIdPtr id(OCSP_cert_to_id(digest, cert, issuer));
  if (id == nullptr) return OpenSslError(absl::StatusCode::kInternal, "building the OCSP CertID");
  OcspRequestPtr request(OCSP_REQUEST_new());
  if (request == nullptr) return OpenSslError(absl::StatusCode::kInternal, "allocating the OCSP request");
  if (OCSP_request_add0_id(request.get(), id.get()) == nullptr) {
    return OpenSslError(absl::StatusCode::kInternal, "adding the CertID to the OCSP request");
  }
  id.release();  // Owned by the request now.
  unsigned char* der = nullptr;
  const int len = i2d_OCSP_REQUEST(request.get(), &der);
  if (len <= 0) return OpenSslError(absl::StatusCode::kInternal, "encoding the OCSP request");
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string GetUrl(absl::string_view base_url, absl::string_view request_der) {
  const std::string encoded = UrlEscape(absl::Base64Escape(request_der));
  if (encoded.size() >= 255) return "";
  while (absl::EndsWith(base_url, "/")) base_url.remove_suffix(1);
  return absl::StrCat(base_url, "/", encoded);
}

std::vector<std::string> AiaOcspUris(X509* cert) {
  std::vector<std::string> out;
  AiaPtr aia(static_cast<AUTHORITY_INFO_ACCESS*>(X509_get_ext_d2i(cert, NID_info_access, nullptr, nullptr)));
  if (aia == nullptr) {
    ClearOpenSslErrors();
    return out;
  }
  for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia.get()); ++i) {
    const ACCESS_DESCRIPTION* ad = sk_ACCESS_DESCRIPTION_value(aia.get(), i);
    if (OBJ_obj2nid(ad->method) != NID_ad_OCSP || ad->location->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = ad->location->d.uniformResourceIdentifier;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                     static_cast<size_t>(ASN1_STRING_length(uri)));
  }
  return out;
}

std::vector<std::string> WebOcspUrls(X509* cert) {
  std::vector<std::string> out;
  for (std::string& uri : AiaOcspUris(cert)) {
    if (absl::StartsWithIgnoreCase(uri, "http://") || absl::StartsWithIgnoreCase(uri, "https://")) {
      out.push_back(std::move(uri));
    }
  }
  return out;
}

}  // namespace sigil::verifier::ocsp
