// SignerClient against a hand-written in-process Signer service: deadlines, UNAVAILABLE retried and then
// surfaced, other codes not retried, bounds on responses; and against a port nobody listens on.
#include "client/signer_client.h"

#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "sigil/signer/v1/signer.grpc.pb.h"

namespace sigil::client {
namespace {

// Answers Sign and GetCertificateChain from a script: each call pops the next status (OK when the
// script is empty). With `hang` set, a call waits until its caller gives up.
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

  void Script(std::deque<grpc::Status> statuses) {
    absl::MutexLock lock(&mu_);
    script_ = std::move(statuses);
  }
  std::atomic<int> calls{0};
  std::atomic<bool> hang{false};
  std::string signature_ = "sig";
  int certificates_ = 1;
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

}  // namespace
}  // namespace sigil::client
