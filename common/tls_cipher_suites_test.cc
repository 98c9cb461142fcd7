// cipher_suites is honoured for TLS 1.2 (gRPC applies one process-wide list, so this runs in its own
// test binary): a listed suite handshakes, an unlisted one is refused, and TLS 1.3 keeps working.
#include <string>

#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/grpc_server.h"
#include "common/tls_listener.h"
#include "gtest/gtest.h"
#include "tests/pki/mtls_pki.h"

namespace sigil {
namespace {

TEST(TlsCipherSuitesTest, OnlyListedTls12SuitesHandshake) {
  auto pki = testing::MakeMtlsPki(testing::MakeTestDir("ciphers"));
  ASSERT_TRUE(pki.ok()) << pki.status();
  config::v1::Listener listener;
  ASSERT_TRUE(ParseJsonConfig(absl::StrCat(R"({"listen": "127.0.0.1:0", "tls": {"cert_file": ")",
                                           pki->server_cert, R"(", "key_file": ")", pki->server_key,
                                           R"(", "ca_file": ")", pki->ca_file, R"(", "timeout": 5,
      "cipher_suites": ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
                        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"]}})"),
                              "test", &listener)
                  .ok());
  auto options = ValidateListener(listener);
  ASSERT_TRUE(options.ok()) << options.status();
  auto server = RunningServer::Start(*options, {});
  ASSERT_TRUE(server.ok()) << server.status();
  int port = (*server)->port();
  EXPECT_TRUE(testing::OpenSslClientHandshake(port, *pki, "-tls1_2 -cipher ECDHE-ECDSA-AES256-GCM-SHA384"));
  EXPECT_FALSE(testing::OpenSslClientHandshake(port, *pki, "-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256"));
  EXPECT_TRUE(testing::OpenSslClientHandshake(port, *pki, "-tls1_3"));
}

}  // namespace
}  // namespace sigil
