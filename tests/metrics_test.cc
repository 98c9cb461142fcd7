// The metrics endpoint of the real daemons: `signerd` and `verifierd` run as processes with
// `metrics.listen` set, are driven over mTLS gRPC (Health, Sign, VerifyPeer and GetStaple against a real
// `openssl ocsp` responder), and /metrics is scraped over HTTP (libcurl). Checks the named series, their
// labels and their counts (signerd with a PEM key and with a SoftHSM2 token made by tools/dev_token.sh);
// and that a bad metrics.listen stops start-up with the exact message.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "common/metrics_test_util.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "sigil/signer/v1/signer.grpc.pb.h"
#include "sigil/verifier/v1/verifier.grpc.pb.h"
#include "tests/ocsp/responder_harness.h"
#include "tests/pki/mtls_pki.h"
#include "tests/pki/test_pki.h"
#include "tests/process/process.h"

namespace sigil {
namespace {

using ::sigil::testing::SampleSum;
using ::sigil::testing::SampleValue;
using ::sigil::testing::ScrapeMetrics;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::Duration kReadyTimeout = absl::Seconds(20);

// Starts `binary` (runfiles-relative) with `--config config`, stdout and stderr to `log_path`.
absl::StatusOr<std::unique_ptr<testing::Process>> SpawnDaemon(const std::string& binary, const std::string& config,
                                                               const std::string& log_path) {
  testing::SpawnOptions options;
  options.log_path = log_path;
  return testing::Process::Spawn({testing::Runfile(binary), "--config", config}, options);
}

// A daemon that is serving: its process (SIGKILLed and reaped when this goes away), its gRPC port and its metrics
// port.
struct Daemon {
  std::unique_ptr<testing::Process> process;
  int port = 0;
  int metrics_port = 0;

  std::string Log() const { return process->Log(); }
};

testing::Issued Must(absl::StatusOr<testing::Issued> issued) {
  EXPECT_TRUE(issued.ok()) << issued.status();
  return *std::move(issued);
}

void Deadline(grpc::ClientContext* context) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
}

class MetricsEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTestDir("metrics_test");
    auto mtls = testing::MakeMtlsPki(dir_);
    ASSERT_TRUE(mtls.ok()) << mtls.status();
    pki_ = *std::move(mtls);
  }

  std::string WriteConfig(const std::string& name, const std::string& json) {
    const std::string path = absl::StrCat(dir_, "/", name, ".json");
    const std::string expanded = absl::StrReplaceAll(
        json, {{"$CERT", pki_.server_cert}, {"$KEY", pki_.server_key}, {"$CA", pki_.ca_file}, {"$DIR", dir_}});
    EXPECT_TRUE(testing::WriteFile(path, expanded).ok());
    return path;
  }

  std::unique_ptr<Daemon> Start(const std::string& binary, const std::string& name, const std::string& json) {
    auto process = SpawnDaemon(binary, WriteConfig(name, json), absl::StrCat(dir_, "/", name, ".log"));
    if (!process.ok()) {
      ADD_FAILURE() << "cannot spawn " << binary << ": " << process.status();
      return nullptr;
    }
    absl::StatusOr<int> port = testing::WaitForDaemonReady(**process, kReadyTimeout);
    if (!port.ok()) {
      ADD_FAILURE() << binary << ": " << port.status();
      return nullptr;
    }
    static const std::regex kMetricsPort(R"(\(metrics port (\d+)\))");
    const std::string log = (*process)->Log();
    std::smatch match;
    auto daemon = std::make_unique<Daemon>();
    if (!std::regex_search(log, match, kMetricsPort) || !absl::SimpleAtoi(match[1].str(), &daemon->metrics_port)) {
      ADD_FAILURE() << binary << ": ready, but no metrics port line in the log:\n" << log;
      return nullptr;
    }
    daemon->process = *std::move(process);
    daemon->port = *port;
    return daemon;
  }

  std::shared_ptr<grpc::Channel> Channel(const Daemon& daemon) {
    client::ChannelOptions options;
    options.target = absl::StrCat("127.0.0.1:", daemon.port);
    options.ca_file = pki_.ca_file;
    options.cert_file = pki_.client_cert;
    options.key_file = pki_.client_key;
    auto channel = client::MakeChannel(options);
    EXPECT_TRUE(channel.ok()) << channel.status();
    return channel.ok() ? *channel : nullptr;
  }

  grpc::Status HealthCheck(const Daemon& daemon) {
    auto stub = grpc::health::v1::Health::NewStub(Channel(daemon));
    grpc::ClientContext context;
    Deadline(&context);
    grpc::health::v1::HealthCheckResponse response;
    return stub->Check(&context, grpc::health::v1::HealthCheckRequest(), &response);
  }

  std::string dir_;
  testing::MtlsPki pki_;
};

