// End-to-end: the example TLS echo server (client/examples) as a process, with OCSP peer verification and
// stapling from a real verifierd process, which asks a real `openssl ocsp` responder; real `openssl s_client`
// processes connect to it. A good client certificate connects and its line is echoed; a revoked one fails with
// the bad_certificate alert and verifierd streams the reject advisory; `s_client -status` shows a good staple;
// verifierd stopped mid-run refuses clients cleanly (the echo server survives) and service resumes when verifierd
// returns. With the server's key in a real signerd process, used through the `sigil` OpenSSL provider
// (//client/provider:sigil.so), handshakes sign remotely, and signerd stopped mid-run gives clean handshake
// failures (the server survives) and recovery when it returns.
#include <sys/stat.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "sigil/verifier/v1/verifier.grpc.pb.h"
#include "tests/ocsp/responder_harness.h"
#include "tests/pki/mtls_pki.h"
#include "tests/pki/test_pki.h"
#include "tests/process/process.h"

namespace sigil {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::Duration kReadyTimeout = absl::Seconds(30);

// Starts `binary` (runfiles-relative) with `args` and `env` ("NAME=value", on top of this process's environment),
// waits until it logs "Server is ready", and stores it in `*process` and its port in `*port`. On failure: a fatal
// test failure, and `*process` and `*port` are left as they were.
void StartServer(const std::string& binary, std::vector<std::string> args, std::vector<std::string> env,
                 std::unique_ptr<testing::Process>* process, int* port) {
  args.insert(args.begin(), testing::Runfile(binary));
  testing::SpawnOptions options;
  options.env = std::move(env);
  auto started = testing::Process::Spawn(std::move(args), options);
  ASSERT_TRUE(started.ok()) << started.status();
  absl::StatusOr<int> ready = testing::WaitForDaemonReady(**started, kReadyTimeout);
  ASSERT_TRUE(ready.ok()) << ready.status();
  *process = *std::move(started);
  *port = *ready;
}

testing::Issued Must(absl::StatusOr<testing::Issued> issued) {
  EXPECT_TRUE(issued.ok()) << issued.status();
  return issued.ok() ? *std::move(issued) : testing::Issued();
}

void MustWrite(const std::string& path, const std::string& contents) {
  absl::Status s = testing::WriteFile(path, contents);
  ASSERT_TRUE(s.ok()) << s;
}

// Everything the tests share: PKIs, the responder, verifierd, the echo server. Built once (the processes take
// seconds to start); a test that stops verifierd starts it again before it ends.
struct World {
  std::string dir;
  testing::MtlsPki mtls;  // verifierd's listener, and the echo server's mTLS identity towards it
  testing::Issued fleet_ca, server, good, revoked;
  std::string fleet_ca_file, server_chain, server_key, good_cert, good_key, revoked_cert, revoked_key;
  std::unique_ptr<testing::OcspFrontend> frontend;
  std::unique_ptr<testing::OpenSslResponder> responder;
  std::unique_ptr<testing::Process> verifierd;
  int verifierd_port = 0;
  std::unique_ptr<testing::Process> echo;
  int echo_port = 0;
  // The remote-key setup: signerd holding the server's key, and an echo server using it through the provider.
  std::unique_ptr<testing::Process> signerd;
  int signerd_port = 0;
  std::unique_ptr<testing::Process> remote_echo;
  int remote_echo_port = 0;
};

World* world = nullptr;

// Deletes the shared world after the last test: kills the daemons and joins the responder front end's threads
// (left running at exit, ThreadSanitizer reports them as leaked threads).
class WorldTeardown : public ::testing::Environment {
 public:
  void TearDown() override {
    delete world;
    world = nullptr;
  }
};
::testing::Environment* const kWorldTeardown = ::testing::AddGlobalTestEnvironment(new WorldTeardown);

// Starts verifierd on `port` (0 = any) and waits until it is ready.
void StartVerifierd(int port) {
  std::string config = absl::StrCat(world->dir, "/verifierd-", port, ".json");
  MustWrite(config, absl::StrCat(R"({"listener": {"listen": "127.0.0.1:)", port, R"(", "tls": {"cert_file": ")",
                                 world->mtls.server_cert, R"(", "key_file": ")", world->mtls.server_key,
                                 R"(", "ca_file": ")", world->mtls.ca_file, R"(", "verify": true}},
      "profiles": {"default": {"ocsp_peer": {"verify": true}, "ocsp": {"mode": "always"}}},
      "ocsp_cache": {"type": "local", "local_store": ")",
                                 world->dir, R"(/rc"}, "store_dir": ")", world->dir, R"(/staples"})"));
  StartServer("verifier/verifierd", {"--config", config}, {}, &world->verifierd, &world->verifierd_port);
}

