// VerifierClient against in-process gRPC servers (127.0.0.1, OS-chosen ports) running a hand-written fake
// Verifier that records which leaf certificates it saw and can answer UNAVAILABLE or hang on demand. Checks the
// deadline, gRPC's retry of UNAVAILABLE (and no retry of other codes), that one certificate always goes to one
// replica, and failover to the next replica on the ring when that one is down.
#include "client/verifier_client.h"

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace sigil::client {
namespace {

// A fake replica. Thread-safe (gRPC's sync server calls it from several threads).
class FakeVerifier final : public v1::Verifier::Service {
 public:
  grpc::Status VerifyPeer(grpc::ServerContext* context, const v1::VerifyPeerRequest* request,
                          v1::VerifyPeerResponse* response) override {
    calls_++;
    {
      absl::MutexLock lock(&mu_);
      leaves_.insert(request->chains(0).certificates(0));
    }
    if (unavailable_left_.fetch_sub(1) > 0) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "warming up");
    if (invalid_) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad chain");
    if (hang_) {
      // Until the client gives up (bounded so a broken client cannot hang the test).
      absl::Time give_up = absl::Now() + absl::Seconds(20);
      while (!context->IsCancelled() && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(5));
      saw_cancel_ = context->IsCancelled();
      return grpc::Status(grpc::StatusCode::INTERNAL, "hung");
    }
    response->set_allowed(true);
    response->set_reason(name_);
    return grpc::Status::OK;
  }
  grpc::Status GetStaple(grpc::ServerContext*, const v1::GetStapleRequest* request,
                         v1::GetStapleResponse* response) override {
    calls_++;
    absl::MutexLock lock(&mu_);
    leaves_.insert(request->certificates(0));
    response->set_staple(name_);
    return grpc::Status::OK;
  }
  grpc::Status VerifyStaple(grpc::ServerContext*, const v1::VerifyStapleRequest* request,
                            v1::VerifyStapleResponse* response) override {
    calls_++;
    absl::MutexLock lock(&mu_);
    leaves_.insert(request->certificates(0));
    response->set_failure(name_);  // which replica answered
    return grpc::Status::OK;
  }

  std::string name_;
  std::atomic<int> calls_{0};
  std::atomic<int> unavailable_left_{0};
  std::atomic<bool> invalid_{false};
  std::atomic<bool> hang_{false};
  std::atomic<bool> saw_cancel_{false};
  // Guards members below.
  absl::Mutex mu_;
  std::set<std::string> leaves_ ABSL_GUARDED_BY(mu_);
};

struct Replica {
  FakeVerifier service;
  std::unique_ptr<grpc::Server> server;
  std::string endpoint;
};

std::unique_ptr<Replica> StartReplica() {
  auto replica = std::make_unique<Replica>();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&replica->service);
  replica->server = builder.BuildAndStart();
  EXPECT_NE(replica->server, nullptr);
  EXPECT_GT(port, 0);
  replica->endpoint = absl::StrCat("127.0.0.1:", port);
  replica->service.name_ = replica->endpoint;
  return replica;
}

VerifierClientOptions Options(const std::vector<std::unique_ptr<Replica>>& replicas) {
  VerifierClientOptions options;
  for (const auto& r : replicas) options.endpoints.push_back(r->endpoint);
  options.channel.plaintext = true;
  options.channel.retry.initial_backoff = absl::Milliseconds(20);
  options.channel.retry.max_backoff = absl::Milliseconds(100);
  return options;
}

v1::VerifyPeerRequest Request(const std::string& leaf) {
  v1::VerifyPeerRequest request;
  request.set_peer_role(v1::CLIENT);
  request.add_chains()->add_certificates(leaf);
  return request;
}

TEST(VerifierClientTest, CreateRejectsBadOptions) {
  VerifierClientOptions none;
  EXPECT_EQ(VerifierClient::Create(none).status().code(), absl::StatusCode::kInvalidArgument);
  VerifierClientOptions both;
  both.endpoints = {"127.0.0.1:1"};
  both.service = "localhost:1";
  EXPECT_EQ(VerifierClient::Create(both).status().code(), absl::StatusCode::kInvalidArgument);
  VerifierClientOptions zero;
  zero.endpoints = {"127.0.0.1:1"};
  zero.timeout = absl::ZeroDuration();
  EXPECT_EQ(VerifierClient::Create(zero).status().code(), absl::StatusCode::kInvalidArgument);
  VerifierClientOptions unresolvable;
  unresolvable.service = "no-such-host.invalid:7444";
  EXPECT_EQ(VerifierClient::Create(unresolvable).status().code(), absl::StatusCode::kUnavailable);
}

