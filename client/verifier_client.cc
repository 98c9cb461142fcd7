#include "client/verifier_client.h"

#include <openssl/evp.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/discovery.h"
#include "common/logging.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"
#include "grpcpp/client_context.h"

namespace sigil::client {
namespace {

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace

absl::StatusOr<std::unique_ptr<VerifierClient>> VerifierClient::Create(VerifierClientOptions options) {
  const int sources = !options.endpoints.empty() + !options.srv_name.empty() + !options.service.empty();
  if (sources != 1) {
    return absl::InvalidArgumentError(
        "verifier client: give exactly one of endpoints, srv_name (SRV records) and service (name:port)");
  }
  if (options.timeout <= absl::ZeroDuration() || options.attempt_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("verifier client: timeout and attempt_timeout must be positive");
  }
  if (options.max_replicas < 0) return absl::InvalidArgumentError("verifier client: max_replicas must be >= 0");
  if (options.refresh_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("verifier client: refresh_interval must not be negative");
  }
  if (!options.dns_server.empty()) SIGIL_RETURN_IF_ERROR(ValidateDnsServer(options.dns_server));
  std::unique_ptr<VerifierClient> client(new VerifierClient(std::move(options)));
  const VerifierClientOptions& o = client->options_;
  std::vector<std::string> endpoints = o.endpoints;
  const bool uses_dns = endpoints.empty();
  if (uses_dns) {
    SIGIL_ASSIGN_OR_RETURN(endpoints, client->Discover());
  }
  SIGIL_ASSIGN_OR_RETURN(std::shared_ptr<const Ring> ring, client->BuildRing(endpoints, nullptr));
  {
    absl::MutexLock lock(&client->mu_);
    client->ring_ = std::move(ring);
  }
  if (uses_dns && o.refresh_interval > absl::ZeroDuration()) {
    client->refresher_ = std::thread([c = client.get()] { c->RefreshLoop(); });
  }
  return client;
}

VerifierClient::~VerifierClient() {
  {
    absl::MutexLock lock(&stop_mu_);
    stopping_ = true;
  }
  if (refresher_.joinable()) refresher_.join();
}

absl::StatusOr<std::vector<std::string>> VerifierClient::Discover() const {
  if (!options_.srv_name.empty()) return ResolveSrv(options_.srv_name, options_.dns_server);
  return ResolveAddresses(options_.service);
}

std::string VerifierClient::TargetFor(const std::string& endpoint) const {
  // gRPC's c-ares resolver takes the DNS server as the target's authority; the name in the path is what TLS checks.
  if (!options_.srv_name.empty() && !options_.dns_server.empty()) {
    return absl::StrCat("dns://", options_.dns_server, "/", endpoint);
  }
  return endpoint;
}

void VerifierClient::RefreshLoop() {
  for (;;) {
    {
      absl::MutexLock lock(&stop_mu_);
      if (stop_mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.refresh_interval)) return;
    }
    absl::Status status = Refresh();
    (void)status;  // Recorded by Refresh (LastRefreshStatus) and logged there on a change.
  }
}

absl::StatusOr<std::shared_ptr<const VerifierClient::Ring>> VerifierClient::BuildRing(
    const std::vector<std::string>& endpoints, const Ring* previous) const {
  auto ring = std::make_shared<Ring>();
  SIGIL_ASSIGN_OR_RETURN(ring->ring, HashRing::Create(endpoints, options_.virtual_nodes));
  for (const std::string& endpoint : ring->ring->endpoints()) {
    if (previous != nullptr) {
      auto it = previous->replicas.find(endpoint);
      if (it != previous->replicas.end()) {
        ring->replicas[endpoint] = it->second;
        continue;
      }
    }
    ChannelOptions channel_options = options_.channel;
    channel_options.target = TargetFor(endpoint);
    auto replica = std::make_shared<Replica>();
    SIGIL_ASSIGN_OR_RETURN(replica->channel, MakeChannel(channel_options));
    replica->stub = v1::Verifier::NewStub(replica->channel);
    ring->replicas[endpoint] = std::move(replica);
  }
  return std::shared_ptr<const Ring>(std::move(ring));
}

std::shared_ptr<const VerifierClient::Ring> VerifierClient::CurrentRing() const {
  absl::MutexLock lock(&mu_);
  return ring_;
}

absl::Status VerifierClient::Refresh() {
  if (options_.srv_name.empty() && options_.service.empty()) return absl::OkStatus();
  absl::MutexLock serial(&refresh_mu_);
  absl::Status status;
  absl::StatusOr<std::vector<std::string>> endpoints = Discover();
  std::shared_ptr<const Ring> ring;
  if (!endpoints.ok()) {
    status = endpoints.status();
  } else {
    absl::StatusOr<std::shared_ptr<const Ring>> built = BuildRing(*endpoints, CurrentRing().get());
    if (built.ok()) {
      ring = *std::move(built);
    } else {
      status = built.status();
    }
  }
  absl::MutexLock lock(&mu_);
  if (status.ok()) {
    if (ring_->ring->endpoints() != ring->ring->endpoints()) {
      LogInfo(absl::StrCat("verifier client: replicas now ", absl::StrJoin(ring->ring->endpoints(), ", ")));
    }
    ring_ = std::move(ring);
  } else if (status != last_refresh_) {
    // Once per distinct failure, not once per interval.
    LogWarning(absl::StrCat("verifier client: keeping replicas ", absl::StrJoin(ring_->ring->endpoints(), ", "),
                            ": ", status.ToString()));
  }
  last_refresh_ = status;
  return status;
}

absl::Status VerifierClient::LastRefreshStatus() const {
  absl::MutexLock lock(&mu_);
  return last_refresh_;
}

std::vector<std::string> VerifierClient::ReplicasFor(absl::string_view leaf_der) const {
  return CurrentRing()->ring->Order(Digest(EVP_sha256(), leaf_der));
}

std::vector<std::string> VerifierClient::Endpoints() const { return CurrentRing()->ring->endpoints(); }

std::shared_ptr<v1::Verifier::Stub> VerifierClient::StubFor(const std::string& endpoint) const {
  std::shared_ptr<const Ring> ring = CurrentRing();
  auto it = ring->replicas.find(endpoint);
  if (it == ring->replicas.end()) return nullptr;
  // Aliasing constructor: the stub keeps its Replica (and channel) alive.
  return std::shared_ptr<v1::Verifier::Stub>(it->second, it->second->stub.get());
}

template <typename Response, typename Rpc>
absl::StatusOr<Response> VerifierClient::Call(absl::string_view leaf_der, Rpc rpc) const {
  std::shared_ptr<const Ring> ring = CurrentRing();
  std::vector<std::string> order = ring->ring->Order(Digest(EVP_sha256(), leaf_der));
  // Replicas known to be failing go last, keeping ring order within each group, so a dead replica does not cost
  // every call its retries; they are still tried when the others fail.
  std::stable_partition(order.begin(), order.end(), [&](const std::string& endpoint) {
    return ring->replicas.at(endpoint)->channel->GetState(false) != GRPC_CHANNEL_TRANSIENT_FAILURE;
  });
  if (options_.max_replicas > 0 && static_cast<int>(order.size()) > options_.max_replicas) {
    order.resize(options_.max_replicas);
  }
  const absl::Time deadline = absl::Now() + options_.timeout;
  absl::Status last = absl::DeadlineExceededError("verifier client: no time left for any replica");
  std::vector<std::string> failures;
  for (size_t i = 0; i < order.size(); ++i) {
    absl::Time now = absl::Now();
    if (now >= deadline) break;
    const bool last_replica = i + 1 == order.size();
    absl::Time attempt_deadline = last_replica ? deadline : std::min(deadline, now + options_.attempt_timeout);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(attempt_deadline));
    Response response;
    grpc::Status status = rpc(*ring->replicas.at(order[i])->stub, &context, &response);
    if (status.ok()) return response;
    last = FromGrpc(status);
    const bool replica_timed_out =
        status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED && attempt_deadline < deadline;
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE && !replica_timed_out) return last;
    failures.push_back(absl::StrCat(order[i], ": ", last.ToString()));
  }
  if (failures.empty()) return last;
  return absl::Status(last.code(), absl::StrCat("no verifierd replica answered (", absl::StrJoin(failures, "; "),
                                                ")"));
}

