// VerifierClient: calls sigil.verifier.v1.Verifier on one or more verifierd replicas.
//
// Each call is routed by the SHA-256 fingerprint of the leaf certificate it is about (HashRing), so all of one
// certificate's checks go to one replica and its OCSP response is fetched and cached once per fleet. Replicas
// come from a static list or from a Kubernetes headless Service's A records. Every replica's channel has mTLS and
// gRPC's retryPolicy (UNAVAILABLE retried with exponential backoff, client/channel.h); when a replica still
// answers UNAVAILABLE (down, restarting) or does not answer within `attempt_timeout`, the call moves to the next
// replica on the ring. Replicas whose channel is in TRANSIENT_FAILURE are tried last. Every call has a deadline:
// `timeout` bounds all replicas and retries together.
//
// What it does not do: it does not interpret verdicts (allowed / must_stop_serving are the caller's), cache
// answers (verifierd does), or re-resolve the Service by itself (call Refresh()).
//
// Thread-safe: all methods may be called from any thread concurrently (handshake threads share one client).
#ifndef SIGIL_CLIENT_VERIFIER_CLIENT_H_
#define SIGIL_CLIENT_VERIFIER_CLIENT_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/hash_ring.h"
#include "grpcpp/channel.h"
#include "sigil/verifier/v1/verifier.grpc.pb.h"

namespace sigil::client {

namespace v1 = ::sigil::verifier::v1;

struct VerifierClientOptions {
  // verifierd replicas as host:port. Either this or `service`.
  std::vector<std::string> endpoints;
  // A headless Service "name:port" whose A records are the replicas (resolved at Create and by Refresh). The
  // replicas' certificates must then carry `channel.server_name_override` (set it to the Service name).
  std::string service;
  // TLS, mTLS identity and retry settings for every replica's channel; `channel.target` is ignored.
  ChannelOptions channel;
  // Deadline of one call, all replicas and retries included.
  absl::Duration timeout = absl::Seconds(5);
  // Longest wait for one replica before moving to the next (capped by what is left of `timeout`).
  absl::Duration attempt_timeout = absl::Seconds(3);
  // Replicas tried per call, in ring order; 0 = all.
  int max_replicas = 0;
  int virtual_nodes = 100;
};

class VerifierClient {
 public:
  // INVALID_ARGUMENT for no endpoints and no service (or both), bad channel options or non-positive timeouts;
  // UNAVAILABLE when `service` does not resolve.
  static absl::StatusOr<std::unique_ptr<VerifierClient>> Create(VerifierClientOptions options);

  // Routed by chains[0].certificates[0]. INVALID_ARGUMENT (without calling) when the request has no
  // certificate; otherwise verifierd's status: OK with the verdict, DEADLINE_EXCEEDED, UNAVAILABLE when no
  // replica answered, or the replica's own error.
  absl::StatusOr<v1::VerifyPeerResponse> VerifyPeer(const v1::VerifyPeerRequest& request) const;
  // Routed by certificates[0]; statuses as VerifyPeer.
  absl::StatusOr<v1::GetStapleResponse> GetStaple(const v1::GetStapleRequest& request) const;
  absl::StatusOr<v1::VerifyStapleResponse> VerifyStaple(const v1::VerifyStapleRequest& request) const;

  // The replicas in the order a call about `leaf_der` tries them (ring order, before the TRANSIENT_FAILURE
  // reordering).
  std::vector<std::string> ReplicasFor(absl::string_view leaf_der) const;
  // The replicas' endpoints, sorted.
  std::vector<std::string> Endpoints() const;
  // A stub for one replica (e.g. for WatchAdvisories, which each replica serves for its own events); nullptr for
  // an endpoint not in the ring. The stub stays valid while the returned pointer is held.
  std::shared_ptr<v1::Verifier::Stub> StubFor(const std::string& endpoint) const;

  // Re-resolves `service` and rebuilds the ring, keeping the channels of replicas that remain. No-op for a
  // static list. On error the current ring stays.
  absl::Status Refresh();

 private:
  struct Replica {
    std::shared_ptr<grpc::Channel> channel;
    std::shared_ptr<v1::Verifier::Stub> stub;
  };
  struct Ring {
    std::unique_ptr<HashRing> ring;
    std::map<std::string, std::shared_ptr<Replica>> replicas;
  };

  explicit VerifierClient(VerifierClientOptions options) : options_(std::move(options)) {}
  absl::StatusOr<std::shared_ptr<const Ring>> BuildRing(const std::vector<std::string>& endpoints,
                                                        const Ring* previous) const;
  std::shared_ptr<const Ring> CurrentRing() const;

  // Calls `rpc(stub, context)` on the replicas for `leaf_der` in order until one answers with something other
  // than UNAVAILABLE (or an attempt deadline before the overall one).
  template <typename Response, typename Rpc>
  absl::StatusOr<Response> Call(absl::string_view leaf_der, Rpc rpc) const;

  const VerifierClientOptions options_;
  // Guards members below.
  mutable absl::Mutex mu_;
  std::shared_ptr<const Ring> ring_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sigil::client

#endif  // SIGIL_CLIENT_VERIFIER_CLIENT_H_
