// AdvisoryBus: fans advisory events out to their consumers without ever slowing verification.
//
//   Emit ──► watchers (WatchAdvisories streams): handed the event at once, each keeps its own bounded
//            queue (watch_reactor.h);
//        └─► bounded queue ──► dispatcher thread ──► publishers, in order: the structured log line
//                                                     (LogPublisher) and, when configured, NATS
//                                                     (nats_publisher.h).
// When the queue is full the event is dropped for the publishers and counted (dropped(), and the process-wide
// sigil_advisories_dropped_total{type}); a publisher that blocks (a NATS server that is slow to take bytes) only
// delays the other publishers, never Emit. sigil_advisories_emitted_total{type} counts every event. Both
// counters have a series at 0 for each advisory type from the first bus's creation.
//
// Thread-safety: every method may be called from any thread. Watchers are called with the bus's lock held
// and must not call back into the bus.
#ifndef SIGIL_VERIFIER_ADVISORIES_ADVISORY_BUS_H_
#define SIGIL_VERIFIER_ADVISORIES_ADVISORY_BUS_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "verifier/advisories/advisory_sink.h"

namespace sigil::verifier::advisories {

// A consumer that must take an event immediately (bounded, non-blocking). Called on the emitting thread
// with the bus's lock held.
class AdvisoryWatcher {
 public:
  virtual ~AdvisoryWatcher() = default;
  virtual void OnAdvisory(const AdvisoryEvent& event) = 0;
};

// A consumer run on the bus's dispatcher thread; may take a little time (network buffers, stderr).
class AdvisoryPublisher {
 public:
  virtual ~AdvisoryPublisher() = default;
  virtual void Publish(const AdvisoryEvent& event) = 0;
};

// Writes AdvisoryEvent::log_line at info level (common/logging.h).
class LogPublisher final : public AdvisoryPublisher {
 public:
  void Publish(const AdvisoryEvent& event) override;
};

struct AdvisoryBusOptions {
  // Events waiting for the publishers; beyond it new events are dropped (for the publishers) and counted.
  size_t queue_size = 1024;
};

class AdvisoryBus final : public AdvisorySink {
 public:
  // Starts the dispatcher thread. INVALID_ARGUMENT for a queue_size of 0 or a null publisher.
  static absl::StatusOr<std::shared_ptr<AdvisoryBus>> Create(
      const AdvisoryBusOptions& options, std::vector<std::unique_ptr<AdvisoryPublisher>> publishers);
  // Stops the dispatcher; events still queued are not published.
  ~AdvisoryBus() override;

  // Never blocks on a consumer: watchers get the event now, publishers through the bounded queue.
  void Emit(AdvisoryEvent event) override;

  // Registers / unregisters a watcher (not owned). After RemoveWatcher returns, the watcher is never
  // called again.
  void AddWatcher(AdvisoryWatcher* watcher);
  void RemoveWatcher(AdvisoryWatcher* watcher);

  // Blocks until every event emitted before the call has been handed to the publishers (or dropped).
  // For tests and orderly shutdown.
  void Flush();

  uint64_t emitted() const;
  // Events the publishers never saw because the queue was full.
  uint64_t dropped() const;

 private:
  AdvisoryBus(const AdvisoryBusOptions& options, std::vector<std::unique_ptr<AdvisoryPublisher>> publishers);
  void DispatchLoop();

  const AdvisoryBusOptions options_;
  const std::vector<std::unique_ptr<AdvisoryPublisher>> publishers_;

  // Guards members below.
  mutable absl::Mutex mu_;
  std::deque<AdvisoryEvent> queue_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<AdvisoryWatcher*> watchers_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The dispatcher is handing an event (already off the queue) to the publishers.
  bool publishing_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t emitted_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;

  std::thread dispatcher_;
};

}  // namespace sigil::verifier::advisories

#endif  // SIGIL_VERIFIER_ADVISORIES_ADVISORY_BUS_H_