constexpr char kListener[] = R"("listener": {"listen": "127.0.0.1:0", "tls": {
    "cert_file": "$CERT", "key_file": "$KEY", "ca_file": "$CA", "verify": true}})";

TEST_F(MetricsEndpointTest, SignerdCountsRpcsAndSignLatencyByStore) {
  testing::CertSpec spec;
  spec.subject = {{"CN", "ec.sigil.test"}};
  testing::Issued ec = Must(testing::IssueCert(spec, testing::KeySpec::Ec(), pki_.ca));
  ASSERT_TRUE(testing::WriteFile(dir_ + "/ec.pem", ec.CertPem()).ok());
  ASSERT_TRUE(testing::WriteFile(dir_ + "/ec.key", ec.KeyPem()).ok());
  std::unique_ptr<Daemon> signerd = Start("signer/signerd", "signerd", absl::StrCat("{", kListener, R"(,
      "metrics": {"listen": "127.0.0.1:0"},
      "identities": [{"name": "test-ec", "cert_file": "$DIR/ec.pem", "key_file": "$DIR/ec.key",
                      "allowed_principals": ["operator"]}]})"));
  ASSERT_NE(signerd, nullptr);

  ASSERT_TRUE(HealthCheck(*signerd).ok());
  auto stub = signer::v1::Signer::NewStub(Channel(*signerd));
  for (const char* identity : {"test-ec", "test-ec", "no-such-identity"}) {
    grpc::ClientContext context;
    Deadline(&context);
    signer::v1::SignRequest request;
    request.set_identity(identity);
    request.set_scheme(0x0403);
    request.set_digest(std::string(32, 'd'));
    signer::v1::SignResponse response;
    grpc::Status status = stub->Sign(&context, request, &response);
    EXPECT_EQ(status.error_code(), std::string(identity) == "test-ec" ? grpc::StatusCode::OK
                                                                        : grpc::StatusCode::NOT_FOUND);
  }

  auto text = ScrapeMetrics(signerd->metrics_port);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(SampleValue(*text, "sigil_grpc_server_handled_total",
                        {{"method", "sigil.signer.v1.Signer/Sign"}, {"code", "OK"}}),
            2)
      << *text;
  EXPECT_EQ(SampleValue(*text, "sigil_grpc_server_handled_total",
                        {{"method", "sigil.signer.v1.Signer/Sign"}, {"code", "NOT_FOUND"}}),
            1)
      << *text;
  EXPECT_EQ(SampleValue(*text, "sigil_grpc_server_handled_total",
                        {{"method", "grpc.health.v1.Health/Check"}, {"code", "OK"}}),
            1)
      << *text;
  EXPECT_EQ(SampleValue(*text, "sigil_grpc_server_handling_seconds_count", {{"method", "sigil.signer.v1.Signer/Sign"}}),
            3)
      << *text;
  // Two signatures made by the key_file identity's store; the refused one never reached a store. A PEM key
  // never blocks, so nothing waited for the signing pool.
  EXPECT_EQ(SampleValue(*text, "sigil_sign_seconds_count", {{"store", "PEM"}, {"phase", "exec"}}), 2) << *text;
  EXPECT_EQ(SampleValue(*text, "sigil_sign_seconds_count", {{"phase", "queue"}}), std::nullopt) << *text;
  // No PKCS#11 identity, no token series.
  EXPECT_THAT(*text, Not(HasSubstr("sigil_pkcs11_"))) << *text;
}

