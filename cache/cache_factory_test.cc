#include "cache/cache_factory.h"

#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "cache/fake_clock.h"
#include "common/config.h"
#include "gtest/gtest.h"

namespace sigil::cache {
namespace {

std::string TestDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return std::string(tmp != nullptr ? tmp : "/tmp") + "/" + name;
}

std::shared_ptr<const Clock> TestClock() { return std::make_shared<FakeClock>(absl::FromUnixSeconds(1700000000)); }

config::v1::VerifierConfig ParseVerifierConfig(const std::string& json) {
  config::v1::VerifierConfig config;
  absl::Status status = ParseJsonConfig(json, "test config", &config);
  EXPECT_TRUE(status.ok()) << status;
  return config;
}

TEST(ValidateOcspCacheOptionsTest, Defaults) {
  absl::StatusOr<OcspCacheOptions> options = ValidateOcspCacheOptions(config::v1::OcspCache());
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->type, OcspCacheOptions::Type::kLocal);
  EXPECT_EQ(options->local.local_store, "_rc_");
  EXPECT_FALSE(options->local.preserve_revoked);
  EXPECT_EQ(options->local.save_interval, absl::Seconds(300));
}

TEST(ValidateOcspCacheOptionsTest, TypesAreCaseInsensitive) {
  for (const auto& [type, want] : std::vector<std::pair<std::string, OcspCacheOptions::Type>>{
           {"local", OcspCacheOptions::Type::kLocal},
           {"LOCAL", OcspCacheOptions::Type::kLocal},
           {"", OcspCacheOptions::Type::kLocal},
           {"none", OcspCacheOptions::Type::kNone},
           {"None", OcspCacheOptions::Type::kNone}}) {
    config::v1::OcspCache proto;
    proto.set_type(type);
    absl::StatusOr<OcspCacheOptions> options = ValidateOcspCacheOptions(proto);
    ASSERT_TRUE(options.ok()) << type << ": " << options.status();
    EXPECT_EQ(options->type, want) << type;
  }
}

TEST(ValidateOcspCacheOptionsTest, UnknownTypeIsAStartupError) {
  config::v1::OcspCache proto;
  proto.set_type("redis");
  absl::StatusOr<OcspCacheOptions> options = ValidateOcspCacheOptions(proto);
  ASSERT_FALSE(options.ok());
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(options.status().message(),
            "error parsing OCSP peer cache config, unknown type [redis]: ocsp_cache.type must be \"local\" or "
            "\"none\"");
}

TEST(ValidateOcspCacheOptionsTest, SaveInterval) {
  struct Case {
    double seconds;
    bool ok;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {1, true, ""},
           {1.5, true, ""},
           {300, true, ""},
           {0.5, false, "ocsp_cache.save_interval must be at least 1 second (got 0.5)"},
           {0, false, "ocsp_cache.save_interval must be at least 1 second (got 0)"},
           {-3, false, "ocsp_cache.save_interval must be at least 1 second (got -3)"},
           {std::numeric_limits<double>::infinity(), false,
            "ocsp_cache.save_interval must be a finite number of seconds"},
           {std::numeric_limits<double>::quiet_NaN(), false,
            "ocsp_cache.save_interval must be a finite number of seconds"}}) {
    config::v1::OcspCache proto;
    proto.set_save_interval(c.seconds);
    absl::StatusOr<OcspCacheOptions> options = ValidateOcspCacheOptions(proto);
    EXPECT_EQ(options.ok(), c.ok) << c.seconds;
    if (c.ok) {
      EXPECT_EQ(options->local.save_interval, absl::Seconds(c.seconds));
    } else {
      EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(options.status().message(), c.message);
    }
  }
}

TEST(CreateOcspCacheTest, LocalAndNone) {
  config::v1::OcspCache proto;
  proto.set_local_store(TestDir("factory_local"));
  absl::StatusOr<std::unique_ptr<OcspCache>> local = CreateOcspCache(proto, TestClock());
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ((*local)->Stats().cache_type, "local");

  // The same directory a second time: the clear lock error.
  absl::StatusOr<std::unique_ptr<OcspCache>> again = CreateOcspCache(proto, TestClock());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(again.status().message().find(proto.local_store()), std::string::npos) << again.status();

  proto.set_type("none");
  absl::StatusOr<std::unique_ptr<OcspCache>> none = CreateOcspCache(proto, TestClock());
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ((*none)->Stats().cache_type, "none");
}

TEST(CreateOcspCacheForVerifierTest, OnlyWhenAProfileEnablesOcspPeer) {
  const std::string dir = TestDir("factory_verifier");
  // Short form `true` with a profile that does not verify: validated, but no cache.
  absl::StatusOr<std::unique_ptr<OcspCache>> cache = CreateOcspCacheForVerifier(
      ParseVerifierConfig(R"({"profiles": {"default": {"ocsp_peer": false}}, "ocsp_cache": true})"), TestClock());
  ASSERT_TRUE(cache.ok()) << cache.status();
  EXPECT_EQ(*cache, nullptr);

  // Bad options stop start-up even when no profile needs a cache.
  cache = CreateOcspCacheForVerifier(ParseVerifierConfig(R"({"ocsp_cache": {"type": "disk"}})"), TestClock());
  ASSERT_FALSE(cache.ok());
  EXPECT_EQ(cache.status().code(), absl::StatusCode::kInvalidArgument);

  // Short form `false` = none.
  cache = CreateOcspCacheForVerifier(
      ParseVerifierConfig(R"({"profiles": {"p": {"ocsp_peer": true}}, "ocsp_cache": false})"), TestClock());
  ASSERT_TRUE(cache.ok()) << cache.status();
  ASSERT_NE(*cache, nullptr);
  EXPECT_EQ((*cache)->Stats().cache_type, "none");

  // ocsp_cache absent with a verifying profile = local with defaults (here with an explicit directory).
  cache = CreateOcspCacheForVerifier(
      ParseVerifierConfig(R"({"profiles": {"p": {"ocsp_peer": {"verify": true}}}, "ocsp_cache": {"local_store": ")" +
                          dir + R"("}})"),
      TestClock());
  ASSERT_TRUE(cache.ok()) << cache.status();
  ASSERT_NE(*cache, nullptr);
  EXPECT_EQ((*cache)->Stats().cache_type, "local");
}

}  // namespace
}  // namespace sigil::cache