TEST(VerifierClientTest, RequestWithoutCertificateIsRejectedLocally) {
  std::vector<std::unique_ptr<Replica>> replicas;
  replicas.push_back(StartReplica());
  auto client = VerifierClient::Create(Options(replicas));
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ((*client)->VerifyPeer(v1::VerifyPeerRequest()).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*client)->GetStaple(v1::GetStapleRequest()).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*client)->VerifyStaple(v1::VerifyStapleRequest()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(replicas[0]->service.calls_.load(), 0);
}

TEST(VerifierClientTest, DeadlineIsHonoured) {
  std::vector<std::unique_ptr<Replica>> replicas;
  replicas.push_back(StartReplica());
  replicas[0]->service.hang_ = true;
  VerifierClientOptions options = Options(replicas);
  options.timeout = absl::Milliseconds(300);
  auto client = VerifierClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  auto verdict = (*client)->VerifyPeer(Request("leaf"));
  EXPECT_EQ(verdict.status().code(), absl::StatusCode::kDeadlineExceeded) << verdict.status();
  // The server saw the call cancelled by the deadline rather than finishing on its own.
  replicas[0]->server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  EXPECT_TRUE(replicas[0]->service.saw_cancel_.load());
  EXPECT_EQ(replicas[0]->service.calls_.load(), 1);
}

TEST(VerifierClientTest, UnavailableIsRetriedByGrpc) {
  std::vector<std::unique_ptr<Replica>> replicas;
  replicas.push_back(StartReplica());
  replicas[0]->service.unavailable_left_ = 2;
  auto client = VerifierClient::Create(Options(replicas));
  ASSERT_TRUE(client.ok()) << client.status();
  auto verdict = (*client)->VerifyPeer(Request("leaf"));
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_TRUE(verdict->allowed());
  EXPECT_EQ(replicas[0]->service.calls_.load(), 3);
}

TEST(VerifierClientTest, RetriesStopAtMaxAttempts) {
  std::vector<std::unique_ptr<Replica>> replicas;
  replicas.push_back(StartReplica());
  replicas[0]->service.unavailable_left_ = 100;
  VerifierClientOptions options = Options(replicas);
  options.channel.retry.max_attempts = 3;
  auto client = VerifierClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  auto verdict = (*client)->VerifyPeer(Request("leaf"));
  EXPECT_EQ(verdict.status().code(), absl::StatusCode::kUnavailable) << verdict.status();
  EXPECT_EQ(replicas[0]->service.calls_.load(), 3);
}

