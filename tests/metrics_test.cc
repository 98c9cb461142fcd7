// The metrics endpoint of the real daemons: `signerd` and `verifierd` run as processes with
// `metrics.listen` set, are driven over mTLS gRPC (Health, Sign, VerifyPeer and GetStaple against a real
// `openssl ocsp` responder), and /metrics is scraped over HTTP (libcurl). Checks the named series, their
// labels and their counts (signerd with a PEM key and with a SoftHSM2 token made by tools/dev_token.sh);
// that verifierd counts the advisories it drops while its NATS publisher is stuck (a real `nats-server`
// stopped with SIGSTOP) exactly as its advisory log lines show; and that a bad metrics.listen stops start-up
// with the exact message.
#include <signal.h>
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
#include "absl/strings/match.h"
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

  // A CA whose good and revoked leaves name a real `openssl ocsp` responder (behind a front end) in their AIA.
  struct Ocsp {
    std::unique_ptr<testing::OcspFrontend> frontend;
    std::unique_ptr<testing::OpenSslResponder> responder;
    testing::Issued ca, good, revoked;
  };
  std::unique_ptr<Ocsp> StartOcsp() {
    auto ocsp = std::make_unique<Ocsp>();
    auto frontend = testing::OcspFrontend::Start();
    if (!frontend.ok()) {
      ADD_FAILURE() << frontend.status();
      return nullptr;
    }
    ocsp->frontend = *std::move(frontend);
    testing::CertSpec ca_spec;
    ca_spec.subject = {{"CN", "Metrics OCSP CA"}};
    ca_spec.is_ca = true;
    ocsp->ca = Must(testing::SelfSigned(ca_spec, testing::KeySpec::Ec()));
    testing::CertSpec leaf;
    leaf.ocsp_urls = {ocsp->frontend->url()};
    leaf.must_staple = true;
    leaf.subject = {{"CN", "good.sigil.test"}};
    ocsp->good = Must(testing::IssueCert(leaf, testing::KeySpec::Ec(), ocsp->ca));
    leaf.subject = {{"CN", "revoked.sigil.test"}};
    ocsp->revoked = Must(testing::IssueCert(leaf, testing::KeySpec::Ec(), ocsp->ca));
    testing::OpenSslResponderSpec spec;
    spec.index_file = dir_ + "/index.txt";
    spec.ca_file = dir_ + "/ocsp-ca.pem";
    spec.signer_cert_file = dir_ + "/ocsp-ca.pem";
    spec.signer_key_file = dir_ + "/ocsp-ca.key";
    spec.log_file = dir_ + "/responder.log";
    EXPECT_TRUE(testing::WriteFile(spec.index_file,
                                   testing::OpenSslIndexLine(ocsp->good.cert.get(), 'V', 0) +
                                       testing::OpenSslIndexLine(ocsp->revoked.cert.get(), 'R', testing::NowUnix() - 60))
                    .ok());
    EXPECT_TRUE(testing::WriteFile(spec.ca_file, ocsp->ca.CertPem()).ok());
    EXPECT_TRUE(testing::WriteFile(spec.signer_key_file, ocsp->ca.KeyPem()).ok());
    auto responder = testing::OpenSslResponder::Start(spec);
    if (!responder.ok()) {
      ADD_FAILURE() << responder.status();
      return nullptr;
    }
    ocsp->responder = *std::move(responder);
    ocsp->frontend->SetBackendPort(ocsp->responder->port());
    return ocsp;
  }

  // VerifyPeer for a client presenting `peer` (issued by `ca`).
  static grpc::Status VerifyPeer(verifier::v1::Verifier::Stub& stub, const testing::Issued& peer,
                                 const testing::Issued& ca, verifier::v1::VerifyPeerResponse* verdict) {
    grpc::ClientContext context;
    Deadline(&context);
    verifier::v1::VerifyPeerRequest request;
    request.set_peer_role(verifier::v1::CLIENT);
    request.set_kind("Client");
    verifier::v1::Chain* chain = request.add_chains();
    chain->add_certificates(peer.CertDer());
    chain->add_certificates(ca.CertDer());
    return stub.VerifyPeer(&context, request, verdict);
  }

  std::string dir_;
  testing::MtlsPki pki_;
};

