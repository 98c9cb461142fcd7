// The tls map: every option parsed, each misconfiguration's exact error, and real mTLS handshakes
// against a running listener (gRPC clients and `openssl s_client`).
#include "common/tls_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/channel.h"
#include "common/config.h"
#include "common/grpc_server.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "sigil/cache/v1/cache.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/pki/mtls_pki.h"

namespace sigil {
namespace {

using config::v1::Listener;

class TlsListenerTest : public ::testing::Test {
 protected:
  // Runs once per suite derived from this fixture; they share one PKI (a second would leak the first).
  static void SetUpTestSuite() {
    if (pki_ != nullptr) return;
    auto pki = testing::MakeMtlsPki(testing::MakeTestDir("tls_listener"));
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = new testing::MtlsPki(*std::move(pki));
  }

  // A listener config from JSON with $CERT, $KEY and $CA replaced by the test PKI's files.
  Listener Parse(std::string json) {
    for (auto [from, to] : {std::pair<std::string, std::string>{"$CERT", pki_->server_cert},
                            {"$KEY", pki_->server_key},
                            {"$CA", pki_->ca_file},
                            {"$PIN", pki_->client_pin},
                            {"$DIR", pki_->dir}}) {
      for (size_t pos; (pos = json.find(from)) != std::string::npos;) json.replace(pos, from.size(), to);
    }
    Listener listener;
    absl::Status status = ParseJsonConfig(json, "test", &listener);
    EXPECT_TRUE(status.ok()) << status;
    return listener;
  }

  static testing::MtlsPki* pki_;
};

testing::MtlsPki* TlsListenerTest::pki_ = nullptr;

TEST_F(TlsListenerTest, EveryOptionParsed) {
  auto options = ValidateListener(Parse(R"({"listen": "127.0.0.1:0", "tls": {
      "cert_file": "$CERT", "key_file": "$KEY", "ca_file": "$CA", "verify": true, "timeout": 2.5,
      "pinned_certs": ["$PIN"],
      "cipher_suites": ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
                        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"],
      "curve_preferences": ["X25519", "CurveP256"]}})"));
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->listen, "127.0.0.1:0");
  EXPECT_FALSE(options->plaintext);
  EXPECT_TRUE(options->verify);
  EXPECT_EQ(options->handshake_timeout, absl::Milliseconds(2500));
  EXPECT_EQ(options->pinned_spki_sha256, std::vector<std::string>{pki_->client_pin});
  EXPECT_EQ(options->tls12_cipher_list, "ECDHE-ECDSA-AES256-GCM-SHA384");
  EXPECT_NE(options->client_ca_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_NE(options->cert_chain_pem.find("BEGIN CERTIFICATE"), std::string::npos);
}

TEST_F(TlsListenerTest, Defaults) {
  auto options = ValidateListener(Parse(R"({"listen": "127.0.0.1:0", "tls": {
      "cert_file": "$CERT", "key_file": "$KEY", "ca_file": "$CA"}})"));
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_TRUE(options->verify);  // mutual TLS unless turned off
  EXPECT_EQ(options->handshake_timeout, absl::Milliseconds(500));  // the seed's 0.5 s
  EXPECT_TRUE(options->pinned_spki_sha256.empty());
  EXPECT_TRUE(options->tls12_cipher_list.empty());
}

TEST_F(TlsListenerTest, WithoutCaFileVerifiesAgainstTheSystemTrustStore) {
  auto options = ValidateListener(Parse(R"({"listen": "127.0.0.1:0", "tls": {
      "cert_file": "$CERT", "key_file": "$KEY"}})"));
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_NE(options->client_ca_source.find("system trust store"), std::string::npos);
}

struct ErrorCase {
  const char* name;
  const char* json;
  absl::StatusCode code;
  const char* message;
};

class TlsListenerErrorTest : public TlsListenerTest, public ::testing::WithParamInterface<ErrorCase> {};

TEST_P(TlsListenerErrorTest, ExactError) {
  auto options = ValidateListener(Parse(GetParam().json));
  ASSERT_FALSE(options.ok());
  EXPECT_EQ(options.status().code(), GetParam().code);
  std::string message(options.status().message());
  std::string expected = GetParam().message;
  for (size_t pos; (pos = expected.find("$DIR")) != std::string::npos;) expected.replace(pos, 4, pki_->dir);
  EXPECT_EQ(message, expected);
}

