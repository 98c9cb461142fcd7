#include "verifier/verifier_options.h"

#include "common/config.h"
#include "gtest/gtest.h"

namespace sigil::verifier {
namespace {

absl::StatusOr<VerifierOptions> FromJson(const std::string& json) {
  config::v1::VerifierConfig config;
  if (auto status = ParseJsonConfig(json, "test", &config); !status.ok()) return status;
  return ValidateVerifierConfig(config);
}

TEST(VerifierOptions, ShortFormTrueMeansVerifyWithTheSeedDefaults) {
  auto options = FromJson(R"({"profiles": {"default": {"ocsp_peer": true}}})");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_TRUE(options->any_ocsp_peer);
  const OcspPeerOptions& p = options->profiles.at("default");
  EXPECT_TRUE(p.verify);
  EXPECT_EQ(p.ca_timeout, absl::Seconds(2));
  EXPECT_EQ(p.allowed_clockskew, absl::Seconds(30));
  EXPECT_FALSE(p.warn_only);
  EXPECT_FALSE(p.unknown_is_good);
  EXPECT_FALSE(p.allow_when_ca_unreachable);
  EXPECT_EQ(p.cache_ttl_when_next_update_unset, absl::Seconds(3600));
  EXPECT_EQ(p.cert_id_digest, EVP_sha1());
  EXPECT_EQ(p.max_response_bytes, 65536u);
}

TEST(VerifierOptions, LongFormFractionalSeconds) {
  auto options = FromJson(R"({"profiles": {"strict": {"ocsp_peer": {"verify": true, "ca_timeout": 0.5,
      "allowed_clockskew": 0, "warn_only": true, "unknown_is_good": true, "allow_when_ca_unreachable": true,
      "cache_ttl_when_next_update_unset": 1.5, "cert_id_hash": "sha256", "max_response_bytes": 4096}}}})");
  ASSERT_TRUE(options.ok()) << options.status();
  const OcspPeerOptions& p = options->profiles.at("strict");
  EXPECT_EQ(p.ca_timeout, absl::Milliseconds(500));
  EXPECT_EQ(p.allowed_clockskew, absl::ZeroDuration());
  EXPECT_TRUE(p.warn_only && p.unknown_is_good && p.allow_when_ca_unreachable);
  EXPECT_EQ(p.cache_ttl_when_next_update_unset, absl::Milliseconds(1500));
  EXPECT_EQ(p.cert_id_digest, EVP_sha256());
  EXPECT_EQ(p.max_response_bytes, 4096u);
}

TEST(VerifierOptions, NoVerifyNoCache) {
  auto options = FromJson(R"({"profiles": {"default": {"ocsp_peer": false}}})");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_FALSE(options->any_ocsp_peer);
}

TEST(VerifierOptions, StartUpErrors) {
  struct Case {
    const char* json;
    const char* message;
  };
  for (const Case& c : {
           Case{R"({"profiles": {"p": {"ocsp_peer": {"ca_timeout": -1}}}})",
                "profile \"p\": ocsp_peer.ca_timeout must be a non-negative number of seconds, got -1"},
           Case{R"({"profiles": {"p": {"ocsp_peer": {"ca_timeout": 0}}}})",
                "profile \"p\": ocsp_peer.ca_timeout must be above 0 and at most 60 seconds"},
           Case{R"({"profiles": {"p": {"ocsp_peer": {"allowed_clockskew": -0.5}}}})",
                "profile \"p\": ocsp_peer.allowed_clockskew must be a non-negative number of seconds, got -0.5"},
           Case{R"({"profiles": {"p": {"ocsp_peer": {"cert_id_hash": "md5"}}}})",
                "profile \"p\": ocsp_peer.cert_id_hash: unknown CertID hash \"md5\": expected sha1, sha256, sha384 "
                "or sha512"},
           Case{R"({"profiles": {"p": {"ocsp_peer": {"max_response_bytes": 10}}}})",
                "profile \"p\": ocsp_peer.max_response_bytes must be between 1024 and 16777216, got 10"},
           Case{R"({"profiles": {"": {"ocsp_peer": true}}})", "profiles: a profile name must not be empty"},
       }) {
    auto options = FromJson(c.json);
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_EQ(options.status().message(), c.message);
  }
}

}  // namespace
}  // namespace sigil::verifier