constexpr char kRejectType[] = "io.nats.server.advisory.v1.ocsp_peer_reject";
constexpr char kLinkInvalidType[] = "io.nats.server.advisory.v1.ocsp_peer_link_invalid";

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
  std::unique_ptr<Ocsp> ocsp = StartOcsp();
  ASSERT_NE(ocsp, nullptr);
  const testing::Issued &ca = ocsp->ca, &good = ocsp->good, &revoked = ocsp->revoked;

  std::unique_ptr<Daemon> verifierd = Start("verifier/verifierd", "verifierd", absl::StrCat("{", kListener, R"(,
      "metrics": {"listen": "127.0.0.1:0"},
      "store_dir": "$DIR/store",
      "ocsp_cache": {"type": "local", "local_store": "$DIR/cache"},
      "profiles": {"default": {"ocsp_peer": {"verify": true}}}})"));
  ASSERT_NE(verifierd, nullptr);
  auto stub = verifier::v1::Verifier::NewStub(Channel(*verifierd));

  ASSERT_TRUE(HealthCheck(*verifierd).ok());
  for (const testing::Issued* peer : {&good, &revoked}) {
    verifier::v1::VerifyPeerResponse verdict;
    grpc::Status status = VerifyPeer(*stub, *peer, ca, &verdict);
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
  // Advisories: the revoked peer gave one reject and one link_invalid; none dropped, and the dropped counter is
  // exported all the same (a series at 0 per type, not an absent family).
  EXPECT_EQ(SampleValue(t, "sigil_advisories_emitted_total", {{"type", kRejectType}}), 1) << t;
  EXPECT_EQ(SampleValue(t, "sigil_advisories_emitted_total", {{"type", kLinkInvalidType}}), 1) << t;
  EXPECT_EQ(SampleValue(t, "sigil_advisories_dropped_total", {{"type", kRejectType}}), 0) << t;
  EXPECT_EQ(SampleValue(t, "sigil_advisories_dropped_total", {{"type", kLinkInvalidType}}), 0) << t;
}

// Advisory log lines verifierd has written so far (LogPublisher: "Advisory [<type>] id [...] ...").
int AdvisoryLogLines(const Daemon& daemon) {
  const std::string log = daemon.Log();
  int lines = 0;
  for (size_t at = log.find("Advisory [io.nats."); at != std::string::npos; at = log.find("Advisory [io.nats.", at + 1)) {
    ++lines;
  }
  return lines;
}

