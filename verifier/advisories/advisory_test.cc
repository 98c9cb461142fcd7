#include "verifier/advisories/advisory.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/pki/test_pki.h"

namespace sigil::verifier::advisories {
namespace {

using ::sigil::testing::CertSpec;
using ::sigil::testing::IssueCert;
using ::sigil::testing::KeySpec;
using ::sigil::testing::SelfSigned;

class AdvisoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CertSpec ca_spec;
    ca_spec.subject = {{"C", "US"}, {"O", "Tinghus"}, {"CN", "Intermediate CA"}};
    ca_spec.is_ca = true;
    auto ca = SelfSigned(ca_spec, KeySpec::Ec());
    ASSERT_TRUE(ca.ok()) << ca.status();
    CertSpec leaf_spec;
    leaf_spec.subject = {{"C", "US"}, {"O", "Tinghus"}, {"CN", "BadUserA1"}};
    auto leaf = IssueCert(leaf_spec, KeySpec::Ec(), *ca);
    ASSERT_TRUE(leaf.ok()) << leaf.status();
    leaf_der_ = leaf->CertDer();
    auto info = DescribeCertificate(leaf_der_);
    ASSERT_TRUE(info.ok()) << info.status();
    leaf_ = *info;
    server_.set_name("tester");
    server_.set_host("10.0.0.7");
    server_.set_id("NAXQD6DG5FVZANGJTOB7BM2H3PYDEHSYOZDHNBEJZARWOPDOKL64W4W4");
  }

  std::string CertJson() const {
    return absl::StrCat(R"({"subject":"CN=BadUserA1,O=Tinghus,C=US","issuer":"CN=Intermediate CA,O=Tinghus,C=US",)",
                        R"("fingerprint":")", leaf_.fingerprint, R"(","raw":")", leaf_.raw, R"("})");
  }

  std::string leaf_der_;
  CertInfo leaf_;
  v1::ServerInfo server_;
  const absl::Time time_ = absl::FromUnixNanos(1687242193659116379);
};

TEST_F(AdvisoryTest, DescribeCertificate) {
  EXPECT_EQ(leaf_.subject, "CN=BadUserA1,O=Tinghus,C=US");
  EXPECT_EQ(leaf_.issuer, "CN=Intermediate CA,O=Tinghus,C=US");
  EXPECT_EQ(leaf_.raw, absl::Base64Escape(leaf_der_));
  EXPECT_EQ(leaf_.fingerprint.size(), 44u);  // base64 of 32 bytes.
  EXPECT_EQ(DescribeCertificate("not der").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AdvisoryTest, PeerRejectHasTheReferenceShapeAndOrder) {
  AdvisoryEvent event = BuildPeerReject({leaf_, "Client", server_, "client not OCSP valid", time_});
  EXPECT_EQ(event.message.type(), "io.nats.server.advisory.v1.ocsp_peer_reject");
  EXPECT_EQ(event.message.timestamp().seconds(), 1687242193);
  EXPECT_EQ(event.message.timestamp().nanos(), 659116379);
  EXPECT_EQ(event.server_id, server_.id());
  const std::string expected = absl::StrCat(
      R"({"type":"io.nats.server.advisory.v1.ocsp_peer_reject","id":")", event.message.id(),
      R"(","timestamp":"2023-06-20T06:23:13.659116379Z","kind":"Client","peer":)", CertJson(),
      R"(,"server":{"name":"tester","host":"10.0.0.7","id":"NAXQD6DG5FVZANGJTOB7BM2H3PYDEHSYOZDHNBEJZARWOPDOKL64W4W4",)",
      R"("time":"2023-06-20T06:23:13.659116379Z"},"reason":"client not OCSP valid"})");
  EXPECT_EQ(event.message.json(), expected);
  // And it is JSON a standard parser takes.
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(event.message.json(), &parsed).ok());
  EXPECT_EQ(parsed.fields().at("peer").struct_value().fields().at("raw").string_value(), leaf_.raw);
  EXPECT_NE(event.log_line.find("client not OCSP valid"), std::string::npos);
  EXPECT_EQ(event.log_line.find(leaf_.raw), std::string::npos) << "the log line must not carry the raw certificate";
}

TEST_F(AdvisoryTest, PeerRejectWithoutKindOmitsIt) {
  AdvisoryEvent event = BuildPeerReject({leaf_, "", server_, "server not OCSP valid", time_});
  EXPECT_EQ(event.message.json().find("\"kind\""), std::string::npos);
}

TEST_F(AdvisoryTest, LinkInvalidHasTheReferenceShapeAndOrder) {
  AdvisoryEvent event =
      BuildLinkInvalid({leaf_, leaf_, server_, "Invalid OCSP response status: revoked", time_, false});
  EXPECT_EQ(event.message.type(), "io.nats.server.advisory.v1.ocsp_peer_link_invalid");
  const std::string expected = absl::StrCat(
      R"({"type":"io.nats.server.advisory.v1.ocsp_peer_link_invalid","id":")", event.message.id(),
      R"(","timestamp":"2023-06-20T06:23:13.659116379Z","link":)", CertJson(), R"(,"peer":)", CertJson(),
      R"(,"server":{"name":"tester","host":"10.0.0.7","id":"NAXQD6DG5FVZANGJTOB7BM2H3PYDEHSYOZDHNBEJZARWOPDOKL64W4W4",)",
      R"("time":"2023-06-20T06:23:13.659116379Z"},"reason":"Invalid OCSP response status: revoked"})");
  EXPECT_EQ(event.message.json(), expected);
}

TEST_F(AdvisoryTest, LinkInvalidUnderWarnOnlyIsMarkedAllowed) {
  AdvisoryEvent event =
      BuildLinkInvalid({leaf_, leaf_, server_, "Invalid OCSP response status: revoked", time_, true});
  const std::string& json = event.message.json();
  const std::string tail = R"(,"reason":"Invalid OCSP response status: revoked","allowed":true})";
  ASSERT_GE(json.size(), tail.size());
  EXPECT_EQ(json.substr(json.size() - tail.size()), tail);
}

TEST(EventIdTest, TwentyTwoBase62CharactersAndUnique) {
  const std::string a = NewEventId();
  const std::string b = NewEventId();
  EXPECT_EQ(a.size(), 22u);
  EXPECT_EQ(a.find_first_not_of("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"), std::string::npos);
  EXPECT_NE(a, b);
}

TEST(TimestampTest, Rfc3339NanoDropsTrailingZeros) {
  EXPECT_EQ(FormatTimestamp(absl::FromUnixNanos(1687242193659116379)), "2023-06-20T06:23:13.659116379Z");
  EXPECT_EQ(FormatTimestamp(absl::FromUnixMillis(1687242193500)), "2023-06-20T06:23:13.5Z");
  EXPECT_EQ(FormatTimestamp(absl::FromUnixSeconds(1687242193)), "2023-06-20T06:23:13Z");
}

}  // namespace
}  // namespace sigil::verifier::advisories
