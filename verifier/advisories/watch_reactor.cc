#include "verifier/advisories/watch_reactor.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace sigil::verifier::advisories {

grpc::ServerWriteReactor<v1::Advisory>* WatchAdvisoriesReactor::Start(std::shared_ptr<AdvisoryBus> bus,
                                                                     const v1::WatchAdvisoriesRequest& request,
                                                                     size_t max_pending) {
  auto* reactor = new WatchAdvisoriesReactor(std::move(bus), max_pending == 0 ? 1 : max_pending);
  {
    absl::MutexLock lock(&reactor->mu_);
    for (const std::string& type : request.types()) {
      if (type != kPeerRejectType && type != kLinkInvalidType) {
        reactor->FinishLocked(grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            absl::StrCat("unknown advisory type \"", type, "\"; known types: ", kPeerRejectType, ", ",
                         kLinkInvalidType)));
        return reactor;
      }
      reactor->types_.insert(type);
    }
  }
  reactor->bus_->AddWatcher(reactor);
  // Initial metadata tells the client the stream is registered: every event emitted after it arrives is
  // delivered (ClientReader::WaitForInitialMetadata). A write that already started carried it.
  absl::MutexLock lock(&reactor->mu_);
  if (!reactor->metadata_sent_ && !reactor->finished_) {
    reactor->metadata_sent_ = true;
    reactor->StartSendInitialMetadata();
  }
  return reactor;
}

WatchAdvisoriesReactor::WatchAdvisoriesReactor(std::shared_ptr<AdvisoryBus> bus, size_t max_pending)
    : bus_(std::move(bus)), max_pending_(max_pending) {}

void WatchAdvisoriesReactor::OnAdvisory(const AdvisoryEvent& event) {
  absl::MutexLock lock(&mu_);
  if (finished_) return;
  if (!types_.empty() && !types_.contains(event.message.type())) return;
  if (pending_.size() >= max_pending_) {
    ++dropped_;
    return;
  }
  pending_.push_back(event.message);
  WriteNextLocked();
}

void WatchAdvisoriesReactor::WriteNextLocked() {
  if (writing_ || finished_ || pending_.empty()) return;
  in_flight_ = std::move(pending_.front());
  pending_.pop_front();
  writing_ = true;
  metadata_sent_ = true;  // A write sends the initial metadata when it has not gone yet.
  StartWrite(&in_flight_);
}

void WatchAdvisoriesReactor::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  writing_ = false;
  if (finish_pending_) {
    finish_pending_ = false;
    Finish(finish_status_);
    return;
  }
  if (!ok) {
    // The stream is broken (client gone); OnCancel follows or has happened.
    FinishLocked(grpc::Status::CANCELLED);
    return;
  }
  WriteNextLocked();
}

void WatchAdvisoriesReactor::OnCancel() {
  absl::MutexLock lock(&mu_);
  FinishLocked(grpc::Status::CANCELLED);
}

void WatchAdvisoriesReactor::FinishLocked(const grpc::Status& status) {
  if (finished_) return;
  finished_ = true;
  pending_.clear();
  if (writing_) {
    finish_pending_ = true;
    finish_status_ = status;
    return;
  }
  Finish(status);
}

void WatchAdvisoriesReactor::OnDone() {
  bus_->RemoveWatcher(this);
  uint64_t dropped;
  {
    absl::MutexLock lock(&mu_);
    dropped = dropped_;
  }
  if (dropped > 0) {
    LogWarning(absl::StrCat("WatchAdvisories stream ended; ", dropped, " advisory event(s) were dropped because the "
                            "client read too slowly"));
  }
  delete this;
}

}  // namespace sigil::verifier::advisories
