// End-to-end tests of the `sigil` provider with stock OpenSSL tools: a real signerd (//signer:signerd, RSA-2048
// and P-256 identities, mutual TLS) and `openssl s_server -provider sigil -provider default -key
// sigil:identity=...` answering `openssl s_client` over TLS 1.2 and 1.3; `openssl pkey` / `storeutl` reading
// the store; and signerd stopped mid-run (clean handshake failure, s_server alive) then restarted on the same
// port (next handshake succeeds).
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <optional>
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

namespace sigil {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// How long a process may take to print its ready line, and a command to finish.
constexpr absl::Duration kStartTimeout = absl::Seconds(20);
constexpr absl::Duration kCommandTimeout = absl::Seconds(30);

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

std::string Runfile(const std::string& relative) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir != nullptr && workspace != nullptr) {
    std::string path = absl::StrCat(srcdir, "/", workspace, "/", relative);
    if (access(path.c_str(), R_OK) == 0) return path;
  }
  return relative;
}

std::string ProviderDir() {
  std::string so = Runfile("client/provider/sigil.so");
  return so.substr(0, so.rfind('/') == std::string::npos ? 0 : so.rfind('/'));
}

// A child process with stdout+stderr in a log file (and optionally `input` on stdin); SIGKILLed by the
// destructor if still running.
class Process {
 public:
  static absl::StatusOr<std::unique_ptr<Process>> Spawn(const std::vector<std::string>& args,
                                                        const std::vector<std::string>& env,
                                                        const std::string& input = "") {
    static std::atomic<int> counter{0};
    std::string base = args[0].substr(args[0].rfind('/') + 1);
    std::string log_path = absl::StrCat(TempDir(), "/", base, "-", counter++, ".log");
    std::string input_path = log_path + ".in";
    if (absl::Status s = testing::WriteFile(input_path, input); !s.ok()) return s;
    int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int in_fd = open(input_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (log_fd < 0 || in_fd < 0) return absl::InternalError("cannot open the log or input file");
    std::vector<std::string> argv_strings = args;
    std::vector<char*> argv;
    for (std::string& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
    env_strings.insert(env_strings.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (std::string& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return absl::InternalError("fork failed");
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(126);
      dup2(in_fd, STDIN_FILENO);
      dup2(log_fd, STDOUT_FILENO);
      dup2(log_fd, STDERR_FILENO);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
    close(log_fd);
    close(in_fd);
    return std::unique_ptr<Process>(new Process(pid, log_path));
  }

  ~Process() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  std::string Log() const {
    auto contents = testing::ReadFile(log_path_);
    return contents.ok() ? *contents : std::string();
  }

  // Waits until the log matches `ready` (its first group is a port number) and returns that port.
  absl::StatusOr<int> WaitForPort(const std::regex& ready) {
    absl::Time deadline = absl::Now() + kStartTimeout;
    while (absl::Now() < deadline) {
      std::string log = Log();
      std::smatch match;
      int port = 0;
      if (std::regex_search(log, match, ready) && absl::SimpleAtoi(match[1].str(), &port)) return port;
      if (!Running()) return absl::InternalError(absl::StrCat("exited before it was ready; log:\n", log));
      absl::SleepFor(absl::Milliseconds(25));
    }
    return absl::DeadlineExceededError(absl::StrCat("not ready; log:\n", Log()));
  }

  bool Running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      exit_status_ = status;
      return false;
    }
    return true;
  }

  // Waits for exit; the wait status, or DEADLINE_EXCEEDED (the process is then killed).
  absl::StatusOr<int> Wait(absl::Duration timeout = kCommandTimeout) {
    absl::Time deadline = absl::Now() + timeout;
    while (Running()) {
      if (absl::Now() > deadline) {
        kill(pid_, SIGKILL);
        return absl::DeadlineExceededError(absl::StrCat("still running; log:\n", Log()));
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    return exit_status_;
  }

  void Signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);
  }

 private:
  Process(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  pid_t pid_;
  int exit_status_ = -1;
  const std::string log_path_;
};

struct CommandResult {
  int status = -1;  // Wait status; -1 when it did not finish.
  std::string output;
  bool ok() const { return status == 0; }
};

CommandResult RunCommand(const std::vector<std::string>& args, const std::vector<std::string>& env,
                  const std::string& input = "") {
  CommandResult result;
  auto process = Process::Spawn(args, env, input);
  if (!process.ok()) {
    result.output = process.status().ToString();
    return result;
  }
  absl::StatusOr<int> status = (*process)->Wait();
  result.output = (*process)->Log();
  if (status.ok()) result.status = *status;
  return result;
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
  std::string path = absl::StrCat(TempDir(), "/signerd-", counter++, ".json");
  if (absl::Status s = testing::WriteFile(path, config); !s.ok()) return s;
  auto signerd = Process::Spawn({Runfile("signer/signerd"), "--config", path}, {});
  if (!signerd.ok()) return signerd.status();
  static const std::regex kReady(R"(listening on \S+ \(port (\d+)\)[^\n]*\n(?:.*\n)*.*Server is ready)");
  auto ready_port = (*signerd)->WaitForPort(kReady);
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
        ProviderEnv());
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return nullptr;
    static const std::regex kAccept(R"(ACCEPT 127\.0\.0\.1:(\d+))");
    auto accept_port = (*server)->WaitForPort(kAccept);
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
    return RunCommand(argv, {}, "hello sigil\nCLOSE\n");
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
  ASSERT_TRUE(signerd_->Wait().ok());
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
                               ProviderEnv());
    ASSERT_TRUE(pubout.ok()) << pubout.output;
    absl::StatusOr<std::string> expected = PublicKeyPem(X509_get0_pubkey(issued->cert.get()));
    ASSERT_TRUE(expected.ok());
    EXPECT_EQ(pubout.output, *expected) << identity;

    // No private components: writing the private key out fails.
    CommandResult private_out =
        RunCommand(OpenSsl("pkey", {"-in", absl::StrCat("sigil:identity=", identity)}), ProviderEnv());
    EXPECT_FALSE(private_out.ok()) << private_out.output;
    EXPECT_THAT(private_out.output, Not(HasSubstr("PRIVATE KEY-----")));

    CommandResult listing = RunCommand(OpenSsl("storeutl", {absl::StrCat("sigil:identity=", identity)}), ProviderEnv());
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
    CommandResult signed_data = RunCommand(OpenSsl("dgst", args), ProviderEnv());
    ASSERT_TRUE(signed_data.ok()) << signed_data.output;
    std::string pub = pki.dir + "/pub.pem";
    ASSERT_TRUE(testing::WriteFile(pub, *PublicKeyPem(X509_get0_pubkey(
                                            (identity == "test-ec" ? pki.ec : pki.rsa).cert.get())))
                    .ok());
    std::vector<std::string> verify = {"/usr/bin/openssl", "dgst", "-sha256", "-verify", pub, "-signature", sig};
    verify.insert(verify.end(), opts.begin(), opts.end());
    verify.push_back(data);
    CommandResult verified = RunCommand(verify, {});
    EXPECT_TRUE(verified.ok()) << verified.output;
    EXPECT_THAT(verified.output, HasSubstr("Verified OK"));
  }
  // A PSS salt length the remote key cannot make is refused with a clear error.
  CommandResult bad_salt = RunCommand(OpenSsl("dgst", {"-sha256", "-sign", "sigil:identity=test-rsa", "-sigopt",
                                                "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:20", "-out",
                                                pki.dir + "/bad.sig", data}),
                               ProviderEnv());
  EXPECT_FALSE(bad_salt.ok());
  EXPECT_THAT(bad_salt.output, HasSubstr("salt length 20"));
  // An unknown identity: signerd's NOT_FOUND, as an OpenSSL error.
  CommandResult unknown = RunCommand(OpenSsl("pkey", {"-in", "sigil:identity=nope", "-pubout"}), ProviderEnv());
  EXPECT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.output, HasSubstr("NOT_FOUND"));
  // A malformed URI.
  CommandResult bad_uri = RunCommand(OpenSsl("pkey", {"-in", "sigil:name=x", "-pubout"}), ProviderEnv());
  EXPECT_FALSE(bad_uri.ok());
  EXPECT_THAT(bad_uri.output, HasSubstr("sigil:identity=<name>"));
}

TEST_F(ProviderTest, MissingConfigurationIsAnOpenSslError) {
  CommandResult result = RunCommand(OpenSsl("pkey", {"-in", "sigil:identity=test-rsa", "-pubout"}),
                             {"SIGIL_SIGNER=", "SIGIL_TIMEOUT_MS=1000"});
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.output, HasSubstr("no signer configured"));
  CommandResult bad_timeout = RunCommand(OpenSsl("pkey", {"-in", "sigil:identity=test-rsa", "-pubout"}),
                                  {"SIGIL_TIMEOUT_MS=soon"});
  EXPECT_FALSE(bad_timeout.ok());
}

}  // namespace
}  // namespace sigil
