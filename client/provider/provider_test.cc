// End-to-end tests of the `sigil` provider with stock OpenSSL tools: a real signerd (//signer:signerd, RSA-2048
// and P-256 identities, mutual TLS) and `openssl s_server -provider sigil -provider default -key
// sigil:identity=...` answering `openssl s_client` over TLS 1.2 and 1.3; `openssl pkey` / `storeutl` reading
// the store; and signerd stopped mid-run (clean handshake failure, s_server alive) then restarted on the same
// port (next handshake succeeds).
#include <signal.h>

#include <atomic>
#include <cstdlib>
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
#include "common/openssl_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/pki/mtls_pki.h"
#include "tests/pki/test_pki.h"
#include "tests/process/process.h"

namespace sigil {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// How long a process may take to print its ready line, and a command to finish.
constexpr absl::Duration kStartTimeout = absl::Seconds(20);
constexpr absl::Duration kCommandTimeout = absl::Seconds(30);

using testing::CommandResult;
using testing::Process;
using testing::RunCommand;

std::string ProviderDir() {
  std::string so = testing::Runfile("client/provider/sigil.so");
  return so.substr(0, so.rfind('/') == std::string::npos ? 0 : so.rfind('/'));
}

// Spawn options that add `env` ("NAME=value") to this process's environment.
testing::SpawnOptions WithEnv(std::vector<std::string> env) {
  testing::SpawnOptions options;
  options.env = std::move(env);
  return options;
}

struct Pki {
  testing::MtlsPki mtls;
  testing::Issued rsa, ec;
  std::string dir, rsa_cert, rsa_key, ec_cert, ec_key;
};

const Pki& GetPki() {
  static Pki* pki = [] {
    auto* p = new Pki();
    p->dir = testing::MakeTestDir("provider");
    auto mtls = testing::MakeMtlsPki(p->dir);
    if (!mtls.ok()) {
      ADD_FAILURE() << mtls.status();
      return p;
    }
    p->mtls = *std::move(mtls);
    auto issue = [&](const std::string& cn, const testing::KeySpec& key) {
      testing::CertSpec spec;
      spec.subject = {{"O", "Sigil Tests"}, {"CN", cn}};
      spec.dns_sans = {cn};
      spec.extended_key_usages = {"serverAuth"};
      auto issued = testing::IssueCert(spec, key, p->mtls.ca);
      EXPECT_TRUE(issued.ok()) << issued.status();
      return issued.ok() ? *std::move(issued) : testing::Issued();
    };
    p->rsa = issue("rsa.sigil.test", testing::KeySpec::Rsa(2048));
    p->ec = issue("ec.sigil.test", testing::KeySpec::Ec());
    p->rsa_cert = p->dir + "/identity-rsa.pem";
    p->rsa_key = p->dir + "/identity-rsa-key.pem";
    p->ec_cert = p->dir + "/identity-ec.pem";
    p->ec_key = p->dir + "/identity-ec-key.pem";
    for (auto [path, contents] : std::vector<std::pair<std::string, std::string>>{{p->rsa_cert, p->rsa.CertPem()},
                                                                                 {p->rsa_key, p->rsa.KeyPem()},
                                                                                 {p->ec_cert, p->ec.CertPem()},
                                                                                 {p->ec_key, p->ec.KeyPem()}}) {
      absl::Status s = testing::WriteFile(path, contents);
      EXPECT_TRUE(s.ok()) << s;
    }
    return p;
  }();
  return *pki;
}

// signerd with the identities "test-rsa" and "test-ec" for the "operator" client, on 127.0.0.1:`port`.
absl::StatusOr<std::unique_ptr<Process>> StartSignerd(int port, int* actual_port) {
  static std::atomic<int> counter{0};
  const Pki& pki = GetPki();
  std::string config = absl::StrReplaceAll(
      R"({"listener": {"listen": "127.0.0.1:$PORT", "tls": {"cert_file": "$CERT", "key_file": "$KEY",
          "ca_file": "$CA", "verify": true}},
        "identities": [
          {"name": "test-rsa", "cert_file": "$RSA_CERT", "key_file": "$RSA_KEY", "allowed_principals": ["operator"]},
          {"name": "test-ec", "cert_file": "$EC_CERT", "key_file": "$EC_KEY", "allowed_principals": ["operator"]}]})",
      {{"$PORT", absl::StrCat(port)},
       {"$CERT", pki.mtls.server_cert},
       {"$KEY", pki.mtls.server_key},
       {"$CA", pki.mtls.ca_file},
       {"$RSA_CERT", pki.rsa_cert},
       {"$RSA_KEY", pki.rsa_key},
       {"$EC_CERT", pki.ec_cert},
       {"$EC_KEY", pki.ec_key}});
  std::string path = absl::StrCat(testing::TempDir(), "/signerd-", counter++, ".json");
  if (absl::Status s = testing::WriteFile(path, config); !s.ok()) return s;
  auto signerd = Process::Spawn({testing::Runfile("signer/signerd"), "--config", path});
  if (!signerd.ok()) return signerd.status();
  auto ready_port = testing::WaitForDaemonReady(**signerd, kStartTimeout);
  if (!ready_port.ok()) return ready_port.status();
  *actual_port = *ready_port;
  return signerd;
}

class ProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto signerd = StartSignerd(0, &signer_port_);
    ASSERT_TRUE(signerd.ok()) << signerd.status();
    signerd_ = *std::move(signerd);
  }

  // The provider's configuration for every openssl command (environment variables).
  std::vector<std::string> ProviderEnv() const {
    const Pki& pki = GetPki();
    return {absl::StrCat("SIGIL_SIGNER=127.0.0.1:", signer_port_), "SIGIL_CA_FILE=" + pki.mtls.ca_file,
            "SIGIL_CERT_FILE=" + pki.mtls.client_cert, "SIGIL_KEY_FILE=" + pki.mtls.client_key,
            "SIGIL_TIMEOUT_MS=3000"};
  }

  std::vector<std::string> OpenSsl(const std::string& command, std::vector<std::string> args) const {
    std::vector<std::string> argv = {"/usr/bin/openssl", command,   "-provider-path", ProviderDir(),
                                     "-provider",        "sigil",   "-provider",      "default"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  // s_server in -rev mode (echoes each line reversed) with the identity's key from the store.
  std::unique_ptr<Process> StartServer(const std::string& identity, const std::string& cert, int* port) {
    auto server = Process::Spawn(
        OpenSsl("s_server", {"-accept", "127.0.0.1:0", "-key", "sigil:identity=" + identity, "-cert", cert, "-rev"}),
        WithEnv(ProviderEnv()));
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return nullptr;
    static const std::regex kAccept(R"(ACCEPT 127\.0\.0\.1:(\d+))");
    auto accept_port = (*server)->WaitForPort(kAccept, kStartTimeout);
    EXPECT_TRUE(accept_port.ok()) << accept_port.status();
    *port = accept_port.ok() ? *accept_port : 0;
    return accept_port.ok() ? *std::move(server) : nullptr;
  }

  // One s_client session that verifies the chain and hostname and sends a line; its output.
  CommandResult Connect(int port, const std::string& hostname, std::vector<std::string> extra) const {
    std::vector<std::string> argv = {"/usr/bin/openssl", "s_client", "-connect", absl::StrCat("127.0.0.1:", port),
                                     "-CAfile", GetPki().mtls.ca_file, "-verify_return_error", "-verify_hostname",
                                     hostname, "-servername", hostname, "-ign_eof"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    testing::SpawnOptions options;
    options.stdin_data = "hello sigil\nCLOSE\n";
    return RunCommand(argv, options, kCommandTimeout);
  }

  int signer_port_ = 0;
  std::unique_ptr<Process> signerd_;
};

// A completed, verified session that carried data both ways.
void ExpectSession(const CommandResult& result, const std::string& protocol, const std::string& signature_type) {
  EXPECT_THAT(result.output, HasSubstr("Verify return code: 0 (ok)"));
  EXPECT_THAT(result.output, HasSubstr("Protocol  : " + protocol));
  EXPECT_THAT(result.output, HasSubstr("Peer signature type: " + signature_type + "\n"));
  // s_server -rev sent our line back reversed.
  EXPECT_THAT(result.output, HasSubstr("ligis olleh"));
}

TEST_F(ProviderTest, RsaHandshakes) {
  int port = 0;
  auto server = StartServer("test-rsa", GetPki().rsa_cert, &port);
  ASSERT_NE(server, nullptr);
  ExpectSession(Connect(port, "rsa.sigil.test", {"-tls1_3"}), "TLSv1.3", "RSA-PSS");
  ExpectSession(Connect(port, "rsa.sigil.test", {"-tls1_2"}), "TLSv1.2", "RSA-PSS");
  // PKCS#1 v1.5, which only TLS 1.2 allows for the handshake signature.
  ExpectSession(Connect(port, "rsa.sigil.test", {"-tls1_2", "-sigalgs", "RSA+SHA256"}), "TLSv1.2", "RSA");
  ExpectSession(Connect(port, "rsa.sigil.test", {"-tls1_2", "-sigalgs", "RSA+SHA384"}), "TLSv1.2", "RSA");
  ExpectSession(Connect(port, "rsa.sigil.test", {"-tls1_3", "-sigalgs", "rsa_pss_rsae_sha512"}), "TLSv1.3",
                "RSA-PSS");
  EXPECT_TRUE(server->Running()) << server->Log();
}

TEST_F(ProviderTest, EcdsaHandshakes) {
  int port = 0;
  auto server = StartServer("test-ec", GetPki().ec_cert, &port);
  ASSERT_NE(server, nullptr);
  ExpectSession(Connect(port, "ec.sigil.test", {"-tls1_3"}), "TLSv1.3", "ECDSA");
  ExpectSession(Connect(port, "ec.sigil.test", {"-tls1_2"}), "TLSv1.2", "ECDSA");
  // ECDHE over P-256 on the server (the default provider's EC key management, not the sigil one).
  ExpectSession(Connect(port, "ec.sigil.test", {"-tls1_3", "-groups", "P-256"}), "TLSv1.3", "ECDSA");
  // The P-256 key cannot make ecdsa_secp384r1_sha384: no common signature algorithm, a clean failure.
  CommandResult mismatch = Connect(port, "ec.sigil.test", {"-tls1_3", "-sigalgs", "ECDSA+SHA384"});
  EXPECT_THAT(mismatch.output, Not(HasSubstr("ligis olleh")));
  EXPECT_TRUE(server->Running()) << server->Log();
}

TEST_F(ProviderTest, SignerdStoppedMidRunThenRestarted) {
  int port = 0;
  auto server = StartServer("test-rsa", GetPki().rsa_cert, &port);
  ASSERT_NE(server, nullptr);
  ExpectSession(Connect(port, "rsa.sigil.test", {"-tls1_3"}), "TLSv1.3", "RSA-PSS");

  signerd_->Signal(SIGTERM);
  ASSERT_TRUE(signerd_->Wait(kCommandTimeout).ok());
  CommandResult failed = Connect(port, "rsa.sigil.test", {"-tls1_3"});
  EXPECT_THAT(failed.output, Not(HasSubstr("ligis olleh")));
  EXPECT_THAT(failed.output, HasSubstr("alert internal error"));
  CommandResult failed12 = Connect(port, "rsa.sigil.test", {"-tls1_2"});
  EXPECT_THAT(failed12.output, Not(HasSubstr("ligis olleh")));
  ASSERT_TRUE(server->Running()) << server->Log();
  EXPECT_THAT(server->Log(), HasSubstr("sigil signer call failed"));

  int restarted_port = 0;
  auto restarted = StartSignerd(signer_port_, &restarted_port);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  ASSERT_EQ(restarted_port, signer_port_);
  signerd_ = *std::move(restarted);
  ExpectSession(Connect(port, "rsa.sigil.test", {"-tls1_3"}), "TLSv1.3", "RSA-PSS");
  ExpectSession(Connect(port, "rsa.sigil.test", {"-tls1_2", "-sigalgs", "RSA+SHA256"}), "TLSv1.2", "RSA");
  EXPECT_TRUE(server->Running());
}

TEST_F(ProviderTest, StockToolsReadTheStore) {
  const Pki& pki = GetPki();
  for (const auto& [identity, issued] : {std::pair{"test-rsa", &pki.rsa}, std::pair{"test-ec", &pki.ec}}) {
    CommandResult pubout = RunCommand(OpenSsl("pkey", {"-in", absl::StrCat("sigil:identity=", identity), "-pubout"}),
                               WithEnv(ProviderEnv()), kCommandTimeout);
    ASSERT_TRUE(pubout.ok()) << pubout.output;
    absl::StatusOr<std::string> expected = PublicKeyPem(X509_get0_pubkey(issued->cert.get()));
    ASSERT_TRUE(expected.ok());
    EXPECT_EQ(pubout.output, *expected) << identity;

    // No private components: writing the private key out fails.
    CommandResult private_out =
        RunCommand(OpenSsl("pkey", {"-in", absl::StrCat("sigil:identity=", identity)}), WithEnv(ProviderEnv()),
                   kCommandTimeout);
    EXPECT_FALSE(private_out.ok()) << private_out.output;
    EXPECT_THAT(private_out.output, Not(HasSubstr("PRIVATE KEY-----")));

    CommandResult listing = RunCommand(OpenSsl("storeutl", {absl::StrCat("sigil:identity=", identity)}),
                                       WithEnv(ProviderEnv()), kCommandTimeout);
    ASSERT_TRUE(listing.ok()) << listing.output;
    EXPECT_THAT(listing.output, HasSubstr("0: Pkey"));
    EXPECT_THAT(listing.output, HasSubstr("1: Certificate"));
    EXPECT_THAT(listing.output, HasSubstr(issued->CertPem()));
  }
  // Sign with the remote key (one-shot digest-sign) and verify with the certificate's public key.
  std::string data = pki.dir + "/data.txt";
  ASSERT_TRUE(testing::WriteFile(data, "sign me").ok());
  for (const auto& [identity, cert, opts] :
       {std::tuple<std::string, std::string, std::vector<std::string>>{"test-ec", pki.ec_cert, {}},
        {"test-rsa", pki.rsa_cert, {}},
        {"test-rsa", pki.rsa_cert, {"-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"}}}) {
    std::string sig = pki.dir + "/data.sig";
    std::vector<std::string> args = {"-sha256", "-sign", "sigil:identity=" + identity, "-out", sig};
    args.insert(args.end(), opts.begin(), opts.end());
    args.push_back(data);
    CommandResult signed_data = RunCommand(OpenSsl("dgst", args), WithEnv(ProviderEnv()), kCommandTimeout);
    ASSERT_TRUE(signed_data.ok()) << signed_data.output;
    std::string pub = pki.dir + "/pub.pem";
    ASSERT_TRUE(testing::WriteFile(pub, *PublicKeyPem(X509_get0_pubkey(
                                            (identity == "test-ec" ? pki.ec : pki.rsa).cert.get())))
                    .ok());
    std::vector<std::string> verify = {"/usr/bin/openssl", "dgst", "-sha256", "-verify", pub, "-signature", sig};
    verify.insert(verify.end(), opts.begin(), opts.end());
    verify.push_back(data);
    CommandResult verified = RunCommand(verify, {}, kCommandTimeout);
    EXPECT_TRUE(verified.ok()) << verified.output;
    EXPECT_THAT(verified.output, HasSubstr("Verified OK"));
  }
  // A PSS salt length the remote key cannot make is refused with a clear error.
  CommandResult bad_salt = RunCommand(OpenSsl("dgst", {"-sha256", "-sign", "sigil:identity=test-rsa", "-sigopt",
                                                "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:20", "-out",
                                                pki.dir + "/bad.sig", data}),
                               WithEnv(ProviderEnv()), kCommandTimeout);
  EXPECT_FALSE(bad_salt.ok());
  EXPECT_THAT(bad_salt.output, HasSubstr("salt length 20"));
  // An unknown identity: signerd's NOT_FOUND, as an OpenSSL error.
  CommandResult unknown =
      RunCommand(OpenSsl("pkey", {"-in", "sigil:identity=nope", "-pubout"}), WithEnv(ProviderEnv()), kCommandTimeout);
  EXPECT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.output, HasSubstr("NOT_FOUND"));
  // A malformed URI.
  CommandResult bad_uri =
      RunCommand(OpenSsl("pkey", {"-in", "sigil:name=x", "-pubout"}), WithEnv(ProviderEnv()), kCommandTimeout);
  EXPECT_FALSE(bad_uri.ok());
  EXPECT_THAT(bad_uri.output, HasSubstr("sigil:identity=<name>"));
}

TEST_F(ProviderTest, MissingConfigurationIsAnOpenSslError) {
  CommandResult result = RunCommand(OpenSsl("pkey", {"-in", "sigil:identity=test-rsa", "-pubout"}),
                             WithEnv({"SIGIL_SIGNER=", "SIGIL_TIMEOUT_MS=1000"}), kCommandTimeout);
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.output, HasSubstr("no signer configured"));
  CommandResult bad_timeout = RunCommand(OpenSsl("pkey", {"-in", "sigil:identity=test-rsa", "-pubout"}),
                                  WithEnv({"SIGIL_TIMEOUT_MS=soon"}), kCommandTimeout);
  EXPECT_FALSE(bad_timeout.ok());
}

}  // namespace
}  // namespace sigil
