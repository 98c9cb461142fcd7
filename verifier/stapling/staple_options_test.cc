#include "verifier/stapling/staple_options.h"

#include "gtest/gtest.h"

namespace sigil::verifier::stapling {
namespace {

TEST(StapleOptionsTest, ModesAndDefaults) {
  config::v1::VerifierConfig config;
  config.set_store_dir("/var/lib/sigil");
  (*config.mutable_profiles())["edge"].mutable_ocsp()->set_mode("MUST");
  (*config.mutable_profiles())["edge"].mutable_ocsp()->set_url("http://ocsp.example.net");
  (*config.mutable_profiles())["off"].mutable_ocsp()->set_mode("never");
  (*config.mutable_profiles())["all"].mutable_ocsp()->set_mode("always");
  auto options = ValidateStaplingConfig(config);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->store_dir, "/var/lib/sigil");
  EXPECT_EQ(options->profiles.at("default").mode, v1::AUTO) << "default exists even when not configured";
  EXPECT_EQ(options->profiles.at("edge").mode, v1::MUST);
  EXPECT_EQ(options->profiles.at("edge").url, "http://ocsp.example.net");
  EXPECT_EQ(options->profiles.at("off").mode, v1::NEVER);
  EXPECT_EQ(options->profiles.at("all").mode, v1::ALWAYS);
}

TEST(StapleOptionsTest, BadModeAndUrlStopStartUp) {
  config::v1::VerifierConfig config;
  (*config.mutable_profiles())["edge"].mutable_ocsp()->set_mode("sometimes");
  auto options = ValidateStaplingConfig(config);
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(options.status().message(),
            "profile \"edge\" ocsp.mode: unknown OCSP stapling mode \"sometimes\" (auto, must, always or never)");
  config.Clear();
  (*config.mutable_profiles())["edge"].mutable_ocsp()->set_url("ldap://ocsp.example.net");
  EXPECT_EQ(ValidateStaplingConfig(config).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(StapleOptionsTest, ShutdownColumn) {
  EXPECT_FALSE(ModeStopsServing(v1::AUTO));
  EXPECT_TRUE(ModeStopsServing(v1::MUST));
  EXPECT_TRUE(ModeStopsServing(v1::ALWAYS));
  EXPECT_FALSE(ModeStopsServing(v1::NEVER));
  EXPECT_TRUE(ModeStaples(v1::AUTO, true));
  EXPECT_FALSE(ModeStaples(v1::AUTO, false));
  EXPECT_FALSE(ModeStaples(v1::MUST, false));
  EXPECT_TRUE(ModeStaples(v1::ALWAYS, false));
  EXPECT_FALSE(ModeStaples(v1::NEVER, true));
}

}  // namespace
}  // namespace sigil::verifier::stapling