constexpr auto kBad = absl::StatusCode::kInvalidArgument;

INSTANTIATE_TEST_SUITE_P(
    Misconfigurations, TlsListenerErrorTest,
    ::testing::Values(
        ErrorCase{"NoListen", R"({"tls": {"cert_file": "$CERT", "key_file": "$KEY"}})", kBad,
                  "listener: 'listen' is required (host:port)"},
        ErrorCase{"NoTls", R"({"listen": "127.0.0.1:0"})", kBad,
                  "listener: a 'tls' map is required (or 'plaintext_development_only' for development)"},
        ErrorCase{"TlsAndPlaintext",
                  R"({"listen": "127.0.0.1:0", "plaintext_development_only": true, "tls": {}})", kBad,
                  "listener: 'tls' and 'plaintext_development_only' may not both be configured"},
        ErrorCase{"NoCertFile", R"({"listen": "127.0.0.1:0", "tls": {"key_file": "$KEY"}})", kBad,
                  "tls: 'cert_file' is required"},
        ErrorCase{"NoKeyFile", R"({"listen": "127.0.0.1:0", "tls": {"cert_file": "$CERT"}})", kBad,
                  "tls: 'key_file' is required"},
        ErrorCase{"MissingCertFile",
                  R"({"listen": "127.0.0.1:0", "tls": {"cert_file": "/nonexistent.pem", "key_file": "$KEY"}})",
                  kBad, "tls: cert_file: cannot open '/nonexistent.pem': no such file"},
        ErrorCase{"CertFileNotPem",
                  R"({"listen": "127.0.0.1:0", "tls": {"cert_file": "$KEY", "key_file": "$KEY"}})", kBad,
                  "tls: cert_file: no PEM certificate found"},
        ErrorCase{"KeyDoesNotMatch",
                  R"({"listen": "127.0.0.1:0", "tls": {"cert_file": "$CERT", "key_file": "$DIR/client-key.pem"}})",
                  kBad, "tls: 'key_file' does not match the certificate in 'cert_file'"},
        ErrorCase{"MissingCaFile",
                  R"({"listen": "127.0.0.1:0", "tls": {"cert_file": "$CERT", "key_file": "$KEY", "ca_file": "/nonexistent-ca.pem"}})",
                  kBad, "tls: ca_file: cannot open '/nonexistent-ca.pem': no such file"},
        ErrorCase{"ZeroTimeout",
                  R"({"listen": "127.0.0.1:0", "tls": {"cert_file": "$CERT", "key_file": "$KEY", "ca_file": "$CA", "timeout": 0}})",
                  kBad, "tls: 'timeout' must be a positive number of seconds (at most 3600)"},
        ErrorCase{"NegativeTimeout",
                  R"({"listen": "127.0.0.1:0", "tls": {"cert_file": "$CERT", "key_file": "$KEY", "ca_file": "$CA", "timeout": -1}})",
                  kBad, "tls: 'timeout' must be a positive number of seconds (at most 3600)"},
        ErrorCase{"PinNotHex",
                  R"({"listen": "127.0.0.1:0", "tls": {"cert_file": "$CERT", "key_file": "$KEY", "ca_file": "$CA", "pinned_certs": ["abc"]}})",
                  kBad, "tls: pinned_certs entry 'abc' is not a hex SHA-256 of a public key (64 hex digits)"},
        ErrorCase{"PinWithoutVerify",
                  R"({"listen": "127.0.0.1:0", "tls": {"cert_file": "$CERT", "key_file": "$KEY", "verify": false, "pinned_certs": ["$PIN"]}})",
                  kBad, "tls: 'pinned_certs' needs 'verify': client certificates must be requested to be pinned"},
        ErrorCase{"UnknownCipher",
                  R"({"listen": "127.0.0.1:0", "tls": {"cert_file": "$CERT", "key_file": "$KEY", "ca_file": "$CA", "cipher_suites": ["TLS_RSA_WITH_RC4_128_MD5x"]}})",
                  kBad, "tls: cipher_suites: unknown cipher suite 'TLS_RSA_WITH_RC4_128_MD5x'"},
        ErrorCase{"CiphersWithoutTls13",
                  R"({"listen": "127.0.0.1:0", "tls": {"cert_file": "$CERT", "key_file": "$KEY", "ca_file": "$CA", "cipher_suites": ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"]}})",
                  kBad,
                  "tls: cipher_suites cannot be honoured: gRPC listeners always allow the TLS 1.3 suites "
                  "TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384 and TLS_CHACHA20_POLY1305_SHA256; list all three"},
        ErrorCase{"UnknownCurve",
                  R"({"listen": "127.0.0.1:0", "tls": {"cert_file": "$CERT", "key_file": "$KEY", "ca_file": "$CA", "curve_preferences": ["P-256"]}})",
                  kBad, "tls: curve_preferences: unknown curve 'P-256' (CurveP256, CurveP384, CurveP521, X25519)"},
        ErrorCase{"CurvesWithoutP256",
                  R"({"listen": "127.0.0.1:0", "tls": {"cert_file": "$CERT", "key_file": "$KEY", "ca_file": "$CA", "curve_preferences": ["X25519", "CurveP384"]}})",
                  kBad,
                  "tls: curve_preferences cannot be honoured: gRPC 1.51 listeners negotiate P-256 (CurveP256) only; "
                  "the list must contain CurveP256"},
        ErrorCase{"Insecure",
                  R"({"listen": "127.0.0.1:0", "tls": {"cert_file": "$CERT", "key_file": "$KEY", "insecure": true}})",
                  kBad, "tls: 'insecure' applies only to outgoing connections and is not accepted on a listener"},
        ErrorCase{"VerifyAndMap",
                  R"({"listen": "127.0.0.1:0", "tls": {"cert_file": "$CERT", "key_file": "$KEY", "verify_and_map": true}})",
                  kBad,
                  "tls: 'verify_and_map' cannot be honoured by a gRPC listener; Sigil authorizes callers by their "
                  "certificate principals instead"},
        ErrorCase{"VerifyCertAndCheckKnownUrls",
                  R"({"listen": "127.0.0.1:0", "tls": {"cert_file": "$CERT", "key_file": "$KEY", "verify_cert_and_check_known_urls": true}})",
                  kBad, "tls: 'verify_cert_and_check_known_urls' cannot be honoured by a gRPC listener"}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return info.param.name; });

