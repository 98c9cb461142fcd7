#include "common/config.h"

#include <string>

#include "gtest/gtest.h"
#include "sigil/config/v1/signer.pb.h"
#include "sigil/config/v1/verifier.pb.h"

namespace sigil {
namespace {

using config::v1::SignerConfig;
using config::v1::VerifierConfig;

TEST(ConfigTest, ParsesSignerConfig) {
  SignerConfig config;
  ASSERT_TRUE(ParseJsonConfig(R"({"listener": {"listen": "127.0.0.1:7443",
      "tls": {"cert_file": "c.pem", "key_file": "k.pem", "verify": false, "timeout": 0.25,
              "pinned_certs": ["ab"], "cipher_suites": ["x"], "curve_preferences": ["CurveP256"]}},
      "identities": [{"name": "dev-rsa", "cert_file": "r.pem", "key_file": "rk.pem",
                      "allowed_principals": ["operator"]}]})",
                              "test", &config)
                  .ok());
  EXPECT_EQ(config.listener().listen(), "127.0.0.1:7443");
  EXPECT_TRUE(config.listener().tls().has_verify());
  EXPECT_FALSE(config.listener().tls().verify());
  EXPECT_DOUBLE_EQ(config.listener().tls().timeout(), 0.25);
  EXPECT_EQ(config.listener().tls().curve_preferences(0), "CurveP256");
  EXPECT_EQ(config.identities(0).allowed_principals(0), "operator");
}

TEST(ConfigTest, UnknownFieldIsAnErrorNamingIt) {
  SignerConfig config;
  absl::Status status = ParseJsonConfig(R"({"listener": {"listen": "x", "tls": {"certfile": "a"}}})",
                                        "config 'signerd.json'", &config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("config 'signerd.json'"), absl::string_view::npos) << status;
  EXPECT_NE(status.message().find("certfile"), absl::string_view::npos) << status;
}

TEST(ConfigTest, WrongTypeAndBadJsonAreErrors) {
  SignerConfig config;
  EXPECT_EQ(ParseJsonConfig(R"({"listener": {"listen": 5}})", "c", &config).code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status status = ParseJsonConfig("{not json", "c", &config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("not valid JSON"), absl::string_view::npos) << status;
}

TEST(ConfigTest, ShortFormsExpand) {
  VerifierConfig config;
  ASSERT_TRUE(ParseJsonConfig(R"({"profiles": {"default": {"ocsp_peer": true},
                                                "off": {"ocsp_peer": false}},
                                   "ocsp_cache": false})",
                              "c", &config)
                  .ok());
  EXPECT_TRUE(config.profiles().at("default").ocsp_peer().verify());
  EXPECT_TRUE(config.profiles().at("off").has_ocsp_peer());
  EXPECT_FALSE(config.profiles().at("off").ocsp_peer().verify());
  EXPECT_EQ(config.ocsp_cache().type(), "none");

  ASSERT_TRUE(ParseJsonConfig(R"({"ocsp_cache": true})", "c", &config).ok());
  EXPECT_EQ(config.ocsp_cache().type(), "local");

  ASSERT_TRUE(ParseJsonConfig(R"({"profiles": {"p": {"ocsp_peer": {"verify": true, "ca_timeout": 0.5,
                                  "cache_ttl_when_next_update_unset": 60}}}})",
                              "c", &config)
                  .ok());
  EXPECT_DOUBLE_EQ(config.profiles().at("p").ocsp_peer().ca_timeout(), 0.5);
  EXPECT_FALSE(config.profiles().at("p").ocsp_peer().has_allowed_clockskew());
}

TEST(ConfigTest, MissingFileIsNotFound) {
  SignerConfig config;
  absl::Status status = LoadJsonConfigFile("/nonexistent/signerd.json", &config);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "cannot open '/nonexistent/signerd.json': no such file");
}

}  // namespace
}  // namespace sigil