void BuildWorld() {
  world = new World();
  World& w = *world;
  w.dir = testing::MakeTestDir("e2e");
  auto mtls = testing::MakeMtlsPki(w.dir);
  ASSERT_TRUE(mtls.ok()) << mtls.status();
  w.mtls = *std::move(mtls);
  auto frontend = testing::OcspFrontend::Start();
  ASSERT_TRUE(frontend.ok()) << frontend.status();
  w.frontend = *std::move(frontend);

  testing::CertSpec ca_spec;
  ca_spec.subject = {{"O", "Sigil Fleet"}, {"CN", "Fleet CA"}};
  ca_spec.is_ca = true;
  w.fleet_ca = Must(testing::SelfSigned(ca_spec, testing::KeySpec::Ec()));
  testing::CertSpec leaf;
  leaf.ocsp_urls = {w.frontend->url()};
  leaf.subject = {{"O", "Sigil Fleet"}, {"CN", "localhost"}};
  leaf.dns_sans = {"localhost"};
  leaf.ip_sans = {"127.0.0.1"};
  leaf.extended_key_usages = {"serverAuth"};
  w.server = Must(testing::IssueCert(leaf, testing::KeySpec::Ec(), w.fleet_ca));
  leaf.dns_sans.clear();
  leaf.ip_sans.clear();
  leaf.extended_key_usages = {"clientAuth"};
  leaf.subject = {{"O", "Sigil Fleet"}, {"CN", "good-client"}};
  w.good = Must(testing::IssueCert(leaf, testing::KeySpec::Ec(), w.fleet_ca));
  leaf.subject = {{"O", "Sigil Fleet"}, {"CN", "revoked-client"}};
  w.revoked = Must(testing::IssueCert(leaf, testing::KeySpec::Ec(), w.fleet_ca));

  // The mTLS PKI's files are in w.dir; the fleet's go in their own directory.
  const std::string fleet = w.dir + "/fleet";
  mkdir(fleet.c_str(), 0700);
  w.fleet_ca_file = fleet + "/fleet-ca.pem";
  w.server_chain = fleet + "/server-chain.pem";
  w.server_key = fleet + "/server-key.pem";
  w.good_cert = fleet + "/good.pem";
  w.good_key = fleet + "/good-key.pem";
  w.revoked_cert = fleet + "/revoked.pem";
  w.revoked_key = fleet + "/revoked-key.pem";
  MustWrite(w.fleet_ca_file, w.fleet_ca.CertPem());
  MustWrite(fleet + "/fleet-ca-key.pem", w.fleet_ca.KeyPem());
  MustWrite(w.server_chain, w.server.CertPem() + w.fleet_ca.CertPem());
  MustWrite(w.server_key, w.server.KeyPem());
  MustWrite(w.good_cert, w.good.CertPem());
  MustWrite(w.good_key, w.good.KeyPem());
  MustWrite(w.revoked_cert, w.revoked.CertPem());
  MustWrite(w.revoked_key, w.revoked.KeyPem());

  testing::OpenSslResponderSpec spec;
  spec.index_file = fleet + "/index.txt";
  spec.ca_file = w.fleet_ca_file;
  spec.signer_cert_file = w.fleet_ca_file;
  spec.signer_key_file = fleet + "/fleet-ca-key.pem";
  spec.log_file = fleet + "/responder.log";
  MustWrite(spec.index_file, testing::OpenSslIndexLine(w.server.cert.get(), 'V', 0) +
                                 testing::OpenSslIndexLine(w.good.cert.get(), 'V', 0) +
                                 testing::OpenSslIndexLine(w.revoked.cert.get(), 'R', testing::NowUnix() - 60));
  auto responder = testing::OpenSslResponder::Start(spec);
  ASSERT_TRUE(responder.ok()) << responder.status();
  w.responder = *std::move(responder);
  w.frontend->SetBackendPort(w.responder->port());

  StartVerifierd(0);
  if (w.verifierd == nullptr) return;
  StartServer(
      "client/examples/echo_server",
      {"--listen=127.0.0.1:0", "--cert=" + w.server_chain, "--key=" + w.server_key, "--client_ca=" + w.fleet_ca_file,
       absl::StrCat("--verifier=127.0.0.1:", w.verifierd_port), "--verifier_ca=" + w.mtls.ca_file,
       "--verifier_cert=" + w.mtls.client_cert, "--verifier_key=" + w.mtls.client_key, "--staple"},
      {}, &w.echo, &w.echo_port);
}

