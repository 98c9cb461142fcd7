#include "verifier/advisories/advisory_config.h"

#include "gtest/gtest.h"

namespace sigil::verifier::advisories {
namespace {

TEST(AdvisoryConfigTest, Defaults) {
  auto options = ValidateAdvisoryConfig(config::v1::VerifierConfig());
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->bus.queue_size, 1024u);
  EXPECT_EQ(options->watcher_queue_size, 256u);
  EXPECT_FALSE(options->nats.has_value());
  auto bus = CreateAdvisoryBus(*options);
  EXPECT_TRUE(bus.ok()) << bus.status();
}

TEST(AdvisoryConfigTest, NatsAndBounds) {
  config::v1::VerifierConfig config;
  config.mutable_advisories()->set_queue_size(10);
  config.mutable_advisories()->set_watcher_queue_size(5);
  config.mutable_advisories()->mutable_nats()->set_url("nats://127.0.0.1:4222");
  auto options = ValidateAdvisoryConfig(config);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->bus.queue_size, 10u);
  EXPECT_EQ(options->watcher_queue_size, 5u);
  ASSERT_TRUE(options->nats.has_value());
  EXPECT_EQ(options->nats->name, "sigil-verifierd");
  EXPECT_FALSE(options->nats->server_id.empty()) << "defaults to the host name";
}

TEST(AdvisoryConfigTest, BadValuesStopStartUp) {
  config::v1::VerifierConfig config;
  config.mutable_advisories()->set_queue_size(0);
  auto options = ValidateAdvisoryConfig(config);
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(options.status().message(), "advisories.queue_size must be between 1 and 1000000, got 0");
  config.Clear();
  config.mutable_advisories()->mutable_nats()->set_creds_file("/x");
  EXPECT_EQ(ValidateAdvisoryConfig(config).status().code(), absl::StatusCode::kInvalidArgument);
  config.Clear();
  config.mutable_advisories()->mutable_nats()->set_url("nats://127.0.0.1:4222");
  config.mutable_advisories()->mutable_nats()->set_creds_file("/nonexistent/user.creds");
  auto valid = ValidateAdvisoryConfig(config);
  ASSERT_TRUE(valid.ok());
  EXPECT_EQ(CreateAdvisoryBus(*valid).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sigil::verifier::advisories
