// WatchAdvisoriesReactor: the server-streaming side of sigil.verifier.v1.Verifier.WatchAdvisories on
// gRPC's callback API. It registers itself as an AdvisoryWatcher on the bus, keeps the advisories that
// match the request's type filter in a bounded queue and writes them one at a time; when the client reads
// too slowly and the queue is full, new events are dropped for this stream (counted, and logged when the
// stream ends). Initial metadata is sent as soon as the stream is registered, so a client that waits for it
// (ClientReader::WaitForInitialMetadata) receives every event emitted afterwards. The stream ends only when
// the client cancels or the server shuts down.
//
// Errors: INVALID_ARGUMENT (at once) for a filter naming a type that is neither
// io.nats.server.advisory.v1.ocsp_peer_reject nor ...ocsp_peer_link_invalid.
//
// Lifetime and threads: created by the service method, deletes itself in OnDone after unregistering from
// the bus (which it keeps alive through a shared_ptr). OnAdvisory runs on emitting threads, the reactions
// on gRPC threads; all state is under one mutex and no reaction blocks.
#ifndef SIGIL_VERIFIER_ADVISORIES_WATCH_REACTOR_H_
#define SIGIL_VERIFIER_ADVISORIES_WATCH_REACTOR_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/server_callback.h"
#include "sigil/verifier/v1/verifier.pb.h"
#include "verifier/advisories/advisory_bus.h"

namespace sigil::verifier::advisories {

class WatchAdvisoriesReactor final : public grpc::ServerWriteReactor<v1::Advisory>, public AdvisoryWatcher {
 public:
  static constexpr size_t kDefaultMaxPending = 256;

  // Returns the reactor for the service method to return. `bus` must not be null.
  static grpc::ServerWriteReactor<v1::Advisory>* Start(std::shared_ptr<AdvisoryBus> bus,
                                                       const v1::WatchAdvisoriesRequest& request,
                                                       size_t max_pending = kDefaultMaxPending);

  void OnAdvisory(const AdvisoryEvent& event) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  WatchAdvisoriesReactor(std::shared_ptr<AdvisoryBus> bus, size_t max_pending);
  // Starts the next write when idle. Requires mu_.
  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::shared_ptr<AdvisoryBus> bus_;
  const size_t max_pending_;

  // Guards members below.
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> types_ ABSL_GUARDED_BY(mu_);  // Empty: every type.
  std::deque<v1::Advisory> pending_ ABSL_GUARDED_BY(mu_);
  // The message being written; must stay alive until OnWriteDone.
  v1::Advisory in_flight_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool metadata_sent_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // Finish requested while a write was in flight; done from OnWriteDone.
  bool finish_pending_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status finish_status_ ABSL_GUARDED_BY(mu_);
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace sigil::verifier::advisories

#endif  // SIGIL_VERIFIER_ADVISORIES_WATCH_REACTOR_H_