TEST(VerifierClientTest, OtherErrorsAreNotRetried) {
  std::vector<std::unique_ptr<Replica>> replicas;
  replicas.push_back(StartReplica());
  replicas.push_back(StartReplica());
  for (auto& r : replicas) r->service.invalid_ = true;
  auto client = VerifierClient::Create(Options(replicas));
  ASSERT_TRUE(client.ok()) << client.status();
  auto verdict = (*client)->VerifyPeer(Request("leaf"));
  EXPECT_EQ(verdict.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(verdict.status().message(), "bad chain");
  // Neither retried on the replica nor sent to another one.
  EXPECT_EQ(replicas[0]->service.calls_.load() + replicas[1]->service.calls_.load(), 1);
}

TEST(VerifierClientTest, EachCertificateGoesToOneReplica) {
  std::vector<std::unique_ptr<Replica>> replicas;
  for (int i = 0; i < 3; ++i) replicas.push_back(StartReplica());
  auto client = VerifierClient::Create(Options(replicas));
  ASSERT_TRUE(client.ok()) << client.status();
  std::set<std::string> used;
  for (int k = 0; k < 30; ++k) {
    std::string leaf = absl::StrCat("certificate-der-", k);
    std::string owner = (*client)->ReplicasFor(leaf)[0];
    for (int repeat = 0; repeat < 3; ++repeat) {
      auto verdict = (*client)->VerifyPeer(Request(leaf));
      ASSERT_TRUE(verdict.ok()) << verdict.status();
      EXPECT_EQ(verdict->reason(), owner);  // the fake answers with its own endpoint
    }
    v1::GetStapleRequest staple;
    staple.add_certificates(leaf);
    auto answer = (*client)->GetStaple(staple);
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(answer->staple(), owner);
    v1::VerifyStapleRequest check;
    check.add_certificates(leaf);
    auto checked = (*client)->VerifyStaple(check);
    ASSERT_TRUE(checked.ok()) << checked.status();
    EXPECT_EQ(checked->failure(), owner);
    used.insert(owner);
  }
  // Each fake saw only the certificates it owns, and the load is spread.
  int total = 0;
  for (auto& r : replicas) {
    absl::MutexLock lock(&r->service.mu_);
    for (const std::string& leaf : r->service.leaves_) EXPECT_EQ((*client)->ReplicasFor(leaf)[0], r->endpoint);
    total += r->service.leaves_.size();
  }
  EXPECT_EQ(total, 30);
  EXPECT_GT(used.size(), 1u);
}

TEST(VerifierClientTest, DownReplicaMovesCallsToTheNextOnTheRing) {
  std::vector<std::unique_ptr<Replica>> replicas;
  for (int i = 0; i < 3; ++i) replicas.push_back(StartReplica());
  auto client = VerifierClient::Create(Options(replicas));
  ASSERT_TRUE(client.ok()) << client.status();
  const std::string leaf = "a certificate";
  std::vector<std::string> order = (*client)->ReplicasFor(leaf);
  ASSERT_EQ(order.size(), 3u);
  auto verdict = (*client)->VerifyPeer(Request(leaf));
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_EQ(verdict->reason(), order[0]);

  for (auto& r : replicas) {
    if (r->endpoint == order[0]) r->server->Shutdown(absl::ToChronoTime(absl::Now()));
  }
  for (int repeat = 0; repeat < 3; ++repeat) {
    verdict = (*client)->VerifyPeer(Request(leaf));
    ASSERT_TRUE(verdict.ok()) << verdict.status();
    EXPECT_EQ(verdict->reason(), order[1]);
  }
}

TEST(VerifierClientTest, MaxReplicasBoundsTheFailover) {
  std::vector<std::unique_ptr<Replica>> replicas;
  for (int i = 0; i < 3; ++i) replicas.push_back(StartReplica());
  VerifierClientOptions options = Options(replicas);
  options.max_replicas = 2;
  auto client = VerifierClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  const std::string leaf = "a bounded certificate";
  std::vector<std::string> order = (*client)->ReplicasFor(leaf);
  ASSERT_EQ(order.size(), 3u);
  // The owner and the next one down: the third replica is never asked.
  for (auto& r : replicas) {
    if (r->endpoint != order[2]) r->server->Shutdown(absl::ToChronoTime(absl::Now()));
  }
  auto verdict = (*client)->VerifyPeer(Request(leaf));
  EXPECT_EQ(verdict.status().code(), absl::StatusCode::kUnavailable) << verdict.status();
  for (auto& r : replicas) {
    if (r->endpoint == order[2]) EXPECT_EQ(r->service.calls_.load(), 0);
  }
}

TEST(VerifierClientTest, HungReplicaIsLeftAfterAttemptTimeout) {
  std::vector<std::unique_ptr<Replica>> replicas;
  for (int i = 0; i < 2; ++i) replicas.push_back(StartReplica());
  VerifierClientOptions options = Options(replicas);
  options.attempt_timeout = absl::Milliseconds(200);
  auto client = VerifierClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  const std::string leaf = "another certificate";
  std::vector<std::string> order = (*client)->ReplicasFor(leaf);
  for (auto& r : replicas) r->service.hang_ = r->endpoint == order[0];
  auto verdict = (*client)->VerifyPeer(Request(leaf));
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_EQ(verdict->reason(), order[1]);
}

TEST(VerifierClientTest, AllReplicasDownIsUnavailable) {
  std::vector<std::unique_ptr<Replica>> replicas;
  for (int i = 0; i < 2; ++i) replicas.push_back(StartReplica());
  auto client = VerifierClient::Create(Options(replicas));
  ASSERT_TRUE(client.ok()) << client.status();
  for (auto& r : replicas) r->server->Shutdown(absl::ToChronoTime(absl::Now()));
  auto verdict = (*client)->VerifyPeer(Request("leaf"));
  EXPECT_EQ(verdict.status().code(), absl::StatusCode::kUnavailable) << verdict.status();
  EXPECT_NE(verdict.status().message().find("no verifierd replica answered"), absl::string_view::npos);
}

}  // namespace
}  // namespace sigil::client