// A store that may block (PKCS#11 on SoftHSM2, provisioned by the quickstart's tools/dev_token.sh) signs on
// the signing pool, so each signature is observed twice: the wait for the pool and the time in the token.
// The token's own counters are exported per identity.
TEST_F(MetricsEndpointTest, SignerdSplitsPkcs11SignLatencyIntoQueueAndExecAndExportsTokenStats) {
  const std::string pki_dir = dir_ + "/dev-pki";
  const std::string token_dir = dir_ + "/token";
  ASSERT_EQ(mkdir(pki_dir.c_str(), 0700), 0);
  // tools/dev_token.sh issues the token's certificate with a dev_pki.sh-style CA: ca.pem + ca-key.pem.
  ASSERT_TRUE(testing::WriteFile(pki_dir + "/ca.pem", pki_.ca.CertPem()).ok());
  ASSERT_TRUE(testing::WriteFile(pki_dir + "/ca-key.pem", pki_.ca.KeyPem()).ok());
  const std::string command = absl::StrCat(testing::Runfile("tools/dev_token.sh"), " ", pki_dir, " ", token_dir, " >",
                                           dir_, "/dev_token.log 2>&1");
  if (std::system(command.c_str()) != 0) {
    auto log = testing::ReadFile(dir_ + "/dev_token.log");
    FAIL() << "tools/dev_token.sh failed: " << (log.ok() ? *log : log.status().ToString());
  }
  // signerd inherits it; SoftHSM2 reads it when the module is loaded.
  ASSERT_EQ(setenv("SOFTHSM2_CONF", (token_dir + "/softhsm2.conf").c_str(), 1), 0);
  std::unique_ptr<Daemon> signerd = Start("signer/signerd", "signerd-hsm", absl::StrCat("{", kListener, R"(,
      "metrics": {"listen": "127.0.0.1:0"},
      "identities": [{"name": "hsm", "cert_store": "pkcs11", "cert_match": "dev-hsm",
                      "pkcs11": {"module": "/usr/lib/softhsm/libsofthsm2.so", "token_label": "sigil-dev",
                                 "pin_file": "$DIR/token/pin"},
                      "allowed_principals": ["operator"]}]})"));
  unsetenv("SOFTHSM2_CONF");
  ASSERT_NE(signerd, nullptr);

  auto stub = signer::v1::Signer::NewStub(Channel(*signerd));
  signer::v1::SignRequest request;
  request.set_identity("hsm");
  request.set_scheme(0x0403);
  request.set_digest(std::string(32, 'd'));
  constexpr int kSigns = 3;
  for (int i = 0; i < kSigns; ++i) {
    grpc::ClientContext context;
    Deadline(&context);
    signer::v1::SignResponse response;
    grpc::Status status = stub->Sign(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_FALSE(response.signature().empty());
  }
  // A batch goes through the pool one signature at a time.
  constexpr int kBatchItems = 2;
  {
    grpc::ClientContext context;
    Deadline(&context);
    signer::v1::SignBatchRequest batch;
    for (int i = 0; i < kBatchItems; ++i) *batch.add_requests() = request;
    signer::v1::SignBatchResponse response;
    grpc::Status status = stub->SignBatch(&context, batch, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(response.results_size(), kBatchItems);
    for (const auto& result : response.results()) EXPECT_EQ(result.code(), 0) << result.message();
  }

  auto text = ScrapeMetrics(signerd->metrics_port);
  ASSERT_TRUE(text.ok()) << text.status();
  const std::string& t = *text;
  EXPECT_EQ(SampleValue(t, "sigil_sign_seconds_count", {{"store", "PKCS11"}, {"phase", "queue"}}),
            kSigns + kBatchItems)
      << t;
  EXPECT_EQ(SampleValue(t, "sigil_sign_seconds_count", {{"store", "PKCS11"}, {"phase", "exec"}}),
            kSigns + kBatchItems)
      << t;
  EXPECT_EQ(SampleValue(t, "sigil_sign_seconds_count", {{"store", "PEM"}}), std::nullopt) << t;
  EXPECT_EQ(SampleValue(t, "sigil_grpc_server_handled_total",
                        {{"method", "sigil.signer.v1.Signer/Sign"}, {"code", "OK"}}),
            kSigns)
      << t;

  // The token: in service, logged in once (SoftHSM2 keeps the login while any session is open), never lost.
  const std::map<std::string, std::string> token = {{"identity", "hsm"}, {"token", "sigil-dev"}};
  EXPECT_EQ(SampleValue(t, "sigil_pkcs11_token_present", token), 1) << t;
  EXPECT_EQ(SampleValue(t, "sigil_pkcs11_logins_total", token), 1) << t;
  EXPECT_GE(SampleValue(t, "sigil_pkcs11_sessions_opened_total", token).value_or(0), 1) << t;
  EXPECT_EQ(SampleValue(t, "sigil_pkcs11_token_losses_total", token), 0) << t;
  EXPECT_EQ(SampleValue(t, "sigil_pkcs11_token_recoveries_total", token), 0) << t;
  EXPECT_EQ(SampleValue(t, "sigil_pkcs11_module_reinitializations_total", token), 0) << t;
  // Signatures were made, so at least one operation was in flight; never more than the pool's threads.
  auto peak = SampleValue(t, "sigil_pkcs11_peak_ops_in_flight", token);
  ASSERT_TRUE(peak.has_value()) << t;
  EXPECT_GE(*peak, 1) << t;
  EXPECT_LE(*peak, 4) << t;
}

TEST_F(MetricsEndpointTest, VerifierdCountsFetchesCacheStaplesAndAdvisories) {
  auto frontend = testing::OcspFrontend::Start();
  ASSERT_TRUE(frontend.ok()) << frontend.status();
  testing::CertSpec ca_spec;
  ca_spec.subject = {{"CN", "Metrics OCSP CA"}};
  ca_spec.is_ca = true;
  testing::Issued ca = Must(testing::SelfSigned(ca_spec, testing::KeySpec::Ec()));
  testing::CertSpec leaf;
  leaf.ocsp_urls = {(*frontend)->url()};
  leaf.must_staple = true;
  leaf.subject = {{"CN", "good.sigil.test"}};
  testing::Issued good = Must(testing::IssueCert(leaf, testing::KeySpec::Ec(), ca));
  leaf.subject = {{"CN", "revoked.sigil.test"}};
  testing::Issued revoked = Must(testing::IssueCert(leaf, testing::KeySpec::Ec(), ca));
  testing::OpenSslResponderSpec spec;
  spec.index_file = dir_ + "/index.txt";
  spec.ca_file = dir_ + "/ocsp-ca.pem";
  spec.signer_cert_file = dir_ + "/ocsp-ca.pem";
  spec.signer_key_file = dir_ + "/ocsp-ca.key";
  spec.log_file = dir_ + "/responder.log";
  ASSERT_TRUE(testing::WriteFile(spec.index_file, testing::OpenSslIndexLine(good.cert.get(), 'V', 0) +
                                                      testing::OpenSslIndexLine(revoked.cert.get(), 'R',
                                                                                testing::NowUnix() - 60))
                  .ok());
  ASSERT_TRUE(testing::WriteFile(spec.ca_file, ca.CertPem()).ok());
  ASSERT_TRUE(testing::WriteFile(spec.signer_key_file, ca.KeyPem()).ok());
  auto responder = testing::OpenSslResponder::Start(spec);
  ASSERT_TRUE(responder.ok()) << responder.status();
  (*frontend)->SetBackendPort((*responder)->port());

  std::unique_ptr<Daemon> verifierd = Start("verifier/verifierd", "verifierd", absl::StrCat("{", kListener, R"(,
      "metrics": {"listen": "127.0.0.1:0"},
      "store_dir": "$DIR/store",
      "ocsp_cache": {"type": "local", "local_store": "$DIR/cache"},
      "profiles": {"default": {"ocsp_peer": {"verify": true}}}})"));
  ASSERT_NE(verifierd, nullptr);
  auto stub = verifier::v1::Verifier::NewStub(Channel(*verifierd));

  ASSERT_TRUE(HealthCheck(*verifierd).ok());
  for (const testing::Issued* peer : {&good, &revoked}) {
    grpc::ClientContext context;
    Deadline(&context);
    verifier::v1::VerifyPeerRequest request;
    request.set_peer_role(verifier::v1::CLIENT);
    request.set_kind("Client");
    verifier::v1::Chain* chain = request.add_chains();
    chain->add_certificates(peer->CertDer());
    chain->add_certificates(ca.CertDer());
    verifier::v1::VerifyPeerResponse verdict;
    grpc::Status status = stub->VerifyPeer(&context, request, &verdict);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(verdict.allowed(), peer == &good);
  }
  {
    grpc::ClientContext context;
    Deadline(&context);
    verifier::v1::GetStapleRequest request;
    request.add_certificates(good.CertDer());
    request.add_certificates(ca.CertDer());
    verifier::v1::GetStapleResponse staple;
    grpc::Status status = stub->GetStaple(&context, request, &staple);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(staple.status(), verifier::v1::GOOD);
  }

  auto text = ScrapeMetrics(verifierd->metrics_port);
  ASSERT_TRUE(text.ok()) << text.status();
  const std::string& t = *text;
  // RPCs by method and code, with latency.
  EXPECT_EQ(SampleValue(t, "sigil_grpc_server_handled_total",
                        {{"method", "sigil.verifier.v1.Verifier/VerifyPeer"}, {"code", "OK"}}),
            2)
      << t;
  EXPECT_EQ(SampleValue(t, "sigil_grpc_server_handled_total",
                        {{"method", "sigil.verifier.v1.Verifier/GetStaple"}, {"code", "OK"}}),
            1)
      << t;
  EXPECT_EQ(SampleValue(t, "sigil_grpc_server_handling_seconds_count",
                        {{"method", "sigil.verifier.v1.Verifier/VerifyPeer"}}),
            2)
      << t;
  // OCSP fetches to the responder on 127.0.0.1: one per peer certificate and one for the staple, all OK.
  EXPECT_GE(SampleSum(t, "sigil_ocsp_fetches_total", {{"responder", "127.0.0.1"}, {"outcome", "OK"}}), 3) << t;
  EXPECT_EQ(SampleSum(t, "sigil_ocsp_fetches_total", {{"responder", "127.0.0.1"}}),
            SampleSum(t, "sigil_ocsp_fetches_total", {{"responder", "127.0.0.1"}, {"outcome", "OK"}}))
      << t;
  EXPECT_GE(SampleValue(t, "sigil_ocsp_fetch_seconds_count", {{"responder", "127.0.0.1"}}).value_or(0), 3) << t;
  // The cache: both answers stored, the first look-ups missed.
  EXPECT_EQ(SampleValue(t, "sigil_ocsp_cache_responses", {{"status", "good"}}), 1) << t;
  EXPECT_EQ(SampleValue(t, "sigil_ocsp_cache_responses", {{"status", "revoked"}}), 1) << t;
  EXPECT_GE(SampleValue(t, "sigil_ocsp_cache_misses_total").value_or(0), 2) << t;
  EXPECT_TRUE(SampleValue(t, "sigil_ocsp_cache_hits_total").has_value()) << t;
  // The staple: age since ThisUpdate (openssl ocsp sets it to now) and the refresh ahead.
  EXPECT_EQ(SampleValue(t, "sigil_staples_registered"), 1) << t;
  auto age = SampleValue(t, "sigil_staple_age_seconds", {{"subject", "CN=good.sigil.test"}});
  ASSERT_TRUE(age.has_value()) << t;
  EXPECT_GE(*age, 0) << t;
  EXPECT_LT(*age, 600) << t;
  auto next = SampleValue(t, "sigil_staple_next_refresh_seconds", {{"subject", "CN=good.sigil.test"}});
  ASSERT_TRUE(next.has_value()) << t;
  EXPECT_GT(*next, 0) << t;
  // Advisories: the revoked peer gave one reject and one link_invalid; none dropped.
  EXPECT_EQ(SampleValue(t, "sigil_advisories_emitted_total", {{"type", "io.nats.server.advisory.v1.ocsp_peer_reject"}}),
            1)
      << t;
  EXPECT_EQ(SampleValue(t, "sigil_advisories_emitted_total",
                        {{"type", "io.nats.server.advisory.v1.ocsp_peer_link_invalid"}}),
            1)
      << t;
  EXPECT_EQ(SampleSum(t, "sigil_advisories_dropped_total"), 0) << t;
}

TEST_F(MetricsEndpointTest, BadListenStopsStartUpWithTheExactMessage) {
  for (const char* binary : {"signer/signerd", "verifier/verifierd"}) {
    const std::string name = std::string(binary).substr(std::string(binary).find('/') + 1);
    const std::string extra = name == "signerd" ? R"(, "identities": [])" : "";
    auto daemon = SpawnDaemon(binary,
                              WriteConfig(name + "-bad", absl::StrCat("{", kListener, R"(,
        "metrics": {"listen": "localhost:9090"})",
                                                                      extra, "}")),
                              absl::StrCat(dir_, "/", name, "-bad.log"));
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    const absl::StatusOr<int> status = (*daemon)->Wait(absl::Seconds(10));
    ASSERT_TRUE(status.ok()) << status.status();
    ASSERT_TRUE(WIFEXITED(*status)) << (*daemon)->Log();
    EXPECT_EQ(WEXITSTATUS(*status), 1) << (*daemon)->Log();
    EXPECT_THAT((*daemon)->Log(), HasSubstr(absl::StrCat(
                                   name, " cannot start: metrics: 'listen' must be <IPv4 address>:<port>, got "
                                         "[localhost:9090]")));
  }
}

}  // namespace
}  // namespace sigil
