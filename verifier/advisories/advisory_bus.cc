#include "verifier/advisories/advisory_bus.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "common/logging.h"
#include "common/metrics.h"

namespace sigil::verifier::advisories {
namespace {

// sigil_advisories_emitted_total{type} and sigil_advisories_dropped_total{type} (common/metrics.h).
prometheus::Family<prometheus::Counter>& EmittedCounter() {
  static prometheus::Family<prometheus::Counter>& family =
      prometheus::BuildCounter()
          .Name("sigil_advisories_emitted_total")
          .Help("Advisory events emitted, by event type.")
          .Register(MetricsRegistry());
  return family;
}
prometheus::Family<prometheus::Counter>& DroppedCounter() {
  static prometheus::Family<prometheus::Counter>& family =
      prometheus::BuildCounter()
          .Name("sigil_advisories_dropped_total")
          .Help("Advisory events the log line and NATS never saw because the advisory queue was full, by type.")
          .Register(MetricsRegistry());
  return family;
}

}  // namespace

void LogPublisher::Publish(const AdvisoryEvent& event) { LogInfo(event.log_line); }

absl::StatusOr<std::shared_ptr<AdvisoryBus>> AdvisoryBus::Create(
    const AdvisoryBusOptions& options, std::vector<std::unique_ptr<AdvisoryPublisher>> publishers) {
  if (options.queue_size == 0) return absl::InvalidArgumentError("advisory queue_size must be at least 1");
  for (const auto& publisher : publishers) {
    if (publisher == nullptr) return absl::InvalidArgumentError("AdvisoryBus: null publisher");
  }
  return std::shared_ptr<AdvisoryBus>(new AdvisoryBus(options, std::move(publishers)));
}

AdvisoryBus::AdvisoryBus(const AdvisoryBusOptions& options,
                         std::vector<std::unique_ptr<AdvisoryPublisher>> publishers)
    : options_(options), publishers_(std::move(publishers)) {
  // Every type's series exists from the start, at 0: a scrape then tells "none dropped" from "not exported",
  // and rate() sees the first event.
  for (absl::string_view type : {kPeerRejectType, kLinkInvalidType}) {
    EmittedCounter().Add({{"type", std::string(type)}});
    DroppedCounter().Add({{"type", std::string(type)}});
  }
  dispatcher_ = std::thread([this] { DispatchLoop(); });
}

AdvisoryBus::~AdvisoryBus() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  dispatcher_.join();
}

void AdvisoryBus::Emit(AdvisoryEvent event) {
  EmittedCounter().Add({{"type", event.message.type()}}).Increment();
  absl::MutexLock lock(&mu_);
  ++emitted_;
  for (AdvisoryWatcher* watcher : watchers_) watcher->OnAdvisory(event);
  if (publishers_.empty()) return;
  if (queue_.size() >= options_.queue_size) {
    ++dropped_;
    DroppedCounter().Add({{"type", event.message.type()}}).Increment();
    return;
  }
  queue_.push_back(std::move(event));
}

void AdvisoryBus::AddWatcher(AdvisoryWatcher* watcher) {
  absl::MutexLock lock(&mu_);
  watchers_.insert(watcher);
}

void AdvisoryBus::RemoveWatcher(AdvisoryWatcher* watcher) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(watcher);
}

void AdvisoryBus::Flush() {
  absl::MutexLock lock(&mu_);
  auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return (queue_.empty() && !publishing_) || stopping_; };
  mu_.Await(absl::Condition(&done));
}

uint64_t AdvisoryBus::emitted() const {
  absl::MutexLock lock(&mu_);
  return emitted_;
}

uint64_t AdvisoryBus::dropped() const {
  absl::MutexLock lock(&mu_);
  return dropped_;
}

void AdvisoryBus::DispatchLoop() {
  while (true) {
    AdvisoryEvent event;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      event = std::move(queue_.front());
      queue_.pop_front();
      publishing_ = true;
    }
    for (const auto& publisher : publishers_) publisher->Publish(event);
    absl::MutexLock lock(&mu_);
    publishing_ = false;
  }
}

}  // namespace sigil::verifier::advisories