// Runs `openssl s_client` against the echo server with a client certificate, sends "hello" and "bye", and
// returns everything it printed (stdout and stderr).
std::string SClient(const std::string& cert, const std::string& key, const std::string& extra = "",
                    int port = 0) {
  if (port == 0) port = world->echo_port;
  std::vector<std::string> argv = {"/usr/bin/openssl", "s_client", "-connect", absl::StrCat("127.0.0.1:", port),
                                   "-CAfile", world->fleet_ca_file, "-cert", cert, "-key", key,
                                   "-verify_return_error", "-ign_eof"};
  for (absl::string_view arg : absl::StrSplit(extra, ' ', absl::SkipEmpty())) argv.emplace_back(arg);
  testing::SpawnOptions options;
  options.stdin_data = "hello\nbye\n";
  return testing::RunCommand(std::move(argv), options, absl::Seconds(30)).output;
}

// A mutual-TLS stub to the current verifierd, as the echo server's identity.
std::unique_ptr<verifier::v1::Verifier::Stub> VerifierStub() {
  client::ChannelOptions options;
  options.target = absl::StrCat("127.0.0.1:", world->verifierd_port);
  options.ca_file = world->mtls.ca_file;
  options.cert_file = world->mtls.client_cert;
  options.key_file = world->mtls.client_key;
  auto channel = client::MakeChannel(options);
  EXPECT_TRUE(channel.ok()) << channel.status();
  return verifier::v1::Verifier::NewStub(*channel);
}

class EndToEndTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (world == nullptr) BuildWorld();
  }
  void SetUp() override {
    ASSERT_NE(world, nullptr);
    ASSERT_NE(world->echo, nullptr) << "the echo server did not start";
    ASSERT_NE(world->verifierd, nullptr) << "verifierd did not start";
  }
};

TEST_F(EndToEndTest, GoodClientConnectsAndIsEchoed) {
  std::string out = SClient(world->good_cert, world->good_key);
  EXPECT_THAT(out, HasSubstr("Verify return code: 0 (ok)")) << out;
  EXPECT_THAT(out, HasSubstr("hello\nbye\n")) << out;
  EXPECT_THAT(out, Not(HasSubstr("alert"))) << out;
  EXPECT_THAT(world->echo->Log(), HasSubstr("peer [CN=good-client,O=Sigil Fleet] accepted"));
}

TEST_F(EndToEndTest, RevokedClientGetsBadCertificateAndAnAdvisory) {
  auto stub = VerifierStub();
  grpc::ClientContext watch;
  watch.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  verifier::v1::WatchAdvisoriesRequest request;
  request.add_types("io.nats.server.advisory.v1.ocsp_peer_reject");
  auto reader = stub->WatchAdvisories(&watch, request);
  reader->WaitForInitialMetadata();

  std::string out = SClient(world->revoked_cert, world->revoked_key);
  EXPECT_THAT(out, HasSubstr("bad certificate")) << out;
  EXPECT_THAT(out, Not(HasSubstr("hello\nbye\n"))) << out;
  EXPECT_THAT(world->echo->Log(), HasSubstr("peer [CN=revoked-client,O=Sigil Fleet] rejected: client not OCSP valid"));

  verifier::v1::Advisory advisory;
  ASSERT_TRUE(reader->Read(&advisory)) << "no advisory; verifierd log:\n" << world->verifierd->Log();
  EXPECT_EQ(advisory.type(), "io.nats.server.advisory.v1.ocsp_peer_reject");
  EXPECT_THAT(advisory.json(), HasSubstr("revoked-client"));
  EXPECT_THAT(advisory.json(), HasSubstr(R"("reason":"client not OCSP valid")"));
  watch.TryCancel();
  reader->Finish();

  // The server goes on serving.
  EXPECT_TRUE(world->echo->Running());
  EXPECT_THAT(SClient(world->good_cert, world->good_key), HasSubstr("hello\nbye\n"));
}

