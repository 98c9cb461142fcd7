// SignerClient against a hand-written in-process Signer service: deadlines, UNAVAILABLE retried and then
// surfaced, other codes not retried, bounds on responses; against a port nobody listens on; and against the
// real SignerService over mutual TLS (PEM identities and a PEM directory store): ListIdentities, SignBatch
// with signatures verified against the identity's certificate, per-item errors, ReloadIdentities for an
// admin and a non-admin caller, and a SignBatch that waits for a signerd started late.
#include "client/signer_client.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/config.h"
#include "common/grpc_server.h"
#include "common/openssl_util.h"
#include "gtest/gtest.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "sigil/signer/v1/signer.grpc.pb.h"
#include "signer/identity.h"
#include "signer/signature_scheme.h"
#include "signer/signer_service.h"
#include "signer/signing_pool.h"
#include "signer/stores/registry.h"
#include "tests/pki/mtls_pki.h"

namespace sigil::client {
namespace {

// Answers Sign, GetCertificateChain, SignBatch and ReloadIdentities from a script: each call pops the next
// status (OK when the script is empty). With `hang` set, a call waits until its caller gives up.
class FakeSigner final : public signer::v1::Signer::Service {
 public:
  grpc::Status Sign(grpc::ServerContext* context, const signer::v1::SignRequest* request,
                    signer::v1::SignResponse* response) override {
    grpc::Status status = Next(context);
    if (status.ok()) {
      last_identity_ = request->identity();
      response->set_signature(signature_);
    }
    return status;
  }

  grpc::Status GetCertificateChain(grpc::ServerContext* context, const signer::v1::GetCertificateChainRequest*,
                                   signer::v1::GetCertificateChainResponse* response) override {
    grpc::Status status = Next(context);
    if (status.ok()) {
      for (int i = 0; i < certificates_; ++i) response->add_certificates("der");
      response->add_schemes(0x0804);
    }
    return status;
  }

  // `batch_results_` when set, else one result carrying `signature_` per request.
  grpc::Status SignBatch(grpc::ServerContext* context, const signer::v1::SignBatchRequest* request,
                         signer::v1::SignBatchResponse* response) override {
    grpc::Status status = Next(context);
    if (!status.ok()) return status;
    if (!batch_results_.empty()) {
      for (const auto& result : batch_results_) *response->add_results() = result;
      return status;
    }
    for (int i = 0; i < request->requests_size(); ++i) response->add_results()->set_signature(signature_);
    return status;
  }

  grpc::Status ReloadIdentities(grpc::ServerContext* context, const signer::v1::ReloadIdentitiesRequest*,
                                signer::v1::ReloadIdentitiesResponse* response) override {
    grpc::Status status = Next(context);
    if (status.ok()) response->add_results()->set_name("dev-rsa");
    return status;
  }

  void Script(std::deque<grpc::Status> statuses) {
    absl::MutexLock lock(&mu_);
    script_ = std::move(statuses);
  }
  std::atomic<int> calls{0};
  std::atomic<bool> hang{false};
  std::string signature_ = "sig";
  int certificates_ = 1;
  std::vector<signer::v1::SignBatchResponse::Result> batch_results_;
  std::string last_identity_;

 private:
  grpc::Status Next(grpc::ServerContext* context) {
    ++calls;
    if (hang) {
      while (!context->IsCancelled()) absl::SleepFor(absl::Milliseconds(5));
      return grpc::Status(grpc::StatusCode::CANCELLED, "caller gave up");
    }
    absl::MutexLock lock(&mu_);
    if (script_.empty()) return grpc::Status::OK;
    grpc::Status status = script_.front();
    script_.pop_front();
    return status;
  }

  absl::Mutex mu_;
  std::deque<grpc::Status> script_ ABSL_GUARDED_BY(mu_);
};

class SignerClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override { server_->Shutdown(absl::ToChronoTime(absl::Now())); }

