// VerifierService: the sigil.verifier.v1.Verifier gRPC service.
//
// VerifyPeer answers on gRPC's thread when PeerVerifier::VerifyFromMemory can (a warm peer: no parsing, no
// cache read, nothing that blocks); otherwise it runs PeerVerifier::Verify (verifier/peer_verifier.h) on a
// BlockingPool, never on gRPC's threads, and finishes the reactor from the pool; when kMaxQueued requests
// already wait, it answers RESOURCE_EXHAUSTED. PeerVerifier's errors map to gRPC codes unchanged (INVALID_ARGUMENT for bad chains
// or an unknown profile). Advisories describe the asking server with VerifyPeerRequest.server, or else
// with the caller's mTLS identity (name = common/caller.h label, host = its address).
// GetStaple (stapling::StapleManager, may fetch) and VerifyStaple (stapling::VerifyStaple) run on the same
// pool. WatchAdvisories streams from the AdvisoryBus (advisories::WatchAdvisoriesReactor).
#ifndef SIGIL_VERIFIER_VERIFIER_SERVICE_H_
#define SIGIL_VERIFIER_VERIFIER_SERVICE_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "sigil/verifier/v1/verifier.grpc.pb.h"
#include "common/blocking_pool.h"
#include "cache/clock.h"
#include "verifier/advisories/advisory_bus.h"
#include "verifier/peer_verifier.h"
#include "verifier/stapling/staple_manager.h"
#include "verifier/verifier_options.h"

namespace sigil::verifier {

// What the service delegates to; every part is required (VerifierService::Create checks).
struct VerifierServiceParts {
  // Borrowed; must outlive the service.
  PeerVerifier* peer_verifier = nullptr;
  stapling::StapleManager* staples = nullptr;
  // VerifyStaple's profiles (ocsp_peer skew, TTL, unknown_is_good) and clock; both needed for VerifyStaple.
  std::map<std::string, OcspPeerOptions> staple_check_profiles;
  std::shared_ptr<const cache::Clock> clock;
  std::shared_ptr<advisories::AdvisoryBus> advisories;
  size_t watcher_queue_size = 256;
};

class VerifierService final : public sigil::verifier::v1::Verifier::CallbackService {
 public:
  static constexpr size_t kThreads = 16;
  static constexpr size_t kMaxQueued = 1024;

  // INVALID_ARGUMENT naming the first missing part.
  static absl::StatusOr<std::unique_ptr<VerifierService>> Create(VerifierServiceParts parts);
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
  explicit VerifierService(VerifierServiceParts parts);

  // Runs `work` on the pool and finishes `reactor` with its status; RESOURCE_EXHAUSTED when the pool is full.
  void RunOnPool(grpc::ServerUnaryReactor* reactor, const char* rpc, std::function<absl::Status()> work);

  const VerifierServiceParts parts_;
  sigil::BlockingPool pool_;
};

}  // namespace sigil::verifier

#endif  // SIGIL_VERIFIER_VERIFIER_SERVICE_H_
