// The handshake hooks in real OpenSSL handshakes (client and server SSL objects joined by a BIO pair in this
// process) against a hand-written fake Verifier served by gRPC on 127.0.0.1: the verified chain reaches
// VerifyPeer only after OpenSSL's own verification, a rejected peer gets bad_certificate (under TLS 1.3 and TLS 1.2),
// an unreachable verifier refuses (or admits, when configured), and the staple is served, cached until next_refresh,
// and refreshed.
#include "client/tls_hooks.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "cache/fake_clock.h"
#include "common/openssl_util.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/pki/test_pki.h"

namespace sigil::client {
namespace {

using ::sigil::testing::CertSpec;
using ::sigil::testing::Issued;
using ::sigil::testing::KeySpec;

class FakeVerifier final : public v1::Verifier::Service {
 public:
  grpc::Status VerifyPeer(grpc::ServerContext*, const v1::VerifyPeerRequest* request,
                          v1::VerifyPeerResponse* response) override {
    absl::MutexLock lock(&mu);
    ++verify_calls;
    last_request = *request;
    const std::string& leaf = request->chains(0).certificates(0);
    response->set_allowed(rejected.count(leaf) == 0);
    if (!response->allowed()) response->set_reason("client not OCSP valid");
    return grpc::Status::OK;
  }
  grpc::Status GetStaple(grpc::ServerContext*, const v1::GetStapleRequest* request,
                         v1::GetStapleResponse* response) override {
    absl::MutexLock lock(&mu);
    ++staple_calls;
    last_staple_request = *request;
    *response = staple;
    if (auto it = staple_for.find(request->certificates(0)); it != staple_for.end()) response->set_staple(it->second);
    return grpc::Status::OK;
  }

  absl::Mutex mu;
  int verify_calls ABSL_GUARDED_BY(mu) = 0;
  int staple_calls ABSL_GUARDED_BY(mu) = 0;
  std::set<std::string> rejected ABSL_GUARDED_BY(mu);
  v1::VerifyPeerRequest last_request ABSL_GUARDED_BY(mu);
  v1::GetStapleRequest last_staple_request ABSL_GUARDED_BY(mu);
  v1::GetStapleResponse staple ABSL_GUARDED_BY(mu);
  // Staple bytes by leaf DER, overriding staple.staple() for that leaf.
  std::map<std::string, std::string> staple_for ABSL_GUARDED_BY(mu);
};

Issued Must(absl::StatusOr<Issued> issued) {
  EXPECT_TRUE(issued.ok()) << issued.status();
  return *std::move(issued);
}

using SslPtr = std::unique_ptr<SSL, decltype(&SSL_free)>;

// Alerts the client received, as OpenSSL's long descriptions ("bad certificate").
void RecordAlert(const SSL* ssl, int where, int value) {
  if ((where & SSL_CB_READ_ALERT) == 0) return;
  auto* alerts = static_cast<std::vector<std::string>*>(SSL_get_app_data(ssl));
  alerts->push_back(SSL_alert_desc_string_long(value));
}

// A staple the client saw (SSL_CTX_set_tlsext_status_cb on the client side).
int RecordStaple(SSL* ssl, void* arg) {
  const unsigned char* data = nullptr;
  long len = SSL_get_tlsext_status_ocsp_resp(ssl, &data);
  auto* out = static_cast<std::string*>(arg);
  *out = len > 0 ? std::string(reinterpret_cast<const char*>(data), len) : std::string();
  return 1;
}

class TlsHooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CertSpec ca_spec;
    ca_spec.subject = {{"CN", "Hooks CA"}};
    ca_spec.is_ca = true;
    ca_ = Must(sigil::testing::SelfSigned(ca_spec, KeySpec::Ec()));
    CertSpec leaf;
    leaf.subject = {{"CN", "server.sigil.test"}};
    leaf.dns_sans = {"server.sigil.test"};
    server_ = Must(sigil::testing::IssueCert(leaf, KeySpec::Ec(), ca_));
    leaf.subject = {{"CN", "good-client"}};
    leaf.dns_sans.clear();
    good_ = Must(sigil::testing::IssueCert(leaf, KeySpec::Ec(), ca_));
    leaf.subject = {{"CN", "revoked-client"}};
    revoked_ = Must(sigil::testing::IssueCert(leaf, KeySpec::Ec(), ca_));
    CertSpec other_ca = ca_spec;
    other_ca.subject = {{"CN", "Other CA"}};
    Issued other = Must(sigil::testing::SelfSigned(other_ca, KeySpec::Ec()));
    leaf.subject = {{"CN", "stranger"}};
    stranger_ = Must(sigil::testing::IssueCert(leaf, KeySpec::Ec(), other));
    {
      absl::MutexLock lock(&fake_.mu);
      fake_.rejected.insert(revoked_.CertDer());
    }

    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&fake_);
    grpc_server_ = builder.BuildAndStart();
    ASSERT_NE(grpc_server_, nullptr);
    client_ = MakeClient(absl::StrCat("127.0.0.1:", port_));

