#include "verifier/verifier_service.h"

namespace sigil::verifier {
namespace {

grpc::ServerUnaryReactor* Unimplemented(grpc::CallbackServerContext* context, const char* message) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, message));
  return reactor;
}

// A server stream that ends at once with UNIMPLEMENTED.
class UnimplementedStream : public grpc::ServerWriteReactor<v1::Advisory> {
 public:
  explicit UnimplementedStream(const char* message) {
    Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, message));
  }
  void OnDone() override { delete this; }
};

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace

VerifierService::VerifierService(PeerVerifier* peer_verifier)
    : peer_verifier_(peer_verifier), pool_(kThreads, kMaxQueued) {}

VerifierService::~VerifierService() = default;

grpc::ServerUnaryReactor* VerifierService::VerifyPeer(grpc::CallbackServerContext* context,
                                                      const v1::VerifyPeerRequest* request,
                                                      v1::VerifyPeerResponse* response) {
  if (peer_verifier_ == nullptr) {
    return Unimplemented(context, "VerifyPeer is not configured in this verifierd");
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // request and response stay valid until the reactor finishes.
  const bool queued = pool_.TrySchedule([this, reactor, request, response] {
    absl::StatusOr<v1::VerifyPeerResponse> result = peer_verifier_->Verify(*request);
    if (!result.ok()) {
      reactor->Finish(ToGrpc(result.status()));
      return;
    }
    *response = *std::move(result);
    reactor->Finish(grpc::Status::OK);
  });
  if (!queued) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "too many VerifyPeer calls waiting; retry later"));
  }
  return reactor;
}

grpc::ServerUnaryReactor* VerifierService::GetStaple(grpc::CallbackServerContext* context,
                                                     const v1::GetStapleRequest*, v1::GetStapleResponse*) {
  return Unimplemented(context,
                       "GetStaple is not implemented in this version of verifierd: OCSP stapling (fetch, "
                       "refresh, persistence in store_dir) is still to be built");
}

grpc::ServerUnaryReactor* VerifierService::VerifyStaple(grpc::CallbackServerContext* context,
                                                        const v1::VerifyStapleRequest*,
                                                        v1::VerifyStapleResponse*) {
  return Unimplemented(context,
                       "VerifyStaple is not implemented in this version of verifierd: staple validation is "
                       "still to be built");
}

grpc::ServerWriteReactor<v1::Advisory>* VerifierService::WatchAdvisories(grpc::CallbackServerContext*,
                                                                         const v1::WatchAdvisoriesRequest*) {
  return new UnimplementedStream(
      "WatchAdvisories is not implemented in this version of verifierd: advisory events are still to be "
      "built");
}

}  // namespace sigil::verifier
