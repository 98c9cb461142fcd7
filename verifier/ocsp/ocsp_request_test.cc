#include "verifier/ocsp/ocsp_request.h"

#include <openssl/ocsp.h>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/pki/test_pki.h"

namespace sigil::verifier::ocsp {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::StartsWith;

TEST(CertIdDigestByName, KnownAndUnknown) {
  EXPECT_EQ(*CertIdDigestByName("sha1"), EVP_sha1());
  EXPECT_EQ(*CertIdDigestByName("SHA256"), EVP_sha256());
  EXPECT_EQ(*CertIdDigestByName("sha384"), EVP_sha384());
  EXPECT_EQ(*CertIdDigestByName("sha512"), EVP_sha512());
  auto md5 = CertIdDigestByName("md5");
  EXPECT_EQ(md5.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(md5.status().message(), "unknown CertID hash \"md5\": expected sha1, sha256, sha384 or sha512");
}

TEST(GetUrl, SmallRequestsUseRfc5019Encoding) {
  const std::string der("\x30\x03\xfb\xff\xfe", 5);  // base64 "MAP7//4=": '/' and '=' are escaped.
  EXPECT_EQ(GetUrl("http://ocsp.example/", der), "http://ocsp.example/MAP7%2F%2F4%3D");
  EXPECT_EQ(GetUrl("http://ocsp.example", der), "http://ocsp.example/MAP7%2F%2F4%3D");
}

TEST(GetUrl, LargeRequestsArePosted) {
  // 190 bytes: 252 base64 characters + "==", escaped to 258 bytes.
  EXPECT_THAT(GetUrl("http://ocsp.example/", std::string(190, 'a')), IsEmpty());
  // 189 bytes: 252 base64 characters, nothing to escape.
  EXPECT_THAT(GetUrl("http://ocsp.example/", std::string(189, 'a')), StartsWith("http://ocsp.example/YWFh"));
}

TEST(AiaUrls, OnlyHttpAndHttpsMakeALinkEligible) {
  sigil::testing::CertSpec ca_spec;
  ca_spec.subject = {{"CN", "CA"}};
  ca_spec.is_ca = true;
  auto ca = sigil::testing::SelfSigned(ca_spec, sigil::testing::KeySpec::Ec());
  ASSERT_TRUE(ca.ok());
  sigil::testing::CertSpec leaf_spec;
  leaf_spec.subject = {{"CN", "leaf"}};
  leaf_spec.ocsp_urls = {"ldap://ocsp.example/", "http://a.example/", "HTTPS://b.example/ocsp"};
  auto leaf = sigil::testing::IssueCert(leaf_spec, sigil::testing::KeySpec::Ec(), *ca);
  ASSERT_TRUE(leaf.ok());
  EXPECT_THAT(AiaOcspUris(leaf->cert.get()),
              ElementsAre("ldap://ocsp.example/", "http://a.example/", "HTTPS://b.example/ocsp"));
  EXPECT_THAT(WebOcspUrls(leaf->cert.get()), ElementsAre("http://a.example/", "HTTPS://b.example/ocsp"));
  EXPECT_THAT(WebOcspUrls(ca->cert.get()), IsEmpty());

  // The request carries one CertID for the leaf's serial with the chosen hash.
  auto der = BuildRequestDer(leaf->cert.get(), ca->cert.get(), EVP_sha256());
  ASSERT_TRUE(der.ok()) << der.status();
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der->data());
  OCSP_REQUEST* request = d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(der->size()));
  ASSERT_NE(request, nullptr);
  EXPECT_EQ(OCSP_request_onereq_count(request), 1);
  OCSP_CERTID* expected = OCSP_cert_to_id(EVP_sha256(), leaf->cert.get(), ca->cert.get());
  EXPECT_EQ(OCSP_id_cmp(expected, OCSP_onereq_get0_id(OCSP_request_onereq_get0(request, 0))), 0);
  OCSP_CERTID_free(expected);
  OCSP_REQUEST_free(request);
}

}  // namespace
}  // namespace sigil::verifier::ocsp
