// Table-driven tests of ValidateResponse over responses signed in memory (tests/ocsp/response_builder.h);
// each case is named after what it checks.
#include "verifier/ocsp/ocsp_response.h"

#include <openssl/ocsp.h>

#include <functional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/ocsp/response_builder.h"
#include "tests/pki/test_pki.h"

namespace sigil::verifier::ocsp {
namespace {

using ::sigil::testing::CertSpec;
using ::sigil::testing::Issued;
using ::sigil::testing::KeySpec;
using ::sigil::testing::MakeOcspResponse;
using ::sigil::testing::ResponseSpec;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Status = cache::CachedResponse::Status;

// Fixed "now" for every case; certificates are valid around it.
const absl::Time kNow = absl::FromUnixSeconds(sigil::testing::NowUnix());

struct Pki {
  Issued ca, other_ca, leaf, other_leaf, delegate, delegate_no_eku, delegate_expired, foreign_delegate;
};

Issued Must(absl::StatusOr<Issued> issued) {
  EXPECT_TRUE(issued.ok()) << issued.status();
  return *std::move(issued);
}

const Pki& GetPki() {
  static const Pki* pki = [] {
    auto* p = new Pki;
    CertSpec ca;
    ca.subject = {{"CN", "Test CA"}};
    ca.is_ca = true;
    p->ca = Must(sigil::testing::SelfSigned(ca, KeySpec::Ec()));
    ca.subject = {{"CN", "Other CA"}};
    p->other_ca = Must(sigil::testing::SelfSigned(ca, KeySpec::Ec()));
    CertSpec leaf;
    leaf.subject = {{"CN", "leaf"}};
    leaf.ocsp_urls = {"http://127.0.0.1:1/"};
    p->leaf = Must(sigil::testing::IssueCert(leaf, KeySpec::Ec(), p->ca));
    leaf.subject = {{"CN", "other leaf"}};
    p->other_leaf = Must(sigil::testing::IssueCert(leaf, KeySpec::Ec(), p->ca));
    CertSpec delegate;
    delegate.subject = {{"CN", "OCSP Responder"}};
    delegate.extended_key_usages = {"OCSPSigning"};
    p->delegate = Must(sigil::testing::IssueCert(delegate, KeySpec::Ec(), p->ca));
    p->foreign_delegate = Must(sigil::testing::IssueCert(delegate, KeySpec::Ec(), p->other_ca));
    delegate.not_before_unix = sigil::testing::NowUnix() - 7200;
    delegate.not_after_unix = sigil::testing::NowUnix() - 3600;
    p->delegate_expired = Must(sigil::testing::IssueCert(delegate, KeySpec::Ec(), p->ca));
    CertSpec no_eku;
    no_eku.subject = {{"CN", "Not A Responder"}};
    p->delegate_no_eku = Must(sigil::testing::IssueCert(no_eku, KeySpec::Ec(), p->ca));
    return p;
  }();
  return *pki;
}

struct Case {
  std::string name;
  // Builds the response DER.
  std::function<std::string(const Pki&)> response;
  // Whether ValidateResponse gets the leaf (false: null, issuer-only matching).
  bool with_cert = true;
  ValidationOptions options;
  absl::StatusCode code = absl::StatusCode::kOk;
  std::string message_prefix;  // For errors.
  Status status = Status::kGood;
  // For OK results: expected expires relative to kNow (checked when set).
  std::optional<absl::Duration> expires_from_now;
};

std::string Sign(const Pki& pki, const Issued& signer, ResponseSpec spec, const Issued* about = nullptr) {
  const Issued& cert = about != nullptr ? *about : pki.leaf;
  auto der = MakeOcspResponse(cert.cert.get(), pki.ca.cert.get(), signer.cert.get(), signer.key.get(), spec);
  EXPECT_TRUE(der.ok()) << der.status();
  return der.ok() ? *der : "";
}

ResponseSpec Spec(ResponseSpec::CertStatus status = ResponseSpec::CertStatus::kGood) {
  ResponseSpec spec;
  spec.status = status;
  spec.this_update = kNow - absl::Minutes(5);
  spec.next_update = kNow + absl::Minutes(55);
  spec.revoked_at = kNow - absl::Hours(2);
  return spec;
}

std::vector<Case> Cases() {
  std::vector<Case> cases;
  cases.push_back({"GoodSignedByIssuer", [](const Pki& p) { return Sign(p, p.ca, Spec()); }, true, {},
                   absl::StatusCode::kOk, "", Status::kGood, absl::Minutes(55)});
  cases.push_back({"Revoked", [](const Pki& p) { return Sign(p, p.ca, Spec(ResponseSpec::CertStatus::kRevoked)); }, true,
                   {}, absl::StatusCode::kOk, "", Status::kRevoked});
  cases.push_back({"Unknown", [](const Pki& p) { return Sign(p, p.ca, Spec(ResponseSpec::CertStatus::kUnknown)); }, true,
                   {}, absl::StatusCode::kOk, "", Status::kUnknown});
  cases.push_back({"ResponderIdByKeyWithoutCerts", [](const Pki& p) {
                     ResponseSpec s = Spec();
                     s.responder_id_by_key = true;
                     s.include_signer_cert = false;
                     return Sign(p, p.ca, s);
                   }});
  cases.push_back({"Sha256CertId", [](const Pki& p) {
                     ResponseSpec s = Spec();
                     s.cert_id_digest = EVP_sha256();
                     return Sign(p, p.ca, s);
                   }});
  cases.push_back({"DelegatedResponder", [](const Pki& p) { return Sign(p, p.delegate, Spec()); }});
  cases.push_back({"DelegatedResponderWithoutEku", [](const Pki& p) { return Sign(p, p.delegate_no_eku, Spec()); },
                   true, {}, absl::StatusCode::kInvalidArgument, "Invalid OCSP response delegation: "});
  cases.push_back({"DelegatedResponderExpired", [](const Pki& p) { return Sign(p, p.delegate_expired, Spec()); },
                   true, {}, absl::StatusCode::kInvalidArgument, "Invalid OCSP response delegation: "});
  cases.push_back({"DelegatedResponderOfAnotherCa", [](const Pki& p) { return Sign(p, p.foreign_delegate, Spec()); },
                   true, {}, absl::StatusCode::kInvalidArgument, "Invalid OCSP response delegation: "});
  cases.push_back({"SignedByAnotherCa", [](const Pki& p) { return Sign(p, p.other_ca, Spec()); }, true, {},
                   absl::StatusCode::kInvalidArgument, "Invalid OCSP response delegation: "});
  cases.push_back({"SignerNotIncludedAndNotIssuer", [](const Pki& p) {
                     ResponseSpec s = Spec();
                     s.include_signer_cert = false;
                     return Sign(p, p.delegate, s);
                   }, true, {}, absl::StatusCode::kInvalidArgument, "Failed OCSP response parse: signer"});
  cases.push_back({"ResponseForAnotherSerial", [](const Pki& p) { return Sign(p, p.ca, Spec(), &p.other_leaf); },
                   true, {}, absl::StatusCode::kInvalidArgument, "Failed OCSP response parse: no single response"});
  cases.push_back({"ResponseForAnotherSerialIssuerOnly",
                   [](const Pki& p) { return Sign(p, p.ca, Spec(), &p.other_leaf); }, false});
  cases.push_back({"ThisUpdateInTheFuture", [](const Pki& p) {
                     ResponseSpec s = Spec();
                     s.this_update = kNow + absl::Minutes(2);
                     return Sign(p, p.ca, s);
                   }, true, {}, absl::StatusCode::kFailedPrecondition, "OCSP response not in effectivity window"});
  cases.push_back({"ThisUpdateAheadWithinSkew", [](const Pki& p) {
                     ResponseSpec s = Spec();
                     s.this_update = kNow + absl::Seconds(20);
                     return Sign(p, p.ca, s);
                   }});
  cases.push_back({"StaleNextUpdate", [](const Pki& p) {
                     ResponseSpec s = Spec();
                     s.this_update = kNow - absl::Hours(2);
                     s.next_update = kNow - absl::Minutes(2);
                     return Sign(p, p.ca, s);
                   }, true, {}, absl::StatusCode::kFailedPrecondition, "OCSP response not in effectivity window"});
  cases.push_back({"NextUpdatePassedWithinSkew", [](const Pki& p) {
                     ResponseSpec s = Spec();
                     s.next_update = kNow - absl::Seconds(20);
                     return Sign(p, p.ca, s);
                   }});
  {
    ValidationOptions stale_ok;
    stale_ok.check_effectivity = false;
    cases.push_back({"StaleWithoutWindowCheck", [](const Pki& p) {
                       ResponseSpec s = Spec(ResponseSpec::CertStatus::kRevoked);
                       s.this_update = kNow - absl::Hours(2);
                       s.next_update = kNow - absl::Hours(1);
                       return Sign(p, p.ca, s);
                     }, true, stale_ok, absl::StatusCode::kOk, "", Status::kRevoked});
  }
  cases.push_back({"NextUpdateUnsetDefaultTtl", [](const Pki& p) {
                     ResponseSpec s = Spec();
                     s.this_update = kNow - absl::Minutes(30);
                     s.next_update = std::nullopt;
                     return Sign(p, p.ca, s);
                   }, true, {}, absl::StatusCode::kOk, "", Status::kGood, absl::Minutes(30)});
  {
    ValidationOptions short_ttl;
    short_ttl.ttl_when_next_update_unset = absl::Minutes(1);
    cases.push_back({"NextUpdateUnsetShortTtl", [](const Pki& p) {
                       ResponseSpec s = Spec();
                       s.this_update = kNow - absl::Minutes(30);
                       s.next_update = std::nullopt;
                       return Sign(p, p.ca, s);
                     }, true, short_ttl, absl::StatusCode::kFailedPrecondition,
                     "OCSP response not in effectivity window"});
  }
  cases.push_back({"GarbageBody", [](const Pki&) { return std::string("this is not DER"); }, true, {},
                   absl::StatusCode::kInvalidArgument, "Failed OCSP response parse: not a DER OCSPResponse"});
  cases.push_back({"TrailingBytes", [](const Pki& p) { return Sign(p, p.ca, Spec()) + "x"; }, true, {},
                   absl::StatusCode::kInvalidArgument, "Failed OCSP response parse: not a DER OCSPResponse"});
  cases.push_back({"ResponderTryLater", [](const Pki& p) {
                     ResponseSpec s = Spec();
                     s.response_status = OCSP_RESPONSE_STATUS_TRYLATER;
                     return Sign(p, p.ca, s);
                   }, true, {}, absl::StatusCode::kInvalidArgument, "Failed OCSP response parse: responder status"});
  cases.push_back({"TamperedSignature", [](const Pki& p) {
                     ResponseSpec s = Spec();
                     s.include_signer_cert = false;  // The signature is then the last element.
                     std::string der = Sign(p, p.ca, s);
                     der[der.size() - 1] ^= 0x01;  // Inside the ECDSA signature's last integer.
                     return der;
                   }, true, {}, absl::StatusCode::kInvalidArgument, "Failed OCSP response parse: signature"});
  return cases;
}

class ValidateResponseTest : public ::testing::TestWithParam<Case> {};

TEST_P(ValidateResponseTest, Case) {
  const Case& c = GetParam();
  const Pki& pki = GetPki();
  const std::string der = c.response(pki);
  ASSERT_FALSE(der.empty());
  auto result = ValidateResponse(der, c.with_cert ? pki.leaf.cert.get() : nullptr, pki.ca.cert.get(), kNow, c.options);
  ASSERT_EQ(result.status().code(), c.code) << result.status();
  if (!result.ok()) {
    EXPECT_THAT(std::string(result.status().message()), StartsWith(c.message_prefix));
    if (c.code == absl::StatusCode::kFailedPrecondition) {
      EXPECT_EQ(result.status().message(), "OCSP response not in effectivity window");
    }
    return;
  }
  EXPECT_EQ(result->status, c.status);
  if (c.status == Status::kRevoked) {
    ASSERT_TRUE(result->revoked_at.has_value());
    EXPECT_EQ(*result->revoked_at, kNow - absl::Hours(2));
  }
  if (c.expires_from_now.has_value()) EXPECT_EQ(result->expires, kNow + *c.expires_from_now);
}

INSTANTIATE_TEST_SUITE_P(Cases, ValidateResponseTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(ValidateResponseTest, DelegatedSignerValidityBoundsTheVerdict) {
  const Pki& pki = GetPki();
  auto der = MakeOcspResponse(pki.leaf.cert.get(), pki.ca.cert.get(), pki.delegate.cert.get(),
                              pki.delegate.key.get(), Spec());
  ASSERT_TRUE(der.ok());
  auto result = ValidateResponse(*der, pki.leaf.cert.get(), pki.ca.cert.get(), kNow, {});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_LT(result->signer_not_after, absl::InfiniteFuture());
}

}  // namespace
}  // namespace sigil::verifier::ocsp