  std::unique_ptr<SignerClient> Client(SignerClientOptions options = {}) {
    options.initial_backoff = absl::Milliseconds(1);
    options.max_backoff = absl::Milliseconds(4);
    auto client = SignerClient::CreateWithChannel(server_->InProcessChannel(grpc::ChannelArguments()), options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  FakeSigner fake_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(SignerClientTest, SignReturnsSignature) {
  auto client = Client();
  auto signature = client->Sign("dev-rsa", 0x0804, std::string(32, 'd'));
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_EQ(*signature, "sig");
  EXPECT_EQ(fake_.last_identity_, "dev-rsa");
  EXPECT_EQ(fake_.calls, 1);
}

TEST_F(SignerClientTest, UnavailableIsRetriedThenSucceeds) {
  fake_.Script({grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"),
                grpc::Status(grpc::StatusCode::UNAVAILABLE, "still down")});
  auto signature = Client()->Sign("dev-rsa", 0x0804, std::string(32, 'd'));
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_EQ(fake_.calls, 3);
}

TEST_F(SignerClientTest, UnavailableIsSurfacedAfterMaxAttempts) {
  fake_.Script(std::deque<grpc::Status>(5, grpc::Status(grpc::StatusCode::UNAVAILABLE, "store unreachable")));
  SignerClientOptions options;
  options.max_attempts = 3;
  auto signature = Client(options)->Sign("dev-rsa", 0x0804, std::string(32, 'd'));
  EXPECT_EQ(signature.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(signature.status().message(), "store unreachable");
  EXPECT_EQ(fake_.calls, 3);
}

// The default (max_attempts 0) retries until the deadline, however many attempts that takes.
TEST_F(SignerClientTest, UnavailableIsRetriedUntilTheDeadline) {
  fake_.Script(std::deque<grpc::Status>(100000, grpc::Status(grpc::StatusCode::UNAVAILABLE, "store unreachable")));
  SignerClientOptions options;
  options.timeout = absl::Milliseconds(300);
  auto signature = Client(options)->Sign("dev-rsa", 0x0804, std::string(32, 'd'));
  EXPECT_EQ(signature.status().code(), absl::StatusCode::kUnavailable) << signature.status();
  EXPECT_EQ(signature.status().message(), "store unreachable");
  // Backoff 1, 2, 4, 4, ... ms within 300 ms: far more than the 4 attempts of a fixed count.
  EXPECT_GT(fake_.calls, 10);
}

TEST_F(SignerClientTest, NotFoundIsNotRetried) {
  fake_.Script({grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown identity")});
  auto chain = Client()->GetCertificateChain("nope");
  EXPECT_EQ(chain.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(fake_.calls, 1);
}

TEST_F(SignerClientTest, InvalidArgumentIsNotRetried) {
  fake_.Script({grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "scheme")});
  auto signature = Client()->Sign("dev-ec", 0x0503, std::string(48, 'd'));
  EXPECT_EQ(signature.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(fake_.calls, 1);
}

TEST_F(SignerClientTest, DeadlineBoundsAHangingCall) {
  fake_.hang = true;
  SignerClientOptions options;
  options.timeout = absl::Milliseconds(200);
  auto signature = Client(options)->Sign("dev-rsa", 0x0804, std::string(32, 'd'));
  EXPECT_EQ(signature.status().code(), absl::StatusCode::kDeadlineExceeded);
  // DEADLINE_EXCEEDED is not retried.
  EXPECT_EQ(fake_.calls, 1);
}

TEST_F(SignerClientTest, OversizedOrEmptyResponsesAreRefused) {
  fake_.signature_ = std::string(SignerClient::kMaxSignatureBytes + 1, 's');
  EXPECT_EQ(Client()->Sign("dev-rsa", 0x0804, std::string(32, 'd')).status().code(), absl::StatusCode::kInternal);
  fake_.signature_.clear();
  EXPECT_EQ(Client()->Sign("dev-rsa", 0x0804, std::string(32, 'd')).status().code(), absl::StatusCode::kInternal);
  fake_.certificates_ = 0;
  EXPECT_EQ(Client()->GetCertificateChain("dev-rsa").status().code(), absl::StatusCode::kInternal);
  fake_.certificates_ = SignerClient::kMaxChainLength + 1;
  EXPECT_EQ(Client()->GetCertificateChain("dev-rsa").status().code(), absl::StatusCode::kInternal);
  fake_.certificates_ = 2;
  auto chain = Client()->GetCertificateChain("dev-rsa");
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_EQ(chain->certificates.size(), 2u);
  EXPECT_EQ(chain->schemes, std::vector<uint32_t>{0x0804});
}

signer::v1::SignBatchResponse::Result BatchResult(int code, const std::string& message, const std::string& signature) {
  signer::v1::SignBatchResponse::Result result;
  result.set_code(code);
  result.set_message(message);
  result.set_signature(signature);
  return result;
}

// Each result is bounded on its own: a malformed one becomes that item's INTERNAL (or UNKNOWN for a code gRPC
// does not have), the others keep theirs. A response whose result count is not the item count cannot be
// matched to the items and fails the whole call.
TEST_F(SignerClientTest, SignBatchBoundsEachResultAndTheResultCount) {
  const std::string digest(32, 'd');
  const std::vector<SignItem> items(5, SignItem{"dev-rsa", 0x0804, digest});
  fake_.batch_results_ = {BatchResult(0, "", "sig"), BatchResult(0, "", ""),
                          BatchResult(0, "", std::string(SignerClient::kMaxSignatureBytes + 1, 's')),
                          BatchResult(5, "no identity named 'x'", ""), BatchResult(99, "odd", "")};
  auto results = Client()->SignBatch(items);
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 5u);
  ASSERT_TRUE((*results)[0].ok()) << (*results)[0].status();
  EXPECT_EQ(*(*results)[0], "sig");
  EXPECT_EQ((*results)[1].status(), absl::InternalError("signerd returned a signature of 0 bytes"));
  EXPECT_EQ((*results)[2].status(), absl::InternalError("signerd returned a signature of 2049 bytes"));
  EXPECT_EQ((*results)[3].status(), absl::NotFoundError("no identity named 'x'"));
  EXPECT_EQ((*results)[4].status(), absl::UnknownError("code 99: odd"));

  fake_.batch_results_.pop_back();
  results = Client()->SignBatch(items);
  EXPECT_EQ(results.status(), absl::InternalError("signerd returned 4 results for a batch of 5 items"));
}

TEST_F(SignerClientTest, SignBatchAndReloadIdentitiesRetryUnavailableOnly) {
  fake_.Script({grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"), grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")});
  const std::string digest(32, 'd');
  auto results = Client()->SignBatch({SignItem{"dev-rsa", 0x0804, digest}});
  ASSERT_TRUE(results.ok()) << results.status();
  EXPECT_EQ(fake_.calls, 3);

  fake_.calls = 0;
  fake_.Script({grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")});
  auto reloaded = Client()->ReloadIdentities();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  ASSERT_EQ(reloaded->size(), 1u);
  EXPECT_EQ((*reloaded)[0].name(), "dev-rsa");
  EXPECT_EQ(fake_.calls, 2);

  fake_.calls = 0;
  fake_.Script({grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "not an admin")});
  EXPECT_EQ(Client()->ReloadIdentities().status(), absl::PermissionDeniedError("not an admin"));
  EXPECT_EQ(fake_.calls, 1);
}

TEST_F(SignerClientTest, DeadlineBoundsAHangingSignBatchAndReload) {
  fake_.hang = true;
  SignerClientOptions options;
  options.timeout = absl::Milliseconds(200);
  const std::string digest(32, 'd');
  const absl::Time start = absl::Now();
  auto results = Client(options)->SignBatch({SignItem{"dev-rsa", 0x0804, digest}});
  EXPECT_EQ(results.status().code(), absl::StatusCode::kDeadlineExceeded) << results.status();
  EXPECT_EQ(Client(options)->ReloadIdentities().status().code(), absl::StatusCode::kDeadlineExceeded);
  // Two calls of 200 ms each, not retried.
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_EQ(fake_.calls, 2);
}

TEST(SignerClientOptionsTest, BadOptionsAreRejected) {
  SignerClientOptions options;
  options.channel.target = "127.0.0.1:1";
  options.channel.plaintext = true;
  options.timeout = absl::ZeroDuration();
  EXPECT_EQ(SignerClient::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.timeout = absl::Seconds(1);
  options.max_attempts = -1;
  EXPECT_EQ(SignerClient::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.max_attempts = 1;
  options.channel.target.clear();
  EXPECT_EQ(SignerClient::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
}

// Nobody listens: every attempt fails to connect (UNAVAILABLE), the call gives up within its deadline.
TEST(SignerClientNetworkTest, UnreachableSignerIsUnavailable) {
  SignerClientOptions options;
  // Port 1 on loopback: connection refused (needs root to bind).
  options.channel.target = "127.0.0.1:1";
  options.channel.plaintext = true;
  options.timeout = absl::Seconds(3);
  options.max_attempts = 3;
  auto client = SignerClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  auto chain = (*client)->GetCertificateChain("dev-rsa");
  EXPECT_EQ(chain.status().code(), absl::StatusCode::kUnavailable) << chain.status();
}

// A port that was free a moment ago (a server bound to port 0 and shut down).
int FreePort() {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  EXPECT_NE(server, nullptr);
  if (server != nullptr) server->Shutdown(absl::ToChronoTime(absl::Now()));
  return port;
}

std::unique_ptr<grpc::Server> StartFakeSigner(FakeSigner* fake, int port) {
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(absl::StrCat("127.0.0.1:", port), grpc::InsecureServerCredentials(), &bound);
  builder.RegisterService(fake);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  EXPECT_EQ(bound, port);
  return server;
}

// Through a real channel made by Create: the channel's own retryPolicy is off, so an UNAVAILABLE answered by
// signerd is tried exactly max_attempts times (with the channel's retry on, every attempt would be up to 4).
TEST(SignerClientNetworkTest, AttemptsDoNotMultiplyWithChannelRetries) {
  FakeSigner fake;
  int port = FreePort();
  auto server = StartFakeSigner(&fake, port);
  ASSERT_NE(server, nullptr);
  fake.Script(std::deque<grpc::Status>(20, grpc::Status(grpc::StatusCode::UNAVAILABLE, "store unreachable")));
  SignerClientOptions options;
  options.channel.target = absl::StrCat("127.0.0.1:", port);
  options.channel.plaintext = true;
  options.max_attempts = 3;
  options.initial_backoff = absl::Milliseconds(1);
  options.max_backoff = absl::Milliseconds(4);
  auto client = SignerClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  auto signature = (*client)->Sign("dev-rsa", 0x0804, std::string(32, 'd'));
  EXPECT_EQ(signature.status().code(), absl::StatusCode::kUnavailable) << signature.status();
  EXPECT_EQ(fake.calls, 3);
  server->Shutdown(absl::ToChronoTime(absl::Now()));
}

// signerd is down when the call starts and comes back on the same port while the call is retrying: the call
// succeeds within its deadline (the reconnect is not left to gRPC's reconnect backoff, and the retrying does
// not stop after a fixed number of quick attempts).
TEST(SignerClientNetworkTest, SignerThatComesBackWithinTheDeadlineIsReached) {
  FakeSigner fake;
  int port = FreePort();
  SignerClientOptions options;
  options.channel.target = absl::StrCat("127.0.0.1:", port);
  options.channel.plaintext = true;
  options.timeout = absl::Seconds(20);
  auto client = SignerClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<std::string> signature;
  std::thread call([&] { signature = (*client)->Sign("dev-rsa", 0x0804, std::string(32, 'd')); });
  // Let the call fail a few attempts (more than the old fixed 4 would allow: 50+100+200 ms) before signerd
  // returns.
  absl::SleepFor(absl::Seconds(2));
  auto server = StartFakeSigner(&fake, port);
  ASSERT_NE(server, nullptr);
  call.join();
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_EQ(*signature, "sig");
  EXPECT_EQ(fake.calls, 1);
  server->Shutdown(absl::ToChronoTime(absl::Now()));
}

// The real Signer service (signer/signer_service.h) over mutual TLS, as signerd runs it. Identities:
// "zeta-ec" (P-256) and "alpha-rsa" (RSA-2048) from PEM files and "middle-store" from a PEM directory store,
// all for the "operator" client; "other-only" for the "other-service" client alone. "operator" is the only
// admin.
class RealSignerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = sigil::testing::MakeTestDir(
        absl::StrCat("signer_client_", ::testing::UnitTest::GetInstance()->current_test_info()->name()));
    auto pki = sigil::testing::MakeMtlsPki(dir_);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *std::move(pki);
    store_dir_ = dir_ + "/store";
    ASSERT_EQ(mkdir(store_dir_.c_str(), 0700), 0);
    ASSERT_TRUE(AddStoreLeaf("gen1", sigil::testing::NowUnix() - 7200).ok());

    config::v1::SignerConfig config;
    auto add_file_identity = [&](const std::string& name, const sigil::testing::KeySpec& key,
                                 const std::string& principal) {
      sigil::testing::CertSpec spec;
      spec.subject = {{"CN", name}};
      auto issued = sigil::testing::IssueCert(spec, key, pki_.ca);
      ASSERT_TRUE(issued.ok()) << issued.status();
      const std::string cert = absl::StrCat(dir_, "/", name, ".pem"), key_file = absl::StrCat(dir_, "/", name, ".key");
      ASSERT_TRUE(sigil::testing::WriteFile(cert, issued->CertPem()).ok());
      ASSERT_TRUE(sigil::testing::WriteFile(key_file, issued->KeyPem()).ok());
      auto* ic = config.add_identities();
      ic->set_name(name);
      ic->set_cert_file(cert);
      ic->set_key_file(key_file);
      ic->add_allowed_principals(principal);
    };
    add_file_identity("zeta-ec", sigil::testing::KeySpec::Ec(), "operator");
    add_file_identity("other-only", sigil::testing::KeySpec::Ec(), "other-service");
    add_file_identity("alpha-rsa", sigil::testing::KeySpec::Rsa(2048), "operator");
    auto* store = config.add_identities();
    store->set_name("middle-store");
    store->set_cert_store("pem");
    store->mutable_pem_store()->set_directory(store_dir_);
    store->set_cert_match("store.sigil.test");
    store->add_allowed_principals("operator");
    std::vector<std::string> decisions;
    auto identities = signer::IdentitySet::Create(config, signer::CreateKeyStore, &decisions);
    ASSERT_TRUE(identities.ok()) << identities.status();
    identities_ = *std::move(identities);
    pool_ = std::make_unique<signer::SigningPool>(2, 64);
    StartSigner(0);
  }

  void TearDown() override {
    for (auto& server : servers_) server->Shutdown(absl::ZeroDuration());
    servers_.clear();
    services_.clear();
  }

  // Serves the identities on 127.0.0.1:`port` (0 = any) with a service of its own; returns the bound port.
  int StartSigner(int port) {
    services_.push_back(std::make_unique<signer::SignerService>(*identities_, std::vector<std::string>{"operator"},
                                                                *pool_));
    config::v1::Listener listener;
    listener.set_listen(absl::StrCat("127.0.0.1:", port));
    listener.mutable_tls()->set_cert_file(pki_.server_cert);
    listener.mutable_tls()->set_key_file(pki_.server_key);
    listener.mutable_tls()->set_ca_file(pki_.ca_file);
    auto options = ValidateListener(listener);
    EXPECT_TRUE(options.ok()) << options.status();
    if (!options.ok()) return 0;
    auto server = RunningServer::Start(*options, {services_.back().get()});
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return 0;
    servers_.push_back(*std::move(server));
    return servers_.back()->port();
  }

  absl::Status AddStoreLeaf(const std::string& file, int64_t not_before) {
    sigil::testing::CertSpec spec;
    spec.subject = {{"CN", "store.sigil.test"}};
    spec.not_before_unix = not_before;
    auto leaf = sigil::testing::IssueCert(spec, sigil::testing::KeySpec::Ec(), pki_.ca);
    if (!leaf.ok()) return leaf.status();
    absl::Status status = sigil::testing::WriteFile(absl::StrCat(store_dir_, "/", file, ".pem"), leaf->CertPem());
    if (!status.ok()) return status;
    return sigil::testing::WriteFile(absl::StrCat(store_dir_, "/", file, ".key"), leaf->KeyPem());
  }

  // A SignerClient with `cert`/`key` (default: the "operator" client) to 127.0.0.1:`port` (default: the first
  // server).
  std::unique_ptr<SignerClient> Client(const std::string& cert = "", const std::string& key = "", int port = 0,
                                       absl::Duration timeout = absl::Seconds(10)) {
    SignerClientOptions options;
    options.channel.target = absl::StrCat("127.0.0.1:", port != 0 ? port : servers_.front()->port());
    options.channel.ca_file = pki_.ca_file;
    options.channel.cert_file = cert.empty() ? pki_.client_cert : cert;
    options.channel.key_file = key.empty() ? pki_.client_key : key;
    options.timeout = timeout;
    auto client = SignerClient::Create(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  // Whether `signature` over `digest` verifies with the public key of `identity`'s leaf certificate.
  void ExpectVerifies(const SignerClient& client, const std::string& identity, uint32_t scheme,
                      const std::string& digest, const std::string& signature) {
    auto chain = client.GetCertificateChain(identity);
    ASSERT_TRUE(chain.ok()) << chain.status();
    auto leaf = ParseDerCertificate(chain->certificates[0]);
    ASSERT_TRUE(leaf.ok()) << leaf.status();
    EXPECT_TRUE(
        signer::VerifySignature(X509_get0_pubkey(leaf->get()), *signer::FindScheme(scheme), digest, signature).ok())
        << identity << " " << signer::SchemeLabel(scheme);
    EXPECT_FALSE(signer::VerifySignature(X509_get0_pubkey(leaf->get()), *signer::FindScheme(scheme),
                                         std::string(digest.size(), 'x'), signature)
                     .ok())
        << identity << ": verifies over another digest";
  }

  std::string dir_, store_dir_;
  sigil::testing::MtlsPki pki_;
  std::unique_ptr<signer::IdentitySet> identities_;
  std::unique_ptr<signer::SigningPool> pool_;
  // Declared after what they borrow; shut down in TearDown.
  std::vector<std::unique_ptr<signer::SignerService>> services_;
  std::vector<std::unique_ptr<RunningServer>> servers_;
};

TEST_F(RealSignerTest, ListIdentitiesIsSortedAndShowsOnlyTheCallersIdentities) {
  auto identities = Client()->ListIdentities();
  ASSERT_TRUE(identities.ok()) << identities.status();
  std::vector<std::string> names;
  for (const auto& identity : *identities) names.push_back(identity.name());
  EXPECT_EQ(names, (std::vector<std::string>{"alpha-rsa", "middle-store", "zeta-ec"}));
  EXPECT_EQ((*identities)[0].key_type(), "RSA");
  EXPECT_EQ((*identities)[0].key_bits(), 2048u);
  EXPECT_EQ((*identities)[0].store(), "PEM");
  EXPECT_EQ((*identities)[2].subject(), "CN=zeta-ec");
  EXPECT_EQ(std::vector<uint32_t>((*identities)[2].schemes().begin(), (*identities)[2].schemes().end()),
            std::vector<uint32_t>{0x0403});

  auto other = Client(pki_.second_client_cert, pki_.second_client_key)->ListIdentities();
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_EQ(other->size(), 1u);
  EXPECT_EQ((*other)[0].name(), "other-only");
}

TEST_F(RealSignerTest, SignBatchSignaturesVerifyWithTheIdentitysCertificate) {
  auto client = Client();
  const std::string d256 = Digest(EVP_sha256(), "batch"), d384 = Digest(EVP_sha384(), "batch");
  const std::vector<SignItem> items = {{"zeta-ec", 0x0403, d256},
                                       {"alpha-rsa", 0x0804, d256},
                                       {"alpha-rsa", 0x0401, d256},
                                       {"alpha-rsa", 0x0805, d384},
                                       {"middle-store", 0x0403, d256}};
  auto results = client->SignBatch(items);
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    ASSERT_TRUE((*results)[i].ok()) << i << ": " << (*results)[i].status();
    ExpectVerifies(*client, std::string(items[i].identity), items[i].scheme, std::string(items[i].digest),
                   *(*results)[i]);
  }
}

// Bad items fail alone, with the code and message Sign gives; the good items around them are signed.
TEST_F(RealSignerTest, SignBatchReportsEachBadItemWithSignsStatus) {
  auto client = Client();
  const std::string d256 = Digest(EVP_sha256(), "mixed");
  const std::string short_digest(20, 'x');
  const std::vector<SignItem> items = {{"no-such-identity", 0x0403, d256},
                                       {"zeta-ec", 0x0403, d256},
                                       {"other-only", 0x0403, d256},
                                       {"alpha-rsa", 0x0804, short_digest},
                                       {"zeta-ec", 0x0401, d256}};
  auto results = client->SignBatch(items);
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), items.size());
  EXPECT_EQ((*results)[0].status(), absl::NotFoundError("no identity named 'no-such-identity'"));
  ASSERT_TRUE((*results)[1].ok()) << (*results)[1].status();
  ExpectVerifies(*client, "zeta-ec", 0x0403, d256, *(*results)[1]);
  // An identity of another caller looks exactly like an unknown one.
  EXPECT_EQ((*results)[2].status(), absl::NotFoundError("no identity named 'other-only'"));
  EXPECT_EQ((*results)[3].status(),
            absl::InvalidArgumentError("digest is 20 bytes; rsa_pss_rsae_sha256 needs a 32-byte digest"));
  EXPECT_EQ((*results)[4].status(),
            absl::InvalidArgumentError("this identity's key cannot make 0x0401 rsa_pkcs1_sha256"));
  for (size_t i : {0u, 2u, 3u, 4u}) {
    EXPECT_EQ((*results)[i].status(), client->Sign(items[i].identity, items[i].scheme, items[i].digest).status())
        << i;
  }

  // A batch signerd refuses as a whole: empty, or more than 64 items.
  EXPECT_EQ(client->SignBatch({}).status(), absl::InvalidArgumentError("a SignBatch holds 1 to 64 requests (got 0)"));
  const std::vector<SignItem> too_many(SignerClient::kMaxSignBatch + 1, SignItem{"zeta-ec", 0x0403, d256});
  EXPECT_EQ(client->SignBatch(too_many).status(),
            absl::InvalidArgumentError("a SignBatch holds 1 to 64 requests (got 65)"));
  auto full = client->SignBatch(absl::MakeConstSpan(too_many).subspan(1));
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->size(), SignerClient::kMaxSignBatch);
}

TEST_F(RealSignerTest, ReloadIdentitiesIsForAdminsAndServesTheRotatedCertificate) {
  auto admin = Client();
  auto before = admin->GetCertificateChain("middle-store");
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_TRUE(AddStoreLeaf("gen2", sigil::testing::NowUnix() - 60).ok());

  // "other-service" is a known caller (it may use "other-only") but no admin.
  auto refused = Client(pki_.second_client_cert, pki_.second_client_key)->ReloadIdentities();
  EXPECT_EQ(refused.status(),
            absl::PermissionDeniedError("the caller is not one of this signer's admin_principals"));
  auto unchanged = admin->GetCertificateChain("middle-store");
  ASSERT_TRUE(unchanged.ok()) << unchanged.status();
  EXPECT_EQ(unchanged->certificates, before->certificates) << "the refused reload changed nothing";

  auto reloaded = admin->ReloadIdentities();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  std::vector<std::string> names;
  for (const auto& result : *reloaded) {
    names.push_back(result.name());
    EXPECT_EQ(result.error(), "") << result.name();
    // Only the store-backed identity can change; it now selects the newer certificate.
    EXPECT_EQ(result.changed(), result.name() == "middle-store") << result.name();
  }
  // Every identity, not only the caller's, sorted by name.
  EXPECT_EQ(names, (std::vector<std::string>{"alpha-rsa", "middle-store", "other-only", "zeta-ec"}));
  EXPECT_EQ((*reloaded)[1].subject(), "CN=store.sigil.test");
  auto after = admin->GetCertificateChain("middle-store");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_NE(after->certificates[0], before->certificates[0]);
  const std::string digest = Digest(EVP_sha256(), "after rotation");
  auto results = admin->SignBatch({SignItem{"middle-store", 0x0403, digest}});
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_TRUE((*results)[0].ok()) << (*results)[0].status();
  ExpectVerifies(*admin, "middle-store", 0x0403, digest, *(*results)[0]);
}

// signerd is not listening when SignBatch starts; it comes up on that port while the call retries: the call
// succeeds within its deadline, over mutual TLS, with signatures that verify.
TEST_F(RealSignerTest, SignBatchWaitsForASignerStartedLate) {
  const int port = FreePort();
  auto client = Client("", "", port, absl::Seconds(20));
  const std::string digest = Digest(EVP_sha256(), "late");
  absl::StatusOr<std::vector<absl::StatusOr<std::string>>> results;
  std::thread call([&] { results = client->SignBatch({SignItem{"zeta-ec", 0x0403, digest}}); });
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(StartSigner(port), port);
  call.join();
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 1u);
  ASSERT_TRUE((*results)[0].ok()) << (*results)[0].status();
  ExpectVerifies(*client, "zeta-ec", 0x0403, digest, *(*results)[0]);
}

// Nobody ever listens: SignBatch gives up at its deadline with the connection's UNAVAILABLE.
TEST_F(RealSignerTest, SignBatchToAnAbsentSignerIsUnavailableAtTheDeadline) {
  const int port = FreePort();
  const std::string digest = Digest(EVP_sha256(), "absent");
  const absl::Time start = absl::Now();
  auto results = Client("", "", port, absl::Milliseconds(700))->SignBatch({SignItem{"zeta-ec", 0x0403, digest}});
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(results.status().code(), absl::StatusCode::kUnavailable) << results.status();
  EXPECT_GE(took, absl::Milliseconds(650));
  EXPECT_LT(took, absl::Seconds(5));
}

}  // namespace
}  // namespace sigil::client
