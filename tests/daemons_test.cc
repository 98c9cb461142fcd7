// End-to-end tests of the built daemons: `signerd` and `verifierd` run as separate processes (found in
// the test's runfiles) on 127.0.0.1 with a mutual-TLS test PKI, and are driven over gRPC the way fleet
// servers and operators use them: health, server reflection, signing, authorization, the audit log,
// the stubbed verifier RPCs, clean shutdown on SIGTERM / SIGINT, and start-up refusal of bad configs.
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <deque>
#include <memory>
#include <ostream>
#include <regex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "common/openssl_util.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sigil/cache/v1/cache.grpc.pb.h"
#include "sigil/signer/v1/signer.grpc.pb.h"
#include "sigil/verifier/v1/verifier.grpc.pb.h"
#include "signer/signature_scheme.h"
#include "tests/pki/mtls_pki.h"
#include "tests/pki/test_pki.h"
#include "tests/process/process.h"

namespace sigil {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Deadline of every RPC in this file.
constexpr absl::Duration kRpcDeadline = absl::Seconds(10);
// How long a daemon may take to log "Server is ready".
constexpr absl::Duration kReadyTimeout = absl::Seconds(20);
// How long a daemon may take to exit after a signal or a bad config.
constexpr absl::Duration kExitTimeout = absl::Seconds(10);

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + kRpcDeadline));
}

// Starts `binary` (a runfiles-relative path such as "signer/signerd") with `args`; output in a log under TEST_TMPDIR.
absl::StatusOr<std::unique_ptr<testing::Process>> SpawnDaemon(const std::string& binary,
                                                               std::vector<std::string> args) {
  args.insert(args.begin(), testing::Runfile(binary));
  return testing::Process::Spawn(std::move(args));
}

// A daemon that is serving: its process (SIGKILLed and reaped when this goes away) and its gRPC port.
struct Daemon {
  std::unique_ptr<testing::Process> process;
  int port = 0;

  std::string target() const { return absl::StrCat("127.0.0.1:", port); }
  std::string Log() const { return process->Log(); }
};

// Lines of `log` that contain `needle`.
std::vector<std::string> LinesWith(const std::string& log, absl::string_view needle) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (absl::StrContains(line, needle)) out.emplace_back(line);
  }
  return out;
}

// The last non-empty line of `log`.
std::string LastLine(const std::string& log) {
  std::vector<absl::string_view> lines = absl::StrSplit(log, '\n', absl::SkipWhitespace());
  return lines.empty() ? std::string() : std::string(lines.back());
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  EXPECT_EQ(RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)), 1);
  return out;
}

// Every textual form a log could carry `bytes` in.
std::vector<std::string> Encodings(const std::string& bytes) {
  std::string hex = absl::BytesToHexString(bytes);
  std::string b64 = absl::Base64Escape(bytes);
  std::string b64url = absl::WebSafeBase64Escape(bytes);
  std::string b64_unpadded(absl::StripSuffix(absl::StripSuffix(b64, "="), "="));
  return {hex, absl::AsciiStrToUpper(hex), b64, b64_unpadded, b64url, bytes};
}

// The PKI every test uses: the mTLS PKI plus two signing identities (RSA-2048 and P-256) issued by the
// same CA, written to files.
struct DaemonPki {
  testing::MtlsPki mtls;
  testing::Issued rsa, ec;
  std::string rsa_cert, rsa_key, ec_cert, ec_key;
};

const DaemonPki& Pki() {
  static DaemonPki* pki = [] {
    auto* p = new DaemonPki();
    std::string dir = testing::MakeTestDir("daemons");
    auto mtls = testing::MakeMtlsPki(dir);
    if (!mtls.ok()) {
      ADD_FAILURE() << "MakeMtlsPki: " << mtls.status();
      return p;
    }
    p->mtls = *std::move(mtls);
    testing::CertSpec rsa_spec;
    rsa_spec.subject = {{"O", "Sigil Tests"}, {"CN", "rsa.sigil.test"}};
    rsa_spec.dns_sans = {"rsa.sigil.test"};
    rsa_spec.extended_key_usages = {"serverAuth"};
    auto rsa = testing::IssueCert(rsa_spec, testing::KeySpec::Rsa(2048), p->mtls.ca);
    testing::CertSpec ec_spec;
    ec_spec.subject = {{"O", "Sigil Tests"}, {"CN", "ec.sigil.test"}};
    ec_spec.dns_sans = {"ec.sigil.test"};
    ec_spec.extended_key_usages = {"serverAuth"};
    auto ec = testing::IssueCert(ec_spec, testing::KeySpec::Ec(), p->mtls.ca);
    if (!rsa.ok() || !ec.ok()) {
      ADD_FAILURE() << "IssueCert: " << rsa.status() << " / " << ec.status();
      return p;
    }
    p->rsa = *std::move(rsa);
    p->ec = *std::move(ec);
    p->rsa_cert = dir + "/identity-rsa.pem";
    p->rsa_key = dir + "/identity-rsa-key.pem";
    p->ec_cert = dir + "/identity-ec.pem";
    p->ec_key = dir + "/identity-ec-key.pem";
    for (auto [path, contents] : std::vector<std::pair<std::string, std::string>>{
             {p->rsa_cert, p->rsa.CertPem()},
             {p->rsa_key, p->rsa.KeyPem()},
             {p->ec_cert, p->ec.CertPem()},
             {p->ec_key, p->ec.KeyPem()}}) {
      absl::Status s = testing::WriteFile(path, contents);
      if (!s.ok()) ADD_FAILURE() << s;
    }
    return p;
  }();
  return *pki;
}

