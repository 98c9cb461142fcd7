// ParseStoreUri and ReadProviderConfig (no OpenSSL core needed).
#include <cstdlib>

#include "client/provider/provider_context.h"
#include "client/provider/store.h"
#include "gtest/gtest.h"

namespace sigil::provider {
namespace {

TEST(ParseStoreUriTest, AcceptsIdentityNames) {
  EXPECT_EQ(*ParseStoreUri("sigil:identity=dev-ecdsa"), "dev-ecdsa");
  EXPECT_EQ(*ParseStoreUri("sigil:identity=a.b_C-9"), "a.b_C-9");
}

TEST(ParseStoreUriTest, RejectsEverythingElse) {
  for (const char* uri : {"", "sigil:", "sigil:identity=", "file:identity=x", "sigil:name=x", "sigil:identity=a/b",
                          "sigil:identity=a b", "sigil:identity=x;y", "SIGIL:identity=x"}) {
    EXPECT_EQ(ParseStoreUri(uri).status().code(), absl::StatusCode::kInvalidArgument) << uri;
  }
  EXPECT_EQ(ParseStoreUri("sigil:identity=" + std::string(257, 'a')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ParseStoreUri("sigil:identity=" + std::string(256, 'a')).ok());
}

TEST(ReadProviderConfigTest, EnvironmentWhenNoParameters) {
  setenv("SIGIL_SIGNER", "signer.example:8443", 1);
  setenv("SIGIL_CA_FILE", "/ca.pem", 1);
  setenv("SIGIL_TIMEOUT_MS", "1500", 1);
  setenv("SIGIL_LOAD_DEFAULT", "0", 1);
  auto config = ReadProviderConfig(nullptr, nullptr);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->signer, "signer.example:8443");
  EXPECT_EQ(config->ca_file, "/ca.pem");
  EXPECT_EQ(config->timeout_ms, 1500);
  EXPECT_FALSE(config->load_default);
  setenv("SIGIL_TIMEOUT_MS", "0", 1);
  EXPECT_EQ(ReadProviderConfig(nullptr, nullptr).status().code(), absl::StatusCode::kInvalidArgument);
  setenv("SIGIL_TIMEOUT_MS", "5000", 1);
  setenv("SIGIL_LOAD_DEFAULT", "yes", 1);
  EXPECT_EQ(ReadProviderConfig(nullptr, nullptr).status().code(), absl::StatusCode::kInvalidArgument);
  unsetenv("SIGIL_LOAD_DEFAULT");
  unsetenv("SIGIL_TIMEOUT_MS");
  config = ReadProviderConfig(nullptr, nullptr);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->timeout_ms, 5000);
  EXPECT_TRUE(config->load_default);
}

}  // namespace
}  // namespace sigil::provider
