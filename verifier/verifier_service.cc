#include "verifier/verifier_service.h"

#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/caller.h"
#include "verifier/advisories/watch_reactor.h"
#include "verifier/stapling/staple_verifier.h"

namespace sigil::verifier {
namespace {

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

// The asking server as its mTLS identity shows it, for advisories when the request names none.
v1::ServerInfo CallerServerInfo(grpc::CallbackServerContext* context) {
  v1::ServerInfo info;
  info.set_name(CallerFromAuthContext(context->auth_context().get()).label);
  std::string peer = context->peer();  // "ipv4:10.0.0.7:51234", "ipv6:[::1]:51234"
  for (absl::string_view scheme : {"ipv4:", "ipv6:"}) {
    if (absl::StartsWith(peer, scheme)) peer = peer.substr(scheme.size());
  }
  const size_t colon = peer.rfind(':');
  if (colon != std::string::npos && colon > 0) peer = peer.substr(0, colon);
  if (peer.size() >= 2 && peer.front() == '[' && peer.back() == ']') peer = peer.substr(1, peer.size() - 2);
  info.set_host(peer);
  return info;
}

}  // namespace

absl::StatusOr<std::unique_ptr<VerifierService>> VerifierService::Create(VerifierServiceParts parts) {
  const char* missing = parts.peer_verifier == nullptr ? "peer_verifier"
                        : parts.staples == nullptr     ? "staples"
                        : parts.clock == nullptr       ? "clock"
                        : parts.advisories == nullptr  ? "advisories"
                                                       : nullptr;
  if (missing != nullptr) return absl::InvalidArgumentError(absl::StrCat("VerifierService needs ", missing));
  return std::unique_ptr<VerifierService>(new VerifierService(std::move(parts)));
}

VerifierService::VerifierService(VerifierServiceParts parts)
    : parts_(std::move(parts)), pool_(kThreads, kMaxQueued) {}

void VerifierService::RunOnPool(grpc::ServerUnaryReactor* reactor, const char* rpc,
                                std::function<absl::Status()> work) {
  if (!pool_.TrySchedule([reactor, work = std::move(work)] { reactor->Finish(ToGrpc(work())); }).ok()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 absl::StrCat("too many ", rpc, " calls waiting; retry later")));
  }
}

VerifierService::~VerifierService() = default;

grpc::ServerUnaryReactor* VerifierService::VerifyPeer(grpc::CallbackServerContext* context,
                                                      const v1::VerifyPeerRequest* request,
                                                      v1::VerifyPeerResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // A warm answer from memory never blocks: answered here, without a hop to the pool.
  if (std::optional<v1::VerifyPeerResponse> remembered = parts_.peer_verifier->VerifyFromMemory(*request);
      remembered.has_value()) {
    *response = *std::move(remembered);
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  // request and response stay valid until the reactor finishes.
  RunOnPool(reactor, "VerifyPeer", [this, request, response, caller = CallerServerInfo(context)]() -> absl::Status {
    absl::StatusOr<v1::VerifyPeerResponse> result = parts_.peer_verifier->Verify(*request, caller);
    if (!result.ok()) return result.status();
    *response = *std::move(result);
    return absl::OkStatus();
  });
  return reactor;
}

grpc::ServerUnaryReactor* VerifierService::GetStaple(grpc::CallbackServerContext* context,
                                                     const v1::GetStapleRequest* request,
                                                     v1::GetStapleResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  RunOnPool(reactor, "GetStaple", [this, request, response]() -> absl::Status {
    absl::StatusOr<v1::GetStapleResponse> result = parts_.staples->GetStaple(*request);
    if (!result.ok()) return result.status();
    *response = *std::move(result);
    return absl::OkStatus();
  });
  return reactor;
}

grpc::ServerUnaryReactor* VerifierService::VerifyStaple(grpc::CallbackServerContext* context,
                                                        const v1::VerifyStapleRequest* request,
                                                        v1::VerifyStapleResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  RunOnPool(reactor, "VerifyStaple", [this, request, response]() -> absl::Status {
    absl::StatusOr<v1::VerifyStapleResponse> result =
        stapling::VerifyStaple(*request, parts_.staple_check_profiles, parts_.clock->Now());
    if (!result.ok()) return result.status();
    *response = *std::move(result);
    return absl::OkStatus();
  });
  return reactor;
}

grpc::ServerWriteReactor<v1::Advisory>* VerifierService::WatchAdvisories(grpc::CallbackServerContext*,
                                                                         const v1::WatchAdvisoriesRequest* request) {
  return advisories::WatchAdvisoriesReactor::Start(parts_.advisories, *request, parts_.watcher_queue_size);
}

}  // namespace sigil::verifier