// ---- Real handshakes against a running listener ----

class MtlsHandshakeTest : public TlsListenerTest {
 protected:
  void StartServer(const std::string& json) {
    auto options = ValidateListener(Parse(json));
    ASSERT_TRUE(options.ok()) << options.status();
    auto server = RunningServer::Start(*options, {});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // Calls grpc.health.v1.Health/Check with the given client certificate (empty = none).
  grpc::Status Check(const std::string& cert, const std::string& key) {
    client::ChannelOptions options;
    options.target = absl::StrCat("127.0.0.1:", server_->port());
    options.ca_file = pki_->ca_file;
    options.cert_file = cert;
    options.key_file = key;
    auto channel = client::MakeChannel(options);
    EXPECT_TRUE(channel.ok()) << channel.status();
    auto stub = grpc::health::v1::Health::NewStub(*channel);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = stub->Check(&context, {}, &response);
    if (status.ok()) EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
    return status;
  }

  // A real `openssl s_client` handshake with the operator certificate; keeps the output of a failure.
  bool OpenSslHandshake(const std::string& extra_args) {
    std::string output;
    bool established = testing::OpenSslClientHandshake(server_->port(), *pki_, extra_args, &output);
    if (!established) last_openssl_output_ = output;
    return established;
  }

  std::string last_openssl_output_;

  std::unique_ptr<RunningServer> server_;
};

constexpr const char* kMtls =
    R"({"listen": "127.0.0.1:0", "tls": {"cert_file": "$CERT", "key_file": "$KEY", "ca_file": "$CA", "timeout": 5}})";

TEST_F(MtlsHandshakeTest, ClientFromTheCaIsAccepted) {
  StartServer(kMtls);
  EXPECT_TRUE(Check(pki_->client_cert, pki_->client_key).ok());
}

TEST_F(MtlsHandshakeTest, ClientWithoutCertificateIsRefused) {
  StartServer(kMtls);
  EXPECT_EQ(Check("", "").error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(MtlsHandshakeTest, ClientFromAnotherCaIsRefused) {
  StartServer(kMtls);
  EXPECT_EQ(Check(pki_->foreign_client_cert, pki_->foreign_client_key).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(MtlsHandshakeTest, OnlyPinnedClientsAreAccepted) {
  StartServer(R"({"listen": "127.0.0.1:0", "tls": {"cert_file": "$CERT", "key_file": "$KEY", "ca_file": "$CA",
                  "timeout": 5, "pinned_certs": ["$PIN"]}})");
  EXPECT_TRUE(Check(pki_->client_cert, pki_->client_key).ok());
  EXPECT_EQ(Check(pki_->second_client_cert, pki_->second_client_key).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // Pinning adds to chain verification; it does not replace it.
  EXPECT_EQ(Check(pki_->foreign_client_cert, pki_->foreign_client_key).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(MtlsHandshakeTest, VerifyFalseAcceptsClientsWithoutCertificates) {
  StartServer(R"({"listen": "127.0.0.1:0", "tls": {"cert_file": "$CERT", "key_file": "$KEY", "verify": false}})");
  EXPECT_TRUE(Check("", "").ok());
}

TEST_F(MtlsHandshakeTest, OpenSslClientHandshakes) {
  StartServer(kMtls);
  EXPECT_TRUE(OpenSslHandshake("-tls1_3")) << last_openssl_output_;
  EXPECT_TRUE(OpenSslHandshake("-tls1_2")) << last_openssl_output_;
}

// The reason curve_preferences must contain CurveP256: gRPC 1.51 servers offer no other group.
TEST_F(MtlsHandshakeTest, KeyExchangeIsP256Only) {
  StartServer(kMtls);
  EXPECT_TRUE(OpenSslHandshake("-groups P-256"));
  EXPECT_FALSE(OpenSslHandshake("-groups X25519"));
  EXPECT_FALSE(OpenSslHandshake("-groups P-384"));
}

// Opens a TCP connection that never starts TLS and reports whether the server closed it within `wait`.
bool ServerClosesIdleConnection(int port, absl::Duration wait) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return false;
  }
  pollfd p = {fd, POLLIN, 0};
  bool closed = false;
  if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(wait))) == 1) {
    char c;
    closed = read(fd, &c, 1) <= 0;
  }
  close(fd);
  return closed;
}

// `timeout` bounds how long a connection may take to complete its TLS handshake.
TEST_F(MtlsHandshakeTest, HandshakeTimeoutClosesSilentConnections) {
  StartServer(R"({"listen": "127.0.0.1:0", "tls": {"cert_file": "$CERT", "key_file": "$KEY", "ca_file": "$CA",
                  "timeout": 0.2}})");
  EXPECT_TRUE(ServerClosesIdleConnection(server_->port(), absl::Seconds(10)));
  server_.reset();
  StartServer(R"({"listen": "127.0.0.1:0", "tls": {"cert_file": "$CERT", "key_file": "$KEY", "ca_file": "$CA",
                  "timeout": 60}})");
  EXPECT_FALSE(ServerClosesIdleConnection(server_->port(), absl::Seconds(1)));
}