absl::StatusOr<v1::VerifyPeerResponse> VerifierClient::VerifyPeer(const v1::VerifyPeerRequest& request) const {
  if (request.chains().empty() || request.chains(0).certificates().empty()) {
    return absl::InvalidArgumentError("VerifyPeer: the request has no certificate");
  }
  return Call<v1::VerifyPeerResponse>(
      request.chains(0).certificates(0),
      [&](v1::Verifier::Stub& stub, grpc::ClientContext* context, v1::VerifyPeerResponse* response) {
        return stub.VerifyPeer(context, request, response);
      });
}

absl::StatusOr<v1::GetStapleResponse> VerifierClient::GetStaple(const v1::GetStapleRequest& request) const {
  if (request.certificates().empty()) return absl::InvalidArgumentError("GetStaple: the request has no certificate");
  return Call<v1::GetStapleResponse>(
      request.certificates(0),
      [&](v1::Verifier::Stub& stub, grpc::ClientContext* context, v1::GetStapleResponse* response) {
        return stub.GetStaple(context, request, response);
      });
}

absl::StatusOr<v1::VerifyStapleResponse> VerifierClient::VerifyStaple(
    const v1::VerifyStapleRequest& request) const {
  if (request.certificates().empty()) {
    return absl::InvalidArgumentError("VerifyStaple: the request has no certificate");
  }
  return Call<v1::VerifyStapleResponse>(
      request.certificates(0),
      [&](v1::Verifier::Stub& stub, grpc::ClientContext* context, v1::VerifyStapleResponse* response) {
        return stub.VerifyStaple(context, request, response);
      });
}

}  // namespace sigil::client