TEST_F(EndToEndTest, StatusShowsAGoodStaple) {
  // The echo server fetches its staple from verifierd during a handshake, within a short deadline; on a slow
  // (sanitizer) build the first fetch can miss it and the next try comes after retry_after_failure (10 s).
  // Asking again until the staple is there (bounded) keeps the assertions about its content.
  std::string out;
  const absl::Time deadline = absl::Now() + absl::Seconds(25);
  do {
    out = SClient(world->good_cert, world->good_key, "-status");
    if (absl::StrContains(out, "OCSP Response Status: successful")) break;
    absl::SleepFor(absl::Seconds(1));
  } while (absl::Now() < deadline);
  EXPECT_THAT(out, HasSubstr("OCSP Response Status: successful")) << out;
  EXPECT_THAT(out, HasSubstr("Cert Status: good")) << out;
  EXPECT_THAT(out, HasSubstr("hello\nbye\n")) << out;
}

TEST_F(EndToEndTest, VerifierdStoppedRefusesCleanlyAndServiceResumes) {
  const int port = world->verifierd_port;
  world->verifierd->Kill();
  std::string out = SClient(world->good_cert, world->good_key);
  EXPECT_THAT(out, Not(HasSubstr("hello\nbye\n"))) << out;
  // The hook could not ask verifierd and the echo server does not admit unchecked peers
  // (allow_when_verifier_unavailable is off): X509_V_ERR_APPLICATION_VERIFICATION, which OpenSSL sends as the
  // handshake_failure alert (40), not bad_certificate: the certificate itself was never judged.
  EXPECT_THAT(out, HasSubstr("sslv3 alert handshake failure")) << out;
  EXPECT_THAT(out, HasSubstr("SSL alert number 40")) << out;
  EXPECT_THAT(out, Not(HasSubstr("bad certificate"))) << out;
  EXPECT_TRUE(world->echo->Running()) << world->echo->Log();
  EXPECT_THAT(world->echo->Log(), HasSubstr("peer [CN=good-client,O=Sigil Fleet] not checked"));

  StartVerifierd(port);
  ASSERT_NE(world->verifierd, nullptr);
  // The echo server's channel reconnects within its reconnect backoff (at most 5 s); poll for up to 30 s.
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  bool echoed = false;
  while (!echoed && absl::Now() < deadline) {
    echoed = absl::StrContains(SClient(world->good_cert, world->good_key), "hello\nbye\n");
    if (!echoed) absl::SleepFor(absl::Milliseconds(500));
  }
  EXPECT_TRUE(echoed) << world->echo->Log();
  EXPECT_TRUE(world->echo->Running());
}

// Starts signerd on `port` (0 = any) with the echo server's certificate and key as identity "echo-ec", usable by
// the mTLS PKI's "operator" client.
void StartSignerd(int port) {
  std::string config = absl::StrCat(world->dir, "/signerd-", port, ".json");
  MustWrite(config, absl::StrCat(R"({"listener": {"listen": "127.0.0.1:)", port, R"(", "tls": {"cert_file": ")",
                                 world->mtls.server_cert, R"(", "key_file": ")", world->mtls.server_key,
                                 R"(", "ca_file": ")", world->mtls.ca_file, R"(", "verify": true}},
      "identities": [{"name": "echo-ec", "cert_file": ")", world->server_chain, R"(", "key_file": ")",
                                 world->server_key, R"(", "allowed_principals": ["operator"]}]})"));
  StartServer("signer/signerd", {"--config", config}, {}, &world->signerd, &world->signerd_port);
}

class RemoteKeyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (world == nullptr) BuildWorld();
    if (world == nullptr || world->verifierd == nullptr || world->remote_echo != nullptr) return;
    StartSignerd(0);
    if (world->signerd == nullptr) return;
    std::string provider = testing::Runfile("client/provider/sigil.so");
    std::string provider_dir = provider.substr(0, provider.rfind('/'));
    StartServer(
        "client/examples/echo_server",
        {"--listen=127.0.0.1:0", "--cert=" + world->server_chain, "--key_uri=sigil:identity=echo-ec",
         "--provider_path=" + provider_dir, "--client_ca=" + world->fleet_ca_file,
         absl::StrCat("--verifier=127.0.0.1:", world->verifierd_port), "--verifier_ca=" + world->mtls.ca_file,
         "--verifier_cert=" + world->mtls.client_cert, "--verifier_key=" + world->mtls.client_key, "--staple"},
        {absl::StrCat("SIGIL_SIGNER=127.0.0.1:", world->signerd_port), "SIGIL_CA_FILE=" + world->mtls.ca_file,
         "SIGIL_CERT_FILE=" + world->mtls.client_cert, "SIGIL_KEY_FILE=" + world->mtls.client_key,
         "SIGIL_TIMEOUT_MS=3000"},
        &world->remote_echo, &world->remote_echo_port);
  }
  void SetUp() override {
    ASSERT_NE(world, nullptr);
    ASSERT_NE(world->signerd, nullptr) << "signerd did not start";
    ASSERT_NE(world->remote_echo, nullptr) << "the remote-key echo server did not start";
  }
  static std::string Connect(const std::string& extra = "") {
    return SClient(world->good_cert, world->good_key, extra, world->remote_echo_port);
  }
};

TEST_F(RemoteKeyTest, HandshakeSignedBySignerdIsEchoed) {
  std::string out = Connect("-status");
  EXPECT_THAT(out, HasSubstr("Verify return code: 0 (ok)")) << out << world->remote_echo->Log();
  EXPECT_THAT(out, HasSubstr("hello\nbye\n")) << out;
  EXPECT_THAT(out, HasSubstr("Cert Status: good")) << out;
  // The signature came from signerd: its audit log shows a Sign for the identity.
  EXPECT_THAT(world->signerd->Log(), HasSubstr("audit: Sign caller=operator identity=echo-ec"))
      << world->signerd->Log();
}

TEST_F(RemoteKeyTest, RevokedClientStillRejectedWithRemoteKey) {
  std::string out = SClient(world->revoked_cert, world->revoked_key, "", world->remote_echo_port);
  EXPECT_THAT(out, HasSubstr("bad certificate")) << out;
  EXPECT_THAT(out, Not(HasSubstr("hello\nbye\n"))) << out;
}

TEST_F(RemoteKeyTest, SignerdStoppedFailsHandshakesCleanlyAndServiceResumes) {
  const int port = world->signerd_port;
  world->signerd->Kill();
  std::string out = Connect();
  EXPECT_THAT(out, Not(HasSubstr("hello\nbye\n"))) << out;
  // A clean TLS failure: the server could not sign its CertificateVerify and said so with an alert (a crash would
  // show as a reset or an unexpected EOF instead).
  EXPECT_THAT(out, HasSubstr("alert internal error")) << out;
  EXPECT_TRUE(world->remote_echo->Running()) << world->remote_echo->Log();
  EXPECT_THAT(world->remote_echo->Log(), HasSubstr("handshake failed"));
  // The server keeps serving: a second attempt fails the same way, not with a refused connection.
  out = Connect();
  EXPECT_THAT(out, HasSubstr("alert internal error")) << out;
  EXPECT_TRUE(world->remote_echo->Running());

  StartSignerd(port);
  ASSERT_NE(world->signerd, nullptr);
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  bool echoed = false;
  while (!echoed && absl::Now() < deadline) {
    echoed = absl::StrContains(Connect(), "hello\nbye\n");
    if (!echoed) absl::SleepFor(absl::Milliseconds(500));
  }
  EXPECT_TRUE(echoed) << world->remote_echo->Log() << "\nrestarted signerd:\n" << world->signerd->Log();
  EXPECT_TRUE(world->remote_echo->Running());
}

}  // namespace
}  // namespace sigil
