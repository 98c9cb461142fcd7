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

}  // namespace

grpc::ServerUnaryReactor* VerifierService::VerifyPeer(grpc::CallbackServerContext* context,
                                                      const v1::VerifyPeerRequest*, v1::VerifyPeerResponse*) {
  return Unimplemented(context,
                       "VerifyPeer is not implemented in this version of verifierd: OCSP peer verification "
                       "(responder fetch, response validation, verdict rules) is still to be built");
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