// Replaces $CERT, $KEY, $CA (the listener's files) and $RSA_CERT, $RSA_KEY, $EC_CERT, $EC_KEY in `json`.
std::string Expand(const std::string& json) {
  const DaemonPki& pki = Pki();
  return absl::StrReplaceAll(json, {{"$CERT", pki.mtls.server_cert},
                                    {"$KEY", pki.mtls.server_key},
                                    {"$CA", pki.mtls.ca_file},
                                    {"$RSA_CERT", pki.rsa_cert},
                                    {"$RSA_KEY", pki.rsa_key},
                                    {"$EC_CERT", pki.ec_cert},
                                    {"$EC_KEY", pki.ec_key}});
}

// Writes `json` (expanded) to a new config file and returns its path.
std::string WriteConfig(const std::string& name, const std::string& json) {
  static std::atomic<int> counter{0};
  std::string path = absl::StrCat(testing::TempDir(), "/", name, "-", counter++, ".json");
  absl::Status s = testing::WriteFile(path, Expand(json));
  EXPECT_TRUE(s.ok()) << s;
  return path;
}

constexpr char kListener[] = R"("listener": {"listen": "127.0.0.1:0", "tls": {
    "cert_file": "$CERT", "key_file": "$KEY", "ca_file": "$CA", "verify": true}})";

std::string SignerConfigJson() {
  return absl::StrCat("{", kListener, R"(, "identities": [
    {"name": "test-rsa", "cert_file": "$RSA_CERT", "key_file": "$RSA_KEY",
     "allowed_principals": ["operator"]},
    {"name": "test-ec", "cert_file": "$EC_CERT", "key_file": "$EC_KEY",
     "allowed_principals": ["operator"]}]})");
}

std::string VerifierConfigJson() { return absl::StrCat("{", kListener, "}"); }

// Starts a daemon with a config and waits until it is ready; nullptr (with a test failure) otherwise.
std::unique_ptr<Daemon> StartDaemon(const std::string& binary, const std::string& config_json) {
  std::string config = WriteConfig(binary.substr(binary.rfind('/') + 1), config_json);
  auto process = SpawnDaemon(binary, {"--config", config});
  if (!process.ok()) {
    ADD_FAILURE() << binary << ": " << process.status();
    return nullptr;
  }
  absl::StatusOr<int> port = testing::WaitForDaemonReady(**process, kReadyTimeout);
  if (!port.ok()) {
    ADD_FAILURE() << binary << ": " << port.status();
    return nullptr;
  }
  auto daemon = std::make_unique<Daemon>();
  daemon->process = *std::move(process);
  daemon->port = *port;
  return daemon;
}

enum class As { kOperator, kOtherService, kNoCertificate, kForeignCa };

std::shared_ptr<grpc::Channel> Channel(const Daemon& daemon, As who) {
  const testing::MtlsPki& pki = Pki().mtls;
  client::ChannelOptions options;
  options.target = daemon.target();
  options.ca_file = pki.ca_file;
  switch (who) {
    case As::kOperator:
      options.cert_file = pki.client_cert;
      options.key_file = pki.client_key;
      break;
    case As::kOtherService:
      options.cert_file = pki.second_client_cert;
      options.key_file = pki.second_client_key;
      break;
    case As::kNoCertificate:
      break;
    case As::kForeignCa:
      options.cert_file = pki.foreign_client_cert;
      options.key_file = pki.foreign_client_key;
      break;
  }
  auto channel = client::MakeChannel(options);
  EXPECT_TRUE(channel.ok()) << channel.status();
  return channel.ok() ? *channel : nullptr;
}

// grpc.health.v1.Health/Check for the whole server ("").
grpc::Status HealthCheck(const std::shared_ptr<grpc::Channel>& channel,
                         grpc::health::v1::HealthCheckResponse* response) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  SetDeadline(&context);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("");
  return stub->Check(&context, request, response);
}

// One request/response exchange on a ServerReflectionInfo stream.
grpc::Status Reflect(const std::shared_ptr<grpc::Channel>& channel,
                     const grpc::reflection::v1alpha::ServerReflectionRequest& request,
                     grpc::reflection::v1alpha::ServerReflectionResponse* response) {
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(channel);
  grpc::ClientContext context;
  SetDeadline(&context);
  auto stream = stub->ServerReflectionInfo(&context);
  if (!stream->Write(request)) return stream->Finish();
  bool got = stream->Read(response);
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  if (status.ok() && !got) return grpc::Status(grpc::StatusCode::INTERNAL, "no reflection response");
  return status;
}