    server_ctx_.reset(SSL_CTX_new(TLS_server_method()));
    ASSERT_EQ(SSL_CTX_use_certificate(server_ctx_.get(), server_.cert.get()), 1);
    ASSERT_EQ(SSL_CTX_use_PrivateKey(server_ctx_.get(), server_.key.get()), 1);
    ASSERT_EQ(SSL_CTX_add1_chain_cert(server_ctx_.get(), ca_.cert.get()), 1);
    ASSERT_EQ(X509_STORE_add_cert(SSL_CTX_get_cert_store(server_ctx_.get()), ca_.cert.get()), 1);
    SSL_CTX_set_verify(server_ctx_.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }

  std::shared_ptr<const VerifierClient> MakeClient(const std::string& endpoint) {
    VerifierClientOptions options;
    options.endpoints = {endpoint};
    options.channel.plaintext = true;
    options.channel.retry.initial_backoff = absl::Milliseconds(10);
    options.channel.retry.max_backoff = absl::Milliseconds(50);
    options.timeout = absl::Seconds(5);
    auto client = VerifierClient::Create(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::shared_ptr<const VerifierClient>(*std::move(client)) : nullptr;
  }

  struct Result {
    bool server_ok = false;
    bool client_ok = false;
    std::vector<std::string> client_alerts;
    std::string staple;
    long server_verify_result = X509_V_OK;
    // The protocol version the client negotiated (TLS1_3_VERSION, TLS1_2_VERSION).
    int version = 0;
  };

  // The handshake negotiated `version` and failed on both sides because the hook rejected the client's
  // certificate, and the client received exactly the bad_certificate alert.
  static void ExpectRefusedWithBadCertificate(const Result& result, int version) {
    EXPECT_EQ(result.version, version);
    EXPECT_FALSE(result.server_ok);
    EXPECT_FALSE(result.client_ok);
    EXPECT_EQ(result.server_verify_result, X509_V_ERR_CERT_REJECTED);
    ASSERT_EQ(result.client_alerts.size(), 1u);
    EXPECT_EQ(result.client_alerts[0], "bad certificate");
  }

  // One handshake between a client presenting `client_cert` (may be null) and the server context, then one
  // byte from server to client so a TLS 1.3 client also reads the server's reaction to its certificate.
  // `max_version` (e.g. TLS1_2_VERSION) caps what the client offers; 0 = OpenSSL's default (TLS 1.3).
  Result Handshake(const Issued* client_cert, bool ask_staple = false, int max_version = 0) {
    Result result;
    SslCtxPtr client_ctx(SSL_CTX_new(TLS_client_method()));
    if (max_version != 0) EXPECT_EQ(SSL_CTX_set_max_proto_version(client_ctx.get(), max_version), 1);
    if (!client_sigalgs_.empty()) EXPECT_EQ(SSL_CTX_set1_sigalgs_list(client_ctx.get(), client_sigalgs_.c_str()), 1);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(client_ctx.get()), ca_.cert.get());
    SSL_CTX_set_verify(client_ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (client_cert != nullptr) {
      SSL_CTX_use_certificate(client_ctx.get(), client_cert->cert.get());
      SSL_CTX_use_PrivateKey(client_ctx.get(), client_cert->key.get());
    }
    if (ask_staple) {
      SSL_CTX_set_tlsext_status_cb(client_ctx.get(), &RecordStaple);
      SSL_CTX_set_tlsext_status_arg(client_ctx.get(), &result.staple);
    }
    SslPtr client(SSL_new(client_ctx.get()), &SSL_free);
    SslPtr server(SSL_new(server_ctx_.get()), &SSL_free);
    if (ask_staple) SSL_set_tlsext_status_type(client.get(), TLSEXT_STATUSTYPE_ocsp);
    SSL_set_app_data(client.get(), &result.client_alerts);
    SSL_set_info_callback(client.get(), &RecordAlert);
    BIO* client_bio = nullptr;
    BIO* server_bio = nullptr;
    EXPECT_EQ(BIO_new_bio_pair(&client_bio, 0, &server_bio, 0), 1);
    SSL_set_bio(client.get(), client_bio, client_bio);
    SSL_set_bio(server.get(), server_bio, server_bio);
    SSL_set_connect_state(client.get());
    SSL_set_accept_state(server.get());
    bool client_failed = false, server_failed = false;
    for (int i = 0; i < 50 && !(client_failed || server_failed); ++i) {
      if (!result.client_ok) {
        int rc = SSL_do_handshake(client.get());
        if (rc == 1) result.client_ok = true;
        else if (SSL_get_error(client.get(), rc) != SSL_ERROR_WANT_READ) client_failed = true;
      }
      if (!result.server_ok) {
        int rc = SSL_do_handshake(server.get());
        if (rc == 1) result.server_ok = true;
        else if (SSL_get_error(server.get(), rc) != SSL_ERROR_WANT_READ) server_failed = true;
      }
      if (result.client_ok && result.server_ok) break;
    }
    result.server_verify_result = SSL_get_verify_result(server.get());
    result.version = SSL_version(client.get());
    if (server_failed && result.client_ok) {
      // TLS 1.3: the client finished first; its next read delivers the server's alert.
      char byte;
      SSL_read(client.get(), &byte, 1);
      result.client_ok = false;
    } else if (server_failed && !client_failed) {
      // TLS 1.2: the server checks the client's certificate on receiving it, before its own Finished, so the
      // client is still in the handshake, waiting for that Finished; its next step reads the alert instead.
      EXPECT_NE(SSL_do_handshake(client.get()), 1);
    } else if (result.client_ok && result.server_ok) {
      EXPECT_EQ(SSL_write(server.get(), "x", 1), 1);
      char byte = 0;
      EXPECT_EQ(SSL_read(client.get(), &byte, 1), 1);
    }
    ERR_clear_error();
    return result;
  }

  FakeVerifier fake_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::shared_ptr<const VerifierClient> client_;
  Issued ca_, server_, good_, revoked_, stranger_;
  // The client's signature_algorithms (SSL_CTX_set1_sigalgs_list form); empty = OpenSSL's default.
  std::string client_sigalgs_;
  SslCtxPtr server_ctx_;
};

TEST_F(TlsHooksTest, InstallRejectsNullArguments) {
  EXPECT_EQ(InstallPeerVerification(nullptr, client_, {}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(InstallPeerVerification(server_ctx_.get(), nullptr, {}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(InstallStapling(server_ctx_.get(), nullptr, {}).code(), absl::StatusCode::kInvalidArgument);
  SslCtxPtr empty(SSL_CTX_new(TLS_server_method()));
  EXPECT_EQ(InstallStapling(empty.get(), client_, {}).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TlsHooksTest, GoodPeerIsAcceptedAndVerifierGetsTheVerifiedChain) {
  std::vector<PeerCheck> checks;
  PeerVerificationOptions options;
  options.kind = "Client";
  options.profile = "edge";
  options.on_check = [&](const PeerCheck& check) { checks.push_back(check); };
  ASSERT_TRUE(InstallPeerVerification(server_ctx_.get(), client_, options).ok());
  Result result = Handshake(&good_);
  EXPECT_TRUE(result.server_ok);
  EXPECT_TRUE(result.client_ok);
  absl::MutexLock lock(&fake_.mu);
  EXPECT_EQ(fake_.verify_calls, 1);
  EXPECT_EQ(fake_.last_request.peer_role(), v1::CLIENT);
  EXPECT_EQ(fake_.last_request.kind(), "Client");
  EXPECT_EQ(fake_.last_request.profile(), "edge");
  ASSERT_EQ(fake_.last_request.chains_size(), 1);
  // Leaf first, trust anchor last: the chain OpenSSL built (the client sent only its leaf).
  ASSERT_EQ(fake_.last_request.chains(0).certificates_size(), 2);
  EXPECT_EQ(fake_.last_request.chains(0).certificates(0), good_.CertDer());
  EXPECT_EQ(fake_.last_request.chains(0).certificates(1), ca_.CertDer());
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_TRUE(checks[0].accepted);
  EXPECT_EQ(checks[0].subject, "CN=good-client");
}

TEST_F(TlsHooksTest, RejectedPeerGetsBadCertificate) {
  std::vector<PeerCheck> checks;
  PeerVerificationOptions options;
  options.on_check = [&](const PeerCheck& check) { checks.push_back(check); };
  ASSERT_TRUE(InstallPeerVerification(server_ctx_.get(), client_, options).ok());
  ExpectRefusedWithBadCertificate(Handshake(&revoked_), TLS1_3_VERSION);
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_FALSE(checks[0].accepted);
  EXPECT_EQ(checks[0].verdict.reason(), "client not OCSP valid");
}

// Under TLS 1.2 the server verifies the client's certificate in the client's second flight (Certificate,
// ClientKeyExchange, CertificateVerify, Finished) and answers a rejection with the alert instead of its
// ChangeCipherSpec and Finished: the client receives bad_certificate while still handshaking (under TLS 1.3 it
// has finished and reads it afterwards). An accepted peer completes a TLS 1.2 handshake.
TEST_F(TlsHooksTest, Tls12RejectedPeerGetsBadCertificateAndAcceptedPeerCompletes) {
  std::vector<PeerCheck> checks;
  PeerVerificationOptions options;
  options.on_check = [&](const PeerCheck& check) { checks.push_back(check); };
  ASSERT_TRUE(InstallPeerVerification(server_ctx_.get(), client_, options).ok());

  Result accepted = Handshake(&good_, false, TLS1_2_VERSION);
  EXPECT_EQ(accepted.version, TLS1_2_VERSION);
  EXPECT_TRUE(accepted.server_ok);
  EXPECT_TRUE(accepted.client_ok);
  EXPECT_EQ(accepted.server_verify_result, X509_V_OK);
  EXPECT_TRUE(accepted.client_alerts.empty());

  ExpectRefusedWithBadCertificate(Handshake(&revoked_, false, TLS1_2_VERSION), TLS1_2_VERSION);

  ASSERT_EQ(checks.size(), 2u);
  EXPECT_TRUE(checks[0].accepted);
  EXPECT_EQ(checks[0].subject, "CN=good-client");
  EXPECT_FALSE(checks[1].accepted);
  EXPECT_EQ(checks[1].subject, "CN=revoked-client");
  EXPECT_EQ(checks[1].verdict.reason(), "client not OCSP valid");
  absl::MutexLock lock(&fake_.mu);
  EXPECT_EQ(fake_.verify_calls, 2);
}

TEST_F(TlsHooksTest, ChainOpenSslRefusesNeverReachesTheVerifier) {
  ASSERT_TRUE(InstallPeerVerification(server_ctx_.get(), client_, {}).ok());
  Result result = Handshake(&stranger_);
  EXPECT_FALSE(result.server_ok);
  EXPECT_EQ(result.server_verify_result, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  absl::MutexLock lock(&fake_.mu);
  EXPECT_EQ(fake_.verify_calls, 0);
}

TEST_F(TlsHooksTest, UnreachableVerifierRefusesUnlessAllowed) {
  grpc_server_->Shutdown(absl::ToChronoTime(absl::Now()));
  std::vector<PeerCheck> checks;
  PeerVerificationOptions options;
  options.on_check = [&](const PeerCheck& check) { checks.push_back(check); };
  ASSERT_TRUE(InstallPeerVerification(server_ctx_.get(), client_, options).ok());
  Result refused = Handshake(&good_);
  EXPECT_FALSE(refused.server_ok);
  EXPECT_FALSE(refused.client_ok);
  EXPECT_EQ(refused.server_verify_result, X509_V_ERR_APPLICATION_VERIFICATION);
  // OpenSSL sends handshake_failure for X509_V_ERR_APPLICATION_VERIFICATION (ssl_x509err2alert).
  ASSERT_EQ(refused.client_alerts.size(), 1u);
  EXPECT_EQ(refused.client_alerts[0], "handshake failure");
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].status.code(), absl::StatusCode::kUnavailable);

  options.allow_when_verifier_unavailable = true;
  ASSERT_TRUE(InstallPeerVerification(server_ctx_.get(), client_, options).ok());
  Result admitted = Handshake(&good_);
  EXPECT_TRUE(admitted.server_ok);
  EXPECT_TRUE(admitted.client_ok);
}

TEST_F(TlsHooksTest, StapleIsServedCachedUntilNextRefreshAndRefreshed) {
  auto clock = std::make_shared<cache::FakeClock>(absl::FromUnixSeconds(2000000000));
  auto set_staple = [&](const std::string& bytes) {
    absl::MutexLock lock(&fake_.mu);
    fake_.staple.set_staple(bytes);
    fake_.staple.set_status(v1::GOOD);
    fake_.staple.mutable_next_refresh()->set_seconds(2000000000 + 600);
    fake_.staple.mutable_next_update()->set_seconds(2000000000 + 3600);
  };
  set_staple("staple-1");
  StaplingOptions options;
  options.clock = clock;
  options.profile = "edge";
  ASSERT_TRUE(InstallStapling(server_ctx_.get(), client_, options).ok());

  EXPECT_EQ(Handshake(&good_, /*ask_staple=*/true).staple, "staple-1");
  {
    absl::MutexLock lock(&fake_.mu);
    EXPECT_EQ(fake_.staple_calls, 1);
    // The SSL_CTX's own certificate and chain were sent.
    ASSERT_EQ(fake_.last_staple_request.certificates_size(), 2);
    EXPECT_EQ(fake_.last_staple_request.certificates(0), server_.CertDer());
    EXPECT_EQ(fake_.last_staple_request.certificates(1), ca_.CertDer());
    EXPECT_EQ(fake_.last_staple_request.profile(), "edge");
  }
  set_staple("staple-2");
  clock->Advance(absl::Seconds(599));
  EXPECT_EQ(Handshake(&good_, true).staple, "staple-1");  // cached
  // A client that does not ask gets none and costs no call.
  EXPECT_EQ(Handshake(&good_, false).staple, "");
  clock->Advance(absl::Seconds(1));
  EXPECT_EQ(Handshake(&good_, true).staple, "staple-2");  // refreshed at next_refresh
  absl::MutexLock lock(&fake_.mu);
  EXPECT_EQ(fake_.staple_calls, 2);
}

TEST_F(TlsHooksTest, EachCertificateOfADualCertificateServerGetsItsOwnStaple) {
  // The server also serves an RSA certificate for the same name; OpenSSL picks one per handshake from the
  // signature algorithms the client offers.
  CertSpec spec;
  spec.subject = {{"CN", "server.sigil.test"}};
  spec.dns_sans = {"server.sigil.test"};
  Issued rsa_server = Must(sigil::testing::IssueCert(spec, KeySpec::Rsa(2048), ca_));
  ASSERT_EQ(SSL_CTX_use_certificate(server_ctx_.get(), rsa_server.cert.get()), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(server_ctx_.get(), rsa_server.key.get()), 1);
  ASSERT_EQ(SSL_CTX_add1_chain_cert(server_ctx_.get(), ca_.cert.get()), 1);
  SSL_CTX_set_verify(server_ctx_.get(), SSL_VERIFY_NONE, nullptr);  // no client certificate to sign with
  {
    absl::MutexLock lock(&fake_.mu);
    fake_.staple.set_status(v1::GOOD);
    fake_.staple.mutable_next_refresh()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
    fake_.staple_for[server_.CertDer()] = "ecdsa-staple";
    fake_.staple_for[rsa_server.CertDer()] = "rsa-staple";
  }
  ASSERT_TRUE(InstallStapling(server_ctx_.get(), client_, StaplingOptions()).ok());

  client_sigalgs_ = "ECDSA+SHA256";
  EXPECT_EQ(Handshake(nullptr, true).staple, "ecdsa-staple");
  client_sigalgs_ = "rsa_pss_rsae_sha256";
  EXPECT_EQ(Handshake(nullptr, true).staple, "rsa-staple");
  EXPECT_EQ(Handshake(nullptr, true, TLS1_2_VERSION).staple, "rsa-staple");  // CertificateStatus message
  client_sigalgs_ = "ECDSA+SHA256";
  EXPECT_EQ(Handshake(nullptr, true, TLS1_2_VERSION).staple, "ecdsa-staple");
  absl::MutexLock lock(&fake_.mu);
  // One GetStaple per certificate, each with its own leaf and the chain; the rest came from the cache.
  EXPECT_EQ(fake_.staple_calls, 2);
}

TEST_F(TlsHooksTest, CachedStapleOutlivesVerifierOutageUntilNextUpdate) {
  auto clock = std::make_shared<cache::FakeClock>(absl::FromUnixSeconds(2000000000));
  {
    absl::MutexLock lock(&fake_.mu);
    fake_.staple.set_staple("staple-1");
    fake_.staple.mutable_next_refresh()->set_seconds(2000000000 + 600);
    fake_.staple.mutable_next_update()->set_seconds(2000000000 + 3600);
  }
  std::vector<absl::Status> refreshes;
  StaplingOptions options;
  options.clock = clock;
  options.on_refresh = [&](const absl::StatusOr<v1::GetStapleResponse>& r) { refreshes.push_back(r.status()); };
  ASSERT_TRUE(InstallStapling(server_ctx_.get(), client_, options).ok());
  EXPECT_EQ(Handshake(&good_, true).staple, "staple-1");
  grpc_server_->Shutdown(absl::ToChronoTime(absl::Now()));
  clock->Advance(absl::Seconds(700));
  EXPECT_EQ(Handshake(&good_, true).staple, "staple-1");  // refresh failed, staple still current
  ASSERT_EQ(refreshes.size(), 2u);
  EXPECT_EQ(refreshes[1].code(), absl::StatusCode::kUnavailable);
  clock->Advance(absl::Seconds(5));
  EXPECT_EQ(Handshake(&good_, true).staple, "staple-1");
  EXPECT_EQ(refreshes.size(), 2u);  // no retry before retry_after_failure
  clock->Advance(absl::Seconds(3600));
  EXPECT_EQ(Handshake(&good_, true).staple, "");  // past next_update: nothing rather than a stale staple
}

TEST_F(TlsHooksTest, MustStopServingFailsHandshakesThatAskForAStaple) {
  {
    absl::MutexLock lock(&fake_.mu);
    fake_.staple.set_status(v1::REVOKED);
    fake_.staple.set_must_stop_serving(true);
  }
  ASSERT_TRUE(InstallStapling(server_ctx_.get(), client_, {}).ok());
  Result result = Handshake(&good_, true);
  EXPECT_FALSE(result.server_ok);
  EXPECT_FALSE(result.client_ok);
}

}  // namespace
}  // namespace sigil::client