TEST_F(MtlsHandshakeTest, PlaintextDevelopmentListenerServes) {
  auto options = ValidateListener(Parse(R"({"listen": "127.0.0.1:0", "plaintext_development_only": true})"));
  ASSERT_TRUE(options.ok());
  EXPECT_TRUE(options->plaintext);
  EXPECT_NE(options->decisions[0].find("PLAINTEXT"), std::string::npos);
  auto server = RunningServer::Start(*options, {});
  ASSERT_TRUE(server.ok());
  client::ChannelOptions copts;
  copts.target = absl::StrCat("127.0.0.1:", (*server)->port());
  copts.plaintext = true;
  auto channel = client::MakeChannel(copts);
  auto stub = grpc::health::v1::Health::NewStub(*channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  grpc::health::v1::HealthCheckResponse response;
  EXPECT_TRUE(stub->Check(&context, {}, &response).ok());
}


// A Sigil service that answers on whichever listener registered it.
class StatsOnlyCache : public cache::v1::Cache::Service {
 public:
  grpc::Status GetStats(grpc::ServerContext*, const cache::v1::GetStatsRequest*, cache::v1::CacheStats*) override {
    return grpc::Status::OK;
  }
};

// health_listen: a plaintext listener for kubelet's gRPC probes that answers grpc.health.v1 (SERVING, then
// NOT_SERVING-or-gone after Shutdown) and serves none of the daemon's services.
TEST_F(MtlsHandshakeTest, HealthListenServesPlaintextHealthOnly) {
  auto options = ValidateListener(Parse(R"({"listen": "127.0.0.1:0", "health_listen": "127.0.0.1:0",
                                            "tls": {"cert_file": "$CERT", "key_file": "$KEY", "ca_file": "$CA"}})"));
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->health_listen, "127.0.0.1:0");
  StatsOnlyCache cache_service;
  auto server = RunningServer::Start(*options, {&cache_service});
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  ASSERT_NE(server_->health_port(), 0);
  ASSERT_NE(server_->health_port(), server_->port());

  client::ChannelOptions plain;
  plain.target = absl::StrCat("127.0.0.1:", server_->health_port());
  plain.plaintext = true;
  auto channel = client::MakeChannel(plain);
  ASSERT_TRUE(channel.ok()) << channel.status();
  auto deadline = [] { return absl::ToChronoTime(absl::Now() + absl::Seconds(5)); };
  {
    grpc::ClientContext context;
    context.set_deadline(deadline());
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = grpc::health::v1::Health::NewStub(*channel)->Check(&context, {}, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  }
  {
    // The Sigil service is not reachable over the plaintext health listener...
    grpc::ClientContext context;
    context.set_deadline(deadline());
    cache::v1::CacheStats stats;
    EXPECT_EQ(cache::v1::Cache::NewStub(*channel)->GetStats(&context, {}, &stats).error_code(),
              grpc::StatusCode::UNIMPLEMENTED);
  }
  {
    // ...but is on the mTLS listener, which still refuses plaintext clients.
    client::ChannelOptions mtls;
    mtls.target = absl::StrCat("127.0.0.1:", server_->port());
    mtls.ca_file = pki_->ca_file;
    mtls.cert_file = pki_->client_cert;
    mtls.key_file = pki_->client_key;
    auto mtls_channel = client::MakeChannel(mtls);
    ASSERT_TRUE(mtls_channel.ok()) << mtls_channel.status();
    grpc::ClientContext context;
    context.set_deadline(deadline());
    cache::v1::CacheStats stats;
    EXPECT_TRUE(cache::v1::Cache::NewStub(*mtls_channel)->GetStats(&context, {}, &stats).ok());
    plain.target = absl::StrCat("127.0.0.1:", server_->port());
    auto plain_to_mtls = client::MakeChannel(plain);
    ASSERT_TRUE(plain_to_mtls.ok());
    grpc::ClientContext context2;
    context2.set_deadline(deadline());
    grpc::health::v1::HealthCheckResponse response;
    EXPECT_FALSE(grpc::health::v1::Health::NewStub(*plain_to_mtls)->Check(&context2, {}, &response).ok());
  }
  server_->Shutdown(absl::ZeroDuration());
  grpc::ClientContext context;
  context.set_deadline(deadline());
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status after = grpc::health::v1::Health::NewStub(*channel)->Check(&context, {}, &response);
  EXPECT_TRUE(!after.ok() || response.status() != grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(MtlsHandshakeTest, HealthListenThatCannotBindFailsStart) {
  auto options = ValidateListener(Parse(R"({"listen": "127.0.0.1:0", "health_listen": "256.0.0.1:1",
                                            "tls": {"cert_file": "$CERT", "key_file": "$KEY", "ca_file": "$CA"}})"));
  ASSERT_TRUE(options.ok()) << options.status();
  auto server = RunningServer::Start(*options, {});
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("health_listen"), std::string::npos) << server.status();
}

}  // namespace
}  // namespace sigil