// The service names reflection lists.
std::vector<std::string> ListServices(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_list_services("");
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  grpc::Status status = Reflect(channel, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_TRUE(response.has_list_services_response()) << response.DebugString();
  std::vector<std::string> names;
  for (const auto& service : response.list_services_response().service()) names.push_back(service.name());
  return names;
}

// The file reflection returns for `symbol` (what grpcurl asks before calling a method), parsed.
google::protobuf::FileDescriptorProto FileContainingSymbol(const std::shared_ptr<grpc::Channel>& channel,
                                                           const std::string& symbol) {
  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_file_containing_symbol(symbol);
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  grpc::Status status = Reflect(channel, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  google::protobuf::FileDescriptorProto file;
  EXPECT_TRUE(response.has_file_descriptor_response()) << response.DebugString();
  if (response.file_descriptor_response().file_descriptor_proto_size() > 0) {
    // The first file is the one declaring the symbol; its dependencies follow.
    EXPECT_TRUE(file.ParseFromString(response.file_descriptor_response().file_descriptor_proto(0)));
  }
  return file;
}

std::string StatusText(const grpc::Status& status) {
  return absl::StrCat(status.error_code(), " '", status.error_message(), "'");
}

// ---------------------------------------------------------------------------------------------------
// signerd over mutual TLS: one daemon shared by the suite.

class SignerdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { signerd_ = StartDaemon("signer/signerd", SignerConfigJson()).release(); }
  static void TearDownTestSuite() {
    delete signerd_;
    signerd_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(signerd_, nullptr) << "signerd did not start"; }

  std::unique_ptr<signer::v1::Signer::Stub> Stub(As who) {
    return signer::v1::Signer::NewStub(Channel(*signerd_, who));
  }

  static grpc::Status Sign(signer::v1::Signer::Stub* stub, const std::string& identity, uint32_t scheme,
                           const std::string& digest, signer::v1::SignResponse* response) {
    grpc::ClientContext context;
    SetDeadline(&context);
    signer::v1::SignRequest request;
    request.set_identity(identity);
    request.set_scheme(scheme);
    request.set_digest(digest);
    return stub->Sign(&context, request, response);
  }

  static grpc::Status ListIdentities(signer::v1::Signer::Stub* stub,
                                     signer::v1::ListIdentitiesResponse* response) {
    grpc::ClientContext context;
    SetDeadline(&context);
    return stub->ListIdentities(&context, signer::v1::ListIdentitiesRequest(), response);
  }

  // Signs a fresh random digest with `scheme` and checks the signature against `cert`'s public key the
  // way a TLS peer would. Returns the digest.
  std::string SignAndVerify(const std::string& identity, uint32_t scheme_code, X509* cert) {
    const signer::SignatureScheme* scheme = signer::FindScheme(scheme_code);
    EXPECT_NE(scheme, nullptr);
    EXPECT_NE(cert, nullptr) << "the test PKI was not made";
    if (scheme == nullptr || cert == nullptr) return "";
    std::string digest = RandomBytes(scheme->digest_length);
    auto stub = Stub(As::kOperator);
    signer::v1::SignResponse response;
    grpc::Status status = Sign(stub.get(), identity, scheme_code, digest, &response);
    EXPECT_TRUE(status.ok()) << StatusText(status);
    EXPECT_FALSE(response.signature().empty());
    absl::Status verified =
        signer::VerifySignature(X509_get0_pubkey(cert), *scheme, digest, response.signature());
    EXPECT_TRUE(verified.ok()) << identity << " " << signer::SchemeLabel(scheme_code) << ": " << verified;
    // A signature over another digest must not verify with it: the check above can fail.
    std::string other = RandomBytes(scheme->digest_length);
    EXPECT_FALSE(signer::VerifySignature(X509_get0_pubkey(cert), *scheme, other, response.signature()).ok());
    last_signature_ = response.signature();
    return digest;
  }

  static Daemon* signerd_;
  std::string last_signature_;
};

Daemon* SignerdTest::signerd_ = nullptr;

TEST_F(SignerdTest, HealthIsServing) {
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = HealthCheck(Channel(*signerd_, As::kOperator), &response);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(SignerdTest, ListIdentitiesReturnsBothIdentitiesWithTheirSchemes) {
  auto stub = Stub(As::kOperator);
  signer::v1::ListIdentitiesResponse response;
  grpc::Status status = ListIdentities(stub.get(), &response);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  ASSERT_EQ(response.identities_size(), 2) << response.DebugString();

  // Sorted by name: test-ec, test-rsa.
  const signer::v1::Identity& ec = response.identities(0);
  EXPECT_EQ(ec.name(), "test-ec");
  EXPECT_EQ(ec.key_type(), "EC");
  EXPECT_EQ(ec.key_bits(), 256u);
  EXPECT_EQ(std::vector<uint32_t>(ec.schemes().begin(), ec.schemes().end()),
            std::vector<uint32_t>{0x0403});
  EXPECT_EQ(ec.store(), "PEM");
  EXPECT_THAT(ec.subject(), HasSubstr("CN=ec.sigil.test"));

  const signer::v1::Identity& rsa = response.identities(1);
  EXPECT_EQ(rsa.name(), "test-rsa");
  EXPECT_EQ(rsa.key_type(), "RSA");
  EXPECT_EQ(rsa.key_bits(), 2048u);
  EXPECT_EQ(std::vector<uint32_t>(rsa.schemes().begin(), rsa.schemes().end()),
            (std::vector<uint32_t>{0x0806, 0x0805, 0x0804, 0x0601, 0x0501, 0x0401, 0x0201}));
  EXPECT_EQ(rsa.store(), "PEM");
  EXPECT_THAT(rsa.subject(), HasSubstr("CN=rsa.sigil.test"));

  int64_t now = static_cast<int64_t>(absl::ToUnixSeconds(absl::Now()));
  for (const auto& identity : response.identities()) {
    EXPECT_LT(identity.not_before(), now) << identity.name();
    EXPECT_GT(identity.not_after(), now) << identity.name();
  }
}

TEST_F(SignerdTest, GetCertificateChainReturnsTheConfiguredCertificate) {
  auto stub = Stub(As::kOperator);
  for (auto [name, issued] : {std::pair<std::string, const testing::Issued*>{"test-rsa", &Pki().rsa},
                              {"test-ec", &Pki().ec}}) {
    grpc::ClientContext context;
    SetDeadline(&context);
    signer::v1::GetCertificateChainRequest request;
    request.set_identity(name);
    signer::v1::GetCertificateChainResponse response;
    grpc::Status status = stub->GetCertificateChain(&context, request, &response);
    ASSERT_TRUE(status.ok()) << name << ": " << StatusText(status);
    ASSERT_EQ(response.certificates_size(), 1) << name;
    EXPECT_EQ(response.certificates(0), issued->CertDer()) << name;
  }
}

TEST_F(SignerdTest, SignRsaPssSha256VerifiesWithTheCertificateKey) {
  SignAndVerify("test-rsa", 0x0804, Pki().rsa.cert.get());
}

TEST_F(SignerdTest, SignEcdsaP256Sha256VerifiesWithTheCertificateKey) {
  SignAndVerify("test-ec", 0x0403, Pki().ec.cert.get());
}

TEST_F(SignerdTest, UnknownIdentityIsNotFound) {
  auto stub = Stub(As::kOperator);
  signer::v1::SignResponse response;
  grpc::Status status = Sign(stub.get(), "no-such-identity", 0x0804, RandomBytes(32), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << StatusText(status);
  EXPECT_TRUE(response.signature().empty());
}

TEST_F(SignerdTest, CallerAllowedNothingIsPermissionDenied) {
  auto stub = Stub(As::kOtherService);
  signer::v1::ListIdentitiesResponse list;
  grpc::Status status = ListIdentities(stub.get(), &list);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << StatusText(status);
  EXPECT_EQ(list.identities_size(), 0);

  signer::v1::SignResponse response;
  status = Sign(stub.get(), "test-rsa", 0x0804, RandomBytes(32), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << StatusText(status);
  EXPECT_TRUE(response.signature().empty());

  // The refusal is audited under the caller's name.
  EXPECT_FALSE(LinesWith(signerd_->Log(), "audit: Sign caller=other-service identity=test-rsa ").empty())
      << signerd_->Log();
  std::vector<std::string> lines = LinesWith(signerd_->Log(), "audit: Sign caller=other-service ");
  for (const std::string& line : lines) EXPECT_THAT(line, HasSubstr("outcome=PERMISSION_DENIED"));
}

TEST_F(SignerdTest, ClientWithoutCertificateCannotConnect) {
  auto stub = Stub(As::kNoCertificate);
  signer::v1::ListIdentitiesResponse response;
  grpc::Status status = ListIdentities(stub.get(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << StatusText(status);
  EXPECT_EQ(response.identities_size(), 0);
}

TEST_F(SignerdTest, ClientFromAnotherCaCannotConnect) {
  auto stub = Stub(As::kForeignCa);
  signer::v1::ListIdentitiesResponse response;
  grpc::Status status = ListIdentities(stub.get(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << StatusText(status);
  EXPECT_EQ(response.identities_size(), 0);

  signer::v1::SignResponse sign;
  status = Sign(stub.get(), "test-rsa", 0x0804, RandomBytes(32), &sign);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << StatusText(status);
}

TEST_F(SignerdTest, SignIsAuditedWithoutTheDigest) {
  std::string rsa_digest = SignAndVerify("test-rsa", 0x0804, Pki().rsa.cert.get());
  std::string rsa_signature = last_signature_;
  std::string ec_digest = SignAndVerify("test-ec", 0x0403, Pki().ec.cert.get());
  std::string ec_signature = last_signature_;
  ASSERT_FALSE(rsa_digest.empty());
  ASSERT_FALSE(ec_digest.empty());

  // The audit line is written before the response is sent, so it is in the log now.
  std::string log = signerd_->Log();
  static const std::regex kRsaLine(
      R"(audit: Sign caller=operator identity=test-rsa scheme=0x0804 rsa_pss_rsae_sha256 outcome=OK\b)");
  static const std::regex kEcLine(
      R"(audit: Sign caller=operator identity=test-ec scheme=0x0403 ecdsa_secp256r1_sha256 outcome=OK\b)");
  EXPECT_TRUE(std::regex_search(log, kRsaLine)) << log;
  EXPECT_TRUE(std::regex_search(log, kEcLine)) << log;

  for (const std::string& secret : {rsa_digest, ec_digest, rsa_signature, ec_signature}) {
    for (const std::string& form : Encodings(secret)) {
      EXPECT_THAT(log, Not(HasSubstr(form))) << "the log carries a digest or signature";
    }
  }
}

TEST_F(SignerdTest, ReflectionListsTheServices) {
  std::vector<std::string> services = ListServices(Channel(*signerd_, As::kOperator));
  EXPECT_THAT(services, ::testing::IsSupersetOf({"sigil.signer.v1.Signer", "grpc.health.v1.Health",
                                                 "grpc.reflection.v1alpha.ServerReflection"}))
      << absl::StrJoin(services, ", ");
  EXPECT_THAT(services, Not(::testing::Contains("sigil.verifier.v1.Verifier")));

  // What grpcurl asks next to call a method: the file declaring the service.
  google::protobuf::FileDescriptorProto file =
      FileContainingSymbol(Channel(*signerd_, As::kOperator), "sigil.signer.v1.Signer");
  EXPECT_EQ(file.name(), "sigil/signer/v1/signer.proto");
  EXPECT_EQ(file.package(), "sigil.signer.v1");
  ASSERT_EQ(file.service_size(), 1);
  std::vector<std::string> methods;
  for (const auto& method : file.service(0).method()) methods.push_back(method.name());
  EXPECT_EQ(methods, (std::vector<std::string>{"ListIdentities", "GetCertificateChain", "Sign", "SignBatch",
                                               "ReloadIdentities"}));
}

// ---------------------------------------------------------------------------------------------------
// signerd with credential stores: a SoftHSM2 token provisioned by tools/dev_token.sh (the quickstart's
// script, so it is tested too) and a PEM directory store that rotates on SIGHUP.

class SignerdStoresTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string dir = testing::MakeTestDir("signerd_stores");
    token_dir_ = new std::string(dir + "/token");
    store_dir_ = new std::string(dir + "/pem-store");
    ASSERT_EQ(mkdir(store_dir_->c_str(), 0700), 0);
    // tools/dev_token.sh issues the token's certificate with a dev_pki.sh-style CA: ca.pem + ca-key.pem.
    const std::string pki_dir = dir + "/pki";
    ASSERT_EQ(mkdir(pki_dir.c_str(), 0700), 0);
    ASSERT_TRUE(testing::WriteFile(pki_dir + "/ca.pem", Pki().mtls.ca.CertPem()).ok());
    ASSERT_TRUE(testing::WriteFile(pki_dir + "/ca-key.pem", Pki().mtls.ca.KeyPem()).ok());
    std::string command = absl::StrCat(testing::Runfile("tools/dev_token.sh"), " ", pki_dir, " ", *token_dir_,
                                       " >", dir, "/dev_token.log 2>&1");
    ASSERT_EQ(std::system(command.c_str()), 0) << testing::ReadFile(dir + "/dev_token.log").value_or("");
    ASSERT_EQ(setenv("SOFTHSM2_CONF", (*token_dir_ + "/softhsm2.conf").c_str(), 1), 0);
    ASSERT_TRUE(WriteStoreLeaf("gen1", absl::ToUnixSeconds(absl::Now()) - 7200).ok());

    signerd_ = StartDaemon("signer/signerd", absl::StrCat("{", kListener, R"(, "admin_principals": ["operator"],
      "identities": [
        {"name": "hsm", "cert_store": "pkcs11", "cert_match": "dev-hsm",
         "pkcs11": {"module": "/usr/lib/softhsm/libsofthsm2.so", "token_label": "sigil-dev",
                    "pin_file": ")", *token_dir_, R"(/pin"},
         "allowed_principals": ["operator"]},
        {"name": "rotating", "cert_store": "PEM", "cert_match": "rotating.sigil.test",
         "pem_store": {"directory": ")", *store_dir_, R"("}, "refresh_interval": 0,
         "key_file": "ignored.pem", "allowed_principals": ["operator"]}]})"))
                   .release();
  }
  static void TearDownTestSuite() {
    delete signerd_;
    signerd_ = nullptr;
    unsetenv("SOFTHSM2_CONF");
  }
  void SetUp() override { ASSERT_NE(signerd_, nullptr) << "signerd did not start"; }

  // A leaf for the PEM store: FILE.pem and FILE.key, issued by the test CA with the given NotBefore.
  static absl::Status WriteStoreLeaf(const std::string& file, int64_t not_before) {
    testing::CertSpec spec;
    spec.subject = {{"CN", "rotating.sigil.test"}};
    spec.not_before_unix = not_before;
    auto leaf = testing::IssueCert(spec, testing::KeySpec::Ec(), Pki().mtls.ca);
    if (!leaf.ok()) return leaf.status();
    if (auto s = testing::WriteFile(absl::StrCat(*store_dir_, "/", file, ".pem"), leaf->CertPem()); !s.ok()) {
      return s;
    }
    return testing::WriteFile(absl::StrCat(*store_dir_, "/", file, ".key"), leaf->KeyPem());
  }

  std::string Leaf(const std::string& identity) {
    auto stub = signer::v1::Signer::NewStub(Channel(*signerd_, As::kOperator));
    grpc::ClientContext context;
    SetDeadline(&context);
    signer::v1::GetCertificateChainRequest request;
    request.set_identity(identity);
    signer::v1::GetCertificateChainResponse response;
    grpc::Status status = stub->GetCertificateChain(&context, request, &response);
    EXPECT_TRUE(status.ok()) << StatusText(status);
    return response.certificates_size() > 0 ? response.certificates(0) : "";
  }

  static Daemon* signerd_;
  static std::string* token_dir_;
  static std::string* store_dir_;
};

Daemon* SignerdStoresTest::signerd_ = nullptr;
std::string* SignerdStoresTest::token_dir_ = nullptr;
std::string* SignerdStoresTest::store_dir_ = nullptr;

TEST_F(SignerdStoresTest, TokenIdentitySignsWithTheKeyGeneratedOnTheToken) {
  auto cert_pem = testing::ReadFile(*token_dir_ + "/dev-hsm.pem");
  ASSERT_TRUE(cert_pem.ok());
  auto certs = ParsePemCertificates(*cert_pem, "dev-hsm.pem");
  ASSERT_TRUE(certs.ok());
  EXPECT_EQ(Leaf("hsm"), CertificateDer((*certs)[0].get()));

  const signer::SignatureScheme* scheme = signer::FindScheme(0x0403);
  std::string digest = RandomBytes(32);
  auto stub = signer::v1::Signer::NewStub(Channel(*signerd_, As::kOperator));
  grpc::ClientContext context;
  SetDeadline(&context);
  signer::v1::SignRequest request;
  request.set_identity("hsm");
  request.set_scheme(0x0403);
  request.set_digest(digest);
  signer::v1::SignResponse response;
  grpc::Status status = stub->Sign(&context, request, &response);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_TRUE(signer::VerifySignature(X509_get0_pubkey((*certs)[0].get()), *scheme, digest, response.signature()).ok());

  signer::v1::ListIdentitiesResponse list;
  grpc::ClientContext list_context;
  SetDeadline(&list_context);
  ASSERT_TRUE(stub->ListIdentities(&list_context, signer::v1::ListIdentitiesRequest(), &list).ok());
  ASSERT_EQ(list.identities_size(), 2);
  EXPECT_EQ(list.identities(0).name(), "hsm");
  EXPECT_EQ(list.identities(0).store(), "PKCS11");
  EXPECT_EQ(list.identities(1).store(), "PEM");

  // The PIN is in no log line; the ignored key_file is named in a warning.
  auto pin = testing::ReadFile(*token_dir_ + "/pin");
  ASSERT_TRUE(pin.ok());
  std::string log = signerd_->Log();
  EXPECT_THAT(log, Not(HasSubstr(std::string(absl::StripTrailingAsciiWhitespace(*pin)))));
  EXPECT_THAT(log, HasSubstr("[WRN] identity 'rotating': 'key_file' is ignored because 'cert_store' is configured"));
}

TEST_F(SignerdStoresTest, SighupServesARotatedCertificate) {
  const std::string before = Leaf("rotating");
  ASSERT_FALSE(before.empty());
  ASSERT_TRUE(WriteStoreLeaf("gen2", absl::ToUnixSeconds(absl::Now()) - 60).ok());
  EXPECT_EQ(Leaf("rotating"), before) << "refresh_interval 0: nothing changes until SIGHUP";
  signerd_->process->Signal(SIGHUP);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  std::string after = before;
  while (after == before && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
    after = Leaf("rotating");
  }
  EXPECT_NE(after, before) << signerd_->Log();
  EXPECT_THAT(signerd_->Log(), HasSubstr("rotated: identity 'rotating': CN=rotating.sigil.test from PEM"));
  // Still serving after the signal.
  grpc::health::v1::HealthCheckResponse health;
  EXPECT_TRUE(HealthCheck(Channel(*signerd_, As::kOperator), &health).ok());
}

// ---------------------------------------------------------------------------------------------------
// verifierd: healthy, reflective, and answering its RPCs.

class VerifierdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    verifierd_ = StartDaemon("verifier/verifierd", VerifierConfigJson()).release();
  }
  static void TearDownTestSuite() {
    delete verifierd_;
    verifierd_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(verifierd_, nullptr) << "verifierd did not start"; }

  static Daemon* verifierd_;
};

Daemon* VerifierdTest::verifierd_ = nullptr;

TEST_F(VerifierdTest, HealthIsServing) {
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = HealthCheck(Channel(*verifierd_, As::kOperator), &response);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(VerifierdTest, ReflectionListsTheServices) {
  std::vector<std::string> services = ListServices(Channel(*verifierd_, As::kOperator));
  EXPECT_THAT(services, ::testing::IsSupersetOf({"sigil.verifier.v1.Verifier", "sigil.cache.v1.Cache",
                                                 "grpc.health.v1.Health",
                                                 "grpc.reflection.v1alpha.ServerReflection"}))
      << absl::StrJoin(services, ", ");
  EXPECT_THAT(services, Not(::testing::Contains("sigil.signer.v1.Signer")));
}

// VerifyPeer is implemented (verifier/peer_verifier.h); a request without a peer role is a bad request.
TEST_F(VerifierdTest, VerifyPeerRejectsAnEmptyRequest) {
  auto stub = verifier::v1::Verifier::NewStub(Channel(*verifierd_, As::kOperator));
  grpc::ClientContext context;
  SetDeadline(&context);
  verifier::v1::VerifyPeerResponse response;
  grpc::Status status = stub->VerifyPeer(&context, verifier::v1::VerifyPeerRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << StatusText(status);
  EXPECT_EQ(status.error_message(), "peer_role must be CLIENT or SERVER");
}

// GetStaple is implemented (verifier/stapling/staple_manager.h); a request without certificates is a bad
// request.
TEST_F(VerifierdTest, GetStapleRejectsAnEmptyRequest) {
  auto stub = verifier::v1::Verifier::NewStub(Channel(*verifierd_, As::kOperator));
  grpc::ClientContext context;
  SetDeadline(&context);
  verifier::v1::GetStapleResponse response;
  grpc::Status status = stub->GetStaple(&context, verifier::v1::GetStapleRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << StatusText(status);
  EXPECT_EQ(status.error_message(), "no certificates: send the leaf, then its issuer");
}

TEST_F(VerifierdTest, CacheGetStatsWithoutOcspPeerReportsTypeNoneAndZeros) {
  // No profile enables ocsp_peer, so verifierd creates no cache (the seed: a cache only with OCSP peer).
  auto stub = cache::v1::Cache::NewStub(Channel(*verifierd_, As::kOperator));
  grpc::ClientContext context;
  SetDeadline(&context);
  cache::v1::CacheStats response;
  grpc::Status status = stub->GetStats(&context, cache::v1::GetStatsRequest(), &response);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_EQ(response.cache_type(), "none");
  EXPECT_EQ(response.cache_hits() + response.cache_misses() + response.cached_responses(), 0);
}

TEST_F(VerifierdTest, ClientFromAnotherCaCannotConnect) {
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = HealthCheck(Channel(*verifierd_, As::kForeignCa), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << StatusText(status);
}

// ---------------------------------------------------------------------------------------------------
// Clean shutdown: a termination signal stops the daemon with status 0 and a final "stopped" line, also
// while a client holds an open connection.

void ExpectCleanStop(const std::string& binary, const std::string& config_json, int sig,
                     const std::string& last_line) {
  std::unique_ptr<Daemon> daemon = StartDaemon(binary, config_json);
  ASSERT_NE(daemon, nullptr);
  std::shared_ptr<grpc::Channel> channel = Channel(*daemon, As::kOperator);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = HealthCheck(channel, &response);
  ASSERT_TRUE(status.ok()) << StatusText(status);

  absl::Time sent = absl::Now();
  daemon->process->Signal(sig);
  absl::StatusOr<int> exit = daemon->process->Wait(kExitTimeout);
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(WIFEXITED(*exit)) << "wait status " << *exit << "; log:\n" << daemon->Log();
  EXPECT_EQ(WEXITSTATUS(*exit), 0) << daemon->Log();
  EXPECT_LT(absl::Now() - sent, kExitTimeout);
  std::string log = daemon->Log();
  EXPECT_THAT(log, HasSubstr(absl::StrCat("Received signal ", sig, ", shutting down")));
  EXPECT_TRUE(absl::EndsWith(LastLine(log), last_line)) << "last line: " << LastLine(log);
}

TEST(ShutdownTest, SignerdStopsOnSigterm) {
  ExpectCleanStop("signer/signerd", SignerConfigJson(), SIGTERM, "signerd stopped");
}

TEST(ShutdownTest, VerifierdStopsOnSigint) {
  ExpectCleanStop("verifier/verifierd", VerifierConfigJson(), SIGINT, "verifierd stopped");
}

// ---------------------------------------------------------------------------------------------------
// Bad configurations: exit status 1 and one "<daemon> cannot start: <message>" line naming the problem.

struct BadConfigCase {
  const char* name;
  const char* binary;  // runfiles-relative
  // JSON config ($-placeholders expanded); nullptr = start without --config.
  const char* config;
  // What follows "<daemon> cannot start: " on its line; $CONFIG is replaced by the config file's path.
  // With `field` unset this is the whole rest of the line; with `field` set (protobuf's wording for an
  // unknown field is its own) the rest must start with `message` and name `field`.
  const char* message;
  const char* field = nullptr;
};

// gtest prints a failing case by its name.
void PrintTo(const BadConfigCase& c, std::ostream* os) { *os << c.name; }

class BadConfigTest : public ::testing::TestWithParam<BadConfigCase> {};

TEST_P(BadConfigTest, ExitsWithStatusOneAndTheMessage) {
  const BadConfigCase& c = GetParam();
  std::string daemon_name = std::string(c.binary).substr(std::string(c.binary).rfind('/') + 1);
  std::vector<std::string> args;
  std::string config_path;
  if (c.config != nullptr) {
    config_path = WriteConfig(absl::StrCat("bad-", c.name), c.config);
    args = {"--config", config_path};
  }
  auto daemon = SpawnDaemon(c.binary, args);
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  absl::StatusOr<int> exit = (*daemon)->Wait(kExitTimeout);
  ASSERT_TRUE(exit.ok()) << exit.status();
  std::string log = (*daemon)->Log();
  ASSERT_TRUE(WIFEXITED(*exit)) << "wait status " << *exit << "; log:\n" << log;
  EXPECT_EQ(WEXITSTATUS(*exit), 1) << log;
  EXPECT_THAT(log, Not(HasSubstr("Server is ready")));

  std::string message = absl::StrReplaceAll(c.message, {{"$CONFIG", config_path}});
  std::string prefix = absl::StrCat(daemon_name, " cannot start: ");
  std::vector<std::string> lines = LinesWith(log, prefix);
  ASSERT_EQ(lines.size(), 1u) << log;
  std::string rest = lines[0].substr(lines[0].find(prefix) + prefix.size());
  if (c.field == nullptr) {
    EXPECT_EQ(rest, message);
  } else {
    EXPECT_TRUE(absl::StartsWith(rest, message)) << rest;
    EXPECT_THAT(rest, HasSubstr(c.field));
  }
}

constexpr char kGoodListener[] = R"("listener": {"listen": "127.0.0.1:0", "tls": {
    "cert_file": "$CERT", "key_file": "$KEY", "ca_file": "$CA"}})";

// Static storage for the cases' JSON (gtest keeps the parameters for the program's lifetime).
// Kept reachable for the whole run (the cases hold c_str()), so LeakSanitizer does not report them.
std::string* Json(std::string s) {
  static auto* kept = new std::deque<std::string>();
  return &kept->emplace_back(std::move(s));
}

const std::vector<BadConfigCase>& BadConfigCases() {
  static const auto* cases = new std::vector<BadConfigCase>{
      {"signerd_unknown_field", "signer/signerd",
       Json(absl::StrCat("{", kGoodListener, R"(, "no_such_option": 1, "identities": [
           {"name": "a", "cert_file": "$RSA_CERT", "key_file": "$RSA_KEY", "allowed_principals": ["*"]}]})"))
           ->c_str(),
       "config '$CONFIG': ", "no_such_option"},
      {"signerd_unknown_identity_field", "signer/signerd",
       Json(absl::StrCat("{", kGoodListener, R"(, "identities": [
           {"name": "a", "cert_file": "$RSA_CERT", "key_file": "$RSA_KEY", "allowed_principals": ["*"],
            "cert_matchh": "x"}]})"))
           ->c_str(),
       "config '$CONFIG': ", "cert_matchh"},
      {"verifierd_unknown_ocsp_peer_field", "verifier/verifierd",
       Json(absl::StrCat("{", kGoodListener, R"(, "profiles": {"default": {"ocsp_peer": {"verfy": true}}}})"))
           ->c_str(),
       "config '$CONFIG': ", "verfy"},
      {"signerd_missing_config", "signer/signerd", nullptr, "--config FILE is required"},
      {"verifierd_missing_config", "verifier/verifierd", nullptr, "--config FILE is required"},
      {"signerd_cert_store_and_cert_file", "signer/signerd",
       Json(absl::StrCat("{", kGoodListener, R"(, "identities": [
           {"name": "win", "cert_store": "WindowsCurrentUser", "cert_file": "$RSA_CERT",
            "key_file": "$RSA_KEY", "allowed_principals": ["operator"]}]})"))
           ->c_str(),
       "identity 'win': 'cert_file' and 'cert_store' may not both be configured"},
      {"signerd_windows_store_on_linux", "signer/signerd",
       Json(absl::StrCat("{", kGoodListener, R"(, "identities": [
           {"name": "win", "cert_store": "WindowsCurrentUser", "cert_match_by": "Subject",
            "cert_match": "rsa.sigil.test", "allowed_principals": ["operator"]}]})"))
           ->c_str(),
       "identity 'win': cert store type not implemented: WindowsCurrentUser is available only in the Windows "
       "build of signerd"},
      {"signerd_identity_without_allowed_principals", "signer/signerd",
       Json(absl::StrCat("{", kGoodListener, R"(, "identities": [
           {"name": "test-rsa", "cert_file": "$RSA_CERT", "key_file": "$RSA_KEY"}]})"))
           ->c_str(),
       "identity 'test-rsa': 'allowed_principals' is required: the callers' mTLS principals (SAN DNS, SAN "
       "URI or subject CN) allowed to sign with it, or \"*\" for any authenticated caller"},
      {"signerd_listener_without_tls", "signer/signerd",
       R"({"listener": {"listen": "127.0.0.1:0"}, "identities": [
           {"name": "a", "cert_file": "$RSA_CERT", "key_file": "$RSA_KEY", "allowed_principals": ["*"]}]})",
       "listener: a 'tls' map is required (or 'plaintext_development_only' for development)"},
      {"verifierd_listener_without_tls", "verifier/verifierd", R"({"listener": {"listen": "127.0.0.1:0"}})",
       "listener: a 'tls' map is required (or 'plaintext_development_only' for development)"},
      {"verifierd_negative_ca_timeout", "verifier/verifierd",
       Json(absl::StrCat("{", kGoodListener, R"(, "profiles": {"default": {"ocsp_peer": {"verify": true, "ca_timeout": -1}}}})"))
           ->c_str(),
       "profile \"default\": ocsp_peer.ca_timeout must be a non-negative number of seconds, got -1"},
      {"verifierd_unknown_cert_id_hash", "verifier/verifierd",
       Json(absl::StrCat("{", kGoodListener, R"(, "profiles": {"default": {"ocsp_peer": {"verify": true, "cert_id_hash": "md5"}}}})"))
           ->c_str(),
       "profile \"default\": ocsp_peer.cert_id_hash: unknown CertID hash \"md5\": expected sha1, sha256, sha384 or sha512"},
  };
  return *cases;
}

INSTANTIATE_TEST_SUITE_P(Daemons, BadConfigTest, ::testing::ValuesIn(BadConfigCases()),
                         [](const ::testing::TestParamInfo<BadConfigCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace sigil
