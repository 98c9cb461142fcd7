// Fault injection: verifierd is killed with SIGKILL while VerifyPeer calls are writing fresh OCSP answers into
// its RocksDB response cache, then restarted on the same cache with the CA's responder gone. Expected outcome:
// every revocation a VerifyPeer call reported before the kill is reported again after the restart, from the
// cache (no lost revocations), and so is every good answer; the restarted daemon starts cleanly on the
// store the killed one left behind.
//
// Real parts: the built verifierd (runfiles) on an mTLS listener (tests/pki/mtls_pki), a real `openssl ocsp`
// responder over an index with revoked and valid certificates (tests/ocsp/responder_harness), and gRPC
// clients on several threads.

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "gtest/gtest.h"
#include "sigil/verifier/v1/verifier.grpc.pb.h"
#include "tests/ocsp/responder_harness.h"
#include "tests/pki/mtls_pki.h"
#include "tests/pki/test_pki.h"
#include "tests/process/process.h"

namespace sigil {
namespace {

namespace v1 = ::sigil::verifier::v1;
using testing::Issued;

constexpr int kCertificates = 240;
constexpr int kClientThreads = 4;
// The daemon is killed once this many verdicts have come back (the rest are in flight or not yet asked).
constexpr int kKillAfterVerdicts = 120;

// How long verifierd may take to log "Server is ready".
constexpr absl::Duration kReadyTimeout = absl::Seconds(20);

// Starts verifierd with `config`, output to `log`; SIGKILLed and reaped when the Process goes away.
std::unique_ptr<testing::Process> StartVerifierd(const std::string& config, const std::string& log) {
  testing::SpawnOptions options;
  options.log_path = log;
  auto process = testing::Process::Spawn({testing::Runfile("verifier/verifierd"), "--config", config}, options);
  EXPECT_TRUE(process.ok()) << process.status();
  return process.ok() ? *std::move(process) : nullptr;
}

class VerifierdKillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTestDir("verifierd_kill");
    auto mtls = testing::MakeMtlsPki(dir_);
    ASSERT_TRUE(mtls.ok()) << mtls.status();
    mtls_ = *std::move(mtls);

    testing::CertSpec ca_spec;
    ca_spec.subject = {{"O", "Sigil Kill Test"}, {"CN", "Kill Test CA"}};
    ca_spec.is_ca = true;
    auto ca = testing::SelfSigned(ca_spec, testing::KeySpec::Ec());
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = *std::move(ca);

    frontend_ = *testing::OcspFrontend::Start();
    std::string index;
    for (int i = 0; i < kCertificates; ++i) {
      testing::CertSpec spec;
      spec.subject = {{"O", "Sigil Kill Test"}, {"CN", absl::StrCat("peer-", i)}};
      spec.ocsp_urls = {frontend_->url()};
      spec.extended_key_usages = {"clientAuth"};
      auto leaf = testing::IssueCert(spec, testing::KeySpec::Ec(), ca_);
      ASSERT_TRUE(leaf.ok()) << leaf.status();
      // Every third certificate is revoked.
      index += testing::OpenSslIndexLine(leaf->cert.get(), i % 3 == 0 ? 'R' : 'V', testing::NowUnix() - 3600);
      leaves_.push_back(*std::move(leaf));
    }
    testing::OpenSslResponderSpec spec;
    spec.index_file = dir_ + "/ocsp-index.txt";
    spec.ca_file = dir_ + "/ocsp-ca.pem";
    spec.signer_cert_file = dir_ + "/ocsp-ca.pem";
    spec.signer_key_file = dir_ + "/ocsp-ca.key";
    spec.log_file = dir_ + "/ocsp-responder.log";
    ASSERT_TRUE(testing::WriteFile(spec.index_file, index).ok());
    ASSERT_TRUE(testing::WriteFile(spec.ca_file, ca_.CertPem()).ok());
    ASSERT_TRUE(testing::WriteFile(spec.signer_key_file, ca_.KeyPem()).ok());
    auto responder = testing::OpenSslResponder::Start(spec);
    ASSERT_TRUE(responder.ok()) << responder.status();
    responder_ = *std::move(responder);
    frontend_->SetBackendPort(responder_->port());

