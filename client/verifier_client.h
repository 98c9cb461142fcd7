// VerifierClient: calls sigil.verifier.v1.Verifier on one or more verifierd replicas.
//
// Each call is routed by the SHA-256 fingerprint of the leaf certificate it is about (HashRing), so all of one
// certificate's checks go to one replica and its OCSP response is fetched and cached once per fleet. Replicas
// come from a static list or from DNS (client/discovery.h): in Kubernetes, the SRV records of the verifierd
// headless Service (`srv_name`), whose targets are the StatefulSet's stable replica names, so a certificate keeps
// its replica (and that replica's persistent cache) when a pod restarts with a new IP; or the Service's address
// records (`service`). DNS is looked up at Create and again every `refresh_interval` on a background thread, so
// replicas added, removed or renamed are followed without the caller's help; a failed lookup keeps the current
// replicas. Every replica's channel has mTLS and gRPC's retryPolicy (UNAVAILABLE retried with exponential backoff,
// client/channel.h); when a replica still answers UNAVAILABLE (down, restarting) or does not answer within
// `attempt_timeout`, the call moves to the next replica on the ring. Replicas whose channel is in
// TRANSIENT_FAILURE are tried last. Every call has a deadline: `timeout` bounds all replicas and retries together.
//
// What it does not do: it does not interpret verdicts (allowed / must_stop_serving are the caller's) or cache
// answers (verifierd does).
//
// Thread-safe: all methods may be called from any thread concurrently (handshake threads share one client).
#ifndef SIGIL_CLIENT_VERIFIER_CLIENT_H_
#define SIGIL_CLIENT_VERIFIER_CLIENT_H_

#include <map>
#include <memory>
#include <string>
#include <thread>
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
  // Exactly one of `endpoints`, `srv_name` and `service` says where the replicas are.
  // verifierd replicas as host:port.
  std::vector<std::string> endpoints;
  // The SRV name of the headless Service's gRPC port, e.g.
  // "_grpc._tcp.verifierd-headless.sigil.svc.cluster.local": one replica per SRV target ("name:port"), dialled
  // by that name, which the replica's certificate must carry (deploy/'s certificates do).
  std::string srv_name;
  // A headless Service "name:port" whose A/AAAA records are the replicas, dialled by IP. The replicas'
  // certificates must then carry `channel.server_name_override` (set it to a name they all carry).
  std::string service;
  // "a.b.c.d:port" of the DNS server for `srv_name` and for the replicas' names; empty = the system resolver
  // (/etc/resolv.conf). Not used with `service`, which goes through getaddrinfo.
  std::string dns_server;
  // How often `srv_name` / `service` is looked up again in the background; zero = only at Create and Refresh().
  absl::Duration refresh_interval = absl::Seconds(30);
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
  // INVALID_ARGUMENT unless exactly one of endpoints / srv_name / service is given, and for bad channel options,
  // a malformed dns_server, non-positive timeouts or a negative refresh_interval; UNAVAILABLE when the first
  // lookup finds no replica (so a caller may retry Create).
  static absl::StatusOr<std::unique_ptr<VerifierClient>> Create(VerifierClientOptions options);

  // Stops the background refresh (waiting for a lookup in progress to finish).
  ~VerifierClient();
  VerifierClient(const VerifierClient&) = delete;
  VerifierClient& operator=(const VerifierClient&) = delete;

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

  // Looks up `srv_name` / `service` again and rebuilds the ring, keeping the channels of replicas that remain.
  // No-op for a static list. On error (including an answer with no replica) the current ring stays and the error
  // is returned. The background refresh calls this; callers may too (e.g. after a deployment).
  absl::Status Refresh();
  // The outcome of the latest Refresh() (OK before the first).
  absl::Status LastRefreshStatus() const;

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
  // The replicas DNS lists now (srv_name or service).
  absl::StatusOr<std::vector<std::string>> Discover() const;
  // The gRPC target for a replica endpoint (through dns_server when one is set).
  std::string TargetFor(const std::string& endpoint) const;
  void RefreshLoop();
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
  absl::Status last_refresh_ ABSL_GUARDED_BY(mu_);

  // Serialises Refresh() (background and callers), so rings are built one after another from the latest.
  absl::Mutex refresh_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // Set by the destructor to end RefreshLoop.
  absl::Mutex stop_mu_;
  bool stopping_ ABSL_GUARDED_BY(stop_mu_) = false;
  // Runs RefreshLoop when DNS is used and refresh_interval > 0; joined by the destructor.
  std::thread refresher_;
};

}  // namespace sigil::client

#endif  // SIGIL_CLIENT_VERIFIER_CLIENT_H_
