// VerifierService: the sigil.verifier.v1.Verifier gRPC service.
//
// VerifyPeer runs PeerVerifier (verifier/peer_verifier.h) on a BlockingPool, never on gRPC's threads, and
// finishes the reactor from the pool; when kMaxQueued requests already wait, it answers
// RESOURCE_EXHAUSTED. PeerVerifier's errors map to gRPC codes unchanged (INVALID_ARGUMENT for bad chains
// or an unknown profile). GetStaple, VerifyStaple and WatchAdvisories answer UNIMPLEMENTED with a message
// naming what is missing: stapling and advisories arrive with their own issues.
#ifndef SIGIL_VERIFIER_VERIFIER_SERVICE_H_
#define SIGIL_VERIFIER_VERIFIER_SERVICE_H_

#include <memory>

#include "sigil/verifier/v1/verifier.grpc.pb.h"
#include "verifier/blocking_pool.h"
#include "verifier/peer_verifier.h"

namespace sigil::verifier {

class VerifierService final : public sigil::verifier::v1::Verifier::CallbackService {
 public:
  static constexpr size_t kThreads = 16;
  static constexpr size_t kMaxQueued = 1024;

  // `peer_verifier` is borrowed and must outlive the service; null makes VerifyPeer UNIMPLEMENTED.
  explicit VerifierService(PeerVerifier* peer_verifier = nullptr);
  // Runs the VerifyPeer calls still queued, then stops the pool. Destroy only after the server stopped.
  ~VerifierService() override;

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

 private:
  PeerVerifier* const peer_verifier_;
  BlockingPool pool_;
};

}  // namespace sigil::verifier

#endif  // SIGIL_VERIFIER_VERIFIER_SERVICE_H_