    config_ = dir_ + "/verifierd.json";
    ASSERT_TRUE(testing::WriteFile(config_, absl::StrCat(R"({"listener": {"listen": "127.0.0.1:0", "tls": {
        "cert_file": ")", mtls_.server_cert, R"(", "key_file": ")", mtls_.server_key, R"(",
        "ca_file": ")", mtls_.ca_file, R"(", "verify": true}},
      "profiles": {"default": {"ocsp_peer": {"verify": true, "ca_timeout": 2}}},
      "ocsp_cache": {"type": "local", "local_store": ")", dir_, R"(/cache"}})"))
                    .ok());
  }

  std::unique_ptr<v1::Verifier::Stub> Stub(int port) {
    client::ChannelOptions options;
    options.target = absl::StrCat("127.0.0.1:", port);
    options.ca_file = mtls_.ca_file;
    options.cert_file = mtls_.client_cert;
    options.key_file = mtls_.client_key;
    auto channel = client::MakeChannel(options);
    EXPECT_TRUE(channel.ok()) << channel.status();
    return v1::Verifier::NewStub(*channel);
  }

  v1::VerifyPeerRequest Request(int i) const {
    v1::VerifyPeerRequest request;
    request.set_peer_role(v1::CLIENT);
    v1::Chain* chain = request.add_chains();
    chain->add_certificates(leaves_[i].CertDer());
    chain->add_certificates(ca_.CertDer());
    return request;
  }

  std::string dir_;
  testing::MtlsPki mtls_;
  Issued ca_;
  std::vector<Issued> leaves_;
  std::unique_ptr<testing::OcspFrontend> frontend_;
  std::unique_ptr<testing::OpenSslResponder> responder_;
  std::string config_;
};

TEST_F(VerifierdKillTest, RevocationsReportedBeforeKillSurviveRestartWithResponderGone) {
  std::unique_ptr<testing::Process> daemon = StartVerifierd(config_, dir_ + "/verifierd-1.log");
  ASSERT_NE(daemon, nullptr);
  const absl::StatusOr<int> ready_port = testing::WaitForDaemonReady(*daemon, kReadyTimeout);
  ASSERT_TRUE(ready_port.ok()) << ready_port.status();
  const int port = *ready_port;

  // Verdicts that came back before the kill: (certificate index, the leaf's status).
  absl::Mutex mu;
  std::vector<std::pair<int, v1::OcspStatus>> answered;
  std::atomic<int> next{0};
  std::atomic<int> done{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kClientThreads; ++t) {
    clients.emplace_back([&] {
      std::unique_ptr<v1::Verifier::Stub> stub = Stub(port);
      for (int i = next++; i < kCertificates; i = next++) {
        grpc::ClientContext context;
        context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
        v1::VerifyPeerResponse response;
        const grpc::Status status = stub->VerifyPeer(&context, Request(i), &response);
        if (!status.ok()) continue;  // In flight when the daemon died.
        absl::MutexLock lock(&mu);
        answered.emplace_back(i, response.chains(0).links(0).status());
        ++done;
      }
    });
  }
  while (done.load() < kKillAfterVerdicts && next.load() < kCertificates) absl::SleepFor(absl::Milliseconds(1));
  {
    // Hold the lock across the kill, so `answered` is exactly the verdicts returned before it.
    absl::MutexLock lock(&mu);
    daemon->Kill();
  }
  for (std::thread& t : clients) t.join();
  // Only verdicts recorded before the kill count: later ones cannot exist, the daemon is gone.
  ASSERT_GE(answered.size(), static_cast<size_t>(kKillAfterVerdicts));
  ASSERT_LT(answered.size(), static_cast<size_t>(kCertificates)) << "the kill came after all the load";

  // The CA's responder disappears: from now on only the cache can answer.
  responder_.reset();
  frontend_->SetMode(testing::OcspFrontend::Mode::kClose);
  frontend_->ResetCounts();

  std::unique_ptr<testing::Process> restarted = StartVerifierd(config_, dir_ + "/verifierd-2.log");
  ASSERT_NE(restarted, nullptr);
  const absl::StatusOr<int> port2 = testing::WaitForDaemonReady(*restarted, kReadyTimeout);
  ASSERT_TRUE(port2.ok()) << port2.status();
  std::unique_ptr<v1::Verifier::Stub> stub = Stub(*port2);
  int revoked = 0;
  for (const auto& [i, before] : answered) {
    SCOPED_TRACE(absl::StrCat("peer-", i));
    ASSERT_EQ(before, i % 3 == 0 ? v1::REVOKED : v1::GOOD);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::VerifyPeerResponse response;
    const grpc::Status status = stub->VerifyPeer(&context, Request(i), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.chains(0).links(0).status(), before) << response.DebugString();
    EXPECT_EQ(response.chains(0).links(0).source(), v1::CACHE) << response.DebugString();
    EXPECT_EQ(response.allowed(), before == v1::GOOD);
    if (before == v1::REVOKED) ++revoked;
  }
  EXPECT_GT(revoked, 0);
  EXPECT_EQ(frontend_->requests(), 0) << "an answer was lost and asked for again";
}

}  // namespace
}  // namespace sigil
