// VerifierService: the sigil.verifier.v1.Verifier gRPC service.
//
// This version answers every RPC with UNIMPLEMENTED and a message naming what is missing: OCSP peer
// verification, stapling and advisories arrive with their own issues. Nothing pretends to verify.
#ifndef SIGIL_VERIFIER_VERIFIER_SERVICE_H_
#define SIGIL_VERIFIER_VERIFIER_SERVICE_H_

#include "sigil/verifier/v1/verifier.grpc.pb.h"

namespace sigil::verifier {

class VerifierService final : public sigil::verifier::v1::Verifier::CallbackService {
 public:
  grpc::ServerUnaryReactor* VerifyPeer(grpc::CallbackServerContext* context,
                                       const v1::VerifyPeerRequest* request,
                                       v1::VerifyPeerResponse* response) override;
  grpc::ServerUnaryReactor* GetStaple(grpc::CallbackServerContext* context,
                                      const v1::GetStapleRequest* request,
                                      v1::GetStapleResponse* response) override;
  grpc::ServerUnaryReactor* VerifyStaple(grpc::CallbackServerContext* context,
                                         const v1::VerifyStapleRequest* request,
                                         v1::VerifyStapleResponse* response) override;
  grpc::ServerWriteReactor<v1::Advisory>* WatchAdvisories(grpc::CallbackServerContext* context,
                                                          const v1::WatchAdvisoriesRequest* request) override;
};

}  // namespace sigil::verifier

#endif  // SIGIL_VERIFIER_VERIFIER_SERVICE_H_