// verifierd drops an advisory for its publishers (the log line and NATS) when advisories.queue_size events
// already wait for them. A real nats-server stopped with SIGSTOP keeps the connection open but reads nothing:
// once the socket buffers are full, the NATS publish blocks the bus's dispatcher thread, the one-event queue
// fills, and every further event is dropped while VerifyPeer goes on answering. The counter then agrees with what
// the daemon logs: each event is either logged by the dispatcher or counted dropped.
TEST_F(MetricsEndpointTest, VerifierdCountsAdvisoriesDroppedWhileNatsStalls) {
  std::unique_ptr<Ocsp> ocsp = StartOcsp();
  ASSERT_NE(ocsp, nullptr);
  testing::SpawnOptions nats_options;
  nats_options.log_path = dir_ + "/nats-server.log";
  auto nats = testing::Process::Spawn({"/usr/sbin/nats-server", "-a", "127.0.0.1", "-p", "-1"}, nats_options);
  ASSERT_TRUE(nats.ok()) << nats.status();
  absl::StatusOr<int> nats_port =
      (*nats)->WaitForPort(std::regex(R"(Listening for client connections on 127\.0\.0\.1:(\d+))"), kReadyTimeout);
  ASSERT_TRUE(nats_port.ok()) << nats_port.status();

  std::unique_ptr<Daemon> verifierd = Start("verifier/verifierd", "verifierd-nats", absl::StrCat("{", kListener, R"(,
      "metrics": {"listen": "127.0.0.1:0"},
      "store_dir": "$DIR/store-nats",
      "ocsp_cache": {"type": "local", "local_store": "$DIR/cache-nats"},
      "profiles": {"default": {"ocsp_peer": {"verify": true}}},
      "advisories": {"queue_size": 1,
                     "nats": {"url": "nats://127.0.0.1:)", *nats_port, R"(", "server_id": "metrics-test"}}})"));
  ASSERT_NE(verifierd, nullptr);
  // Connected at start-up (not left to the background reconnection).
  ASSERT_THAT(verifierd->Log(), HasSubstr("Advisories published to NATS [nats://127.0.0.1:")) << verifierd->Log();
  auto stub = verifier::v1::Verifier::NewStub(Channel(*verifierd));
  auto reject = [&]() {
    verifier::v1::VerifyPeerResponse verdict;
    grpc::Status status = VerifyPeer(*stub, ocsp->revoked, ocsp->ca, &verdict);
    EXPECT_TRUE(status.ok()) << status.error_message() << "\nverifierd log:\n" << verifierd->Log();
    EXPECT_FALSE(verdict.allowed());
    return status.ok();
  };
  ASSERT_TRUE(reject());  // Fetches the revocation once; later rejections come from the cache.

  (*nats)->Signal(SIGSTOP);
  // Each rejection emits two events (link_invalid, then reject). Send them in rounds of 100 until two whole rounds
  // add no advisory log line: the dispatcher is stuck in the NATS publish (a live one logs within microseconds).
  constexpr int kRound = 100;
  int quiet_rounds = 0, rounds = 0;
  for (int logged = AdvisoryLogLines(*verifierd); quiet_rounds < 2 && rounds < 300; ++rounds) {
    for (int i = 0; i < kRound; ++i) ASSERT_TRUE(reject());
    const int now_logged = AdvisoryLogLines(*verifierd);
    quiet_rounds = now_logged == logged ? quiet_rounds + 1 : 0;
    logged = now_logged;
  }
  ASSERT_EQ(quiet_rounds, 2) << "advisories still logged after " << rounds * kRound
                             << " rejections with NATS stopped; verifierd log:\n" << verifierd->Log();

  auto stuck = ScrapeMetrics(verifierd->metrics_port);
  ASSERT_TRUE(stuck.ok()) << stuck.status();
  const double emitted = SampleSum(*stuck, "sigil_advisories_emitted_total");
  const double dropped = SampleSum(*stuck, "sigil_advisories_dropped_total");
  EXPECT_GT(SampleValue(*stuck, "sigil_advisories_dropped_total", {{"type", kRejectType}}).value_or(0), 0) << *stuck;
  EXPECT_GT(SampleValue(*stuck, "sigil_advisories_dropped_total", {{"type", kLinkInvalidType}}).value_or(0), 0)
      << *stuck;
  const int logged_when_stuck = AdvisoryLogLines(*verifierd);
  // Every event so far was logged (the one stuck in NATS included: the log line is published first), is the one
  // the full queue holds, or was counted dropped.
  EXPECT_EQ(emitted, logged_when_stuck + 1 + dropped) << *stuck;

  // While the dispatcher is stuck, every event is dropped and counted, one for one; nothing more is logged.
  constexpr int kMore = 50;
  for (int i = 0; i < kMore; ++i) ASSERT_TRUE(reject());
  auto more = ScrapeMetrics(verifierd->metrics_port);
  ASSERT_TRUE(more.ok()) << more.status();
  EXPECT_EQ(SampleSum(*more, "sigil_advisories_emitted_total"), emitted + 2 * kMore) << *more;
  EXPECT_EQ(SampleSum(*more, "sigil_advisories_dropped_total"), dropped + 2 * kMore) << *more;
  EXPECT_EQ(SampleValue(*more, "sigil_advisories_dropped_total", {{"type", kRejectType}}),
            SampleValue(*stuck, "sigil_advisories_dropped_total", {{"type", kRejectType}}).value_or(0) + kMore)
      << *more;
  EXPECT_EQ(AdvisoryLogLines(*verifierd), logged_when_stuck);

  // NATS resumes: the dispatcher publishes what the queue held, and then every event that was not counted as
  // dropped has its log line.
  (*nats)->Signal(SIGCONT);
  const double final_emitted = SampleSum(*more, "sigil_advisories_emitted_total");
  const double final_dropped = SampleSum(*more, "sigil_advisories_dropped_total");
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (AdvisoryLogLines(*verifierd) < final_emitted - final_dropped && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(AdvisoryLogLines(*verifierd), final_emitted - final_dropped) << verifierd->Log();
  auto after = ScrapeMetrics(verifierd->metrics_port);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(SampleSum(*after, "sigil_advisories_dropped_total"), final_dropped) << *after;
  EXPECT_EQ(SampleSum(*after, "sigil_advisories_emitted_total"), final_emitted) << *after;
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
