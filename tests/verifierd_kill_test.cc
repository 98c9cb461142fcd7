// Fault injection: verifierd is killed with SIGKILL while VerifyPeer calls are writing fresh OCSP answers into
// its RocksDB response cache, then restarted on the same cache with the CA's responder gone. Expected outcome:
// every revocation a VerifyPeer call reported before the kill is reported again after the restart, from the
// cache (no lost revocations), and so is every good answer; the restarted daemon starts cleanly on the
// store the killed one left behind.
//
// Real parts: the built verifierd (runfiles) on an mTLS listener (tests/pki/mtls_pki), a real `openssl ocsp`
// responder over an index with revoked and valid certificates (tests/ocsp/responder_harness), and gRPC
// clients on several threads.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
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

namespace sigil {
namespace {

namespace v1 = ::sigil::verifier::v1;
using testing::Issued;

constexpr int kCertificates = 240;
constexpr int kClientThreads = 4;
// The daemon is killed once this many verdicts have come back (the rest are in flight or not yet asked).
constexpr int kKillAfterVerdicts = 120;

std::string Runfile(const std::string& relative) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir != nullptr && workspace != nullptr) {
    std::string path = absl::StrCat(srcdir, "/", workspace, "/", relative);
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return relative;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// verifierd as a child process, output to `log`; SIGKILLed and reaped by the destructor if still running.
class Verifierd {
 public:
  Verifierd(const std::string& config, std::string log) : log_(std::move(log)) {
    std::string binary = Runfile("verifier/verifierd");
    pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(126);
      FILE* out = freopen(log_.c_str(), "w", stdout);
      if (out == nullptr) _exit(125);
      dup2(STDOUT_FILENO, STDERR_FILENO);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      execl(binary.c_str(), binary.c_str(), "--config", config.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~Verifierd() { Kill(); }

  // The port from "listening on ... (port N)" once "Server is ready" is logged; 0 after 20 s or an exit.
  int WaitUntilReady() {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    static const std::regex kPort(R"(listening on \S+ \(port (\d+)\))");
    while (absl::Now() < deadline) {
      const std::string log = ReadAll(log_);
      std::smatch match;
      int port = 0;
      if (log.find("Server is ready") != std::string::npos && std::regex_search(log, match, kPort) &&
          absl::SimpleAtoi(match[1].str(), &port)) {
        return port;
      }
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return 0;
      }
      absl::SleepFor(absl::Milliseconds(25));
    }
    return 0;
  }

  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  std::string Log() const { return ReadAll(log_); }

 private:
  pid_t pid_ = -1;
  const std::string log_;
};

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
  auto daemon = std::make_unique<Verifierd>(config_, dir_ + "/verifierd-1.log");
  const int port = daemon->WaitUntilReady();
  ASSERT_GT(port, 0) << daemon->Log();

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

  auto restarted = std::make_unique<Verifierd>(config_, dir_ + "/verifierd-2.log");
  const int port2 = restarted->WaitUntilReady();
  ASSERT_GT(port2, 0) << restarted->Log();
  std::unique_ptr<v1::Verifier::Stub> stub = Stub(port2);
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
