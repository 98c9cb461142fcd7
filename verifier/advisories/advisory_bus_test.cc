#include "verifier/advisories/advisory_bus.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace sigil::verifier::advisories {
namespace {

AdvisoryEvent Event(const std::string& type, const std::string& id) {
  AdvisoryEvent event;
  event.message.set_type(type);
  event.message.set_id(id);
  event.log_line = "Advisory " + id;
  return event;
}

// Records the ids it is given; optionally blocks until released.
class RecordingPublisher : public AdvisoryPublisher {
 public:
  explicit RecordingPublisher(absl::Notification* release = nullptr) : release_(release) {}
  void Publish(const AdvisoryEvent& event) override {
    if (release_ != nullptr) release_->WaitForNotification();
    absl::MutexLock lock(&mu_);
    ids_.push_back(event.message.id());
  }
  std::vector<std::string> ids() {
    absl::MutexLock lock(&mu_);
    return ids_;
  }

 private:
  absl::Notification* release_;
  absl::Mutex mu_;
  std::vector<std::string> ids_ ABSL_GUARDED_BY(mu_);
};

class RecordingWatcher : public AdvisoryWatcher {
 public:
  void OnAdvisory(const AdvisoryEvent& event) override { ids.push_back(event.message.id()); }
  std::vector<std::string> ids;  // Written under the bus's lock only.
};

TEST(AdvisoryBusTest, DeliversToPublishersAndWatchersInOrder) {
  auto publisher = std::make_unique<RecordingPublisher>();
  RecordingPublisher* recorder = publisher.get();
  std::vector<std::unique_ptr<AdvisoryPublisher>> publishers;
  publishers.push_back(std::make_unique<LogPublisher>());
  publishers.push_back(std::move(publisher));
  auto bus = AdvisoryBus::Create({}, std::move(publishers));
  ASSERT_TRUE(bus.ok()) << bus.status();
  RecordingWatcher watcher;
  (*bus)->AddWatcher(&watcher);
  for (int i = 0; i < 5; ++i) (*bus)->Emit(Event(std::string(kLinkInvalidType), std::to_string(i)));
  (*bus)->Flush();
  const std::vector<std::string> expected = {"0", "1", "2", "3", "4"};
  EXPECT_EQ(recorder->ids(), expected);
  (*bus)->RemoveWatcher(&watcher);
  (*bus)->Emit(Event(std::string(kPeerRejectType), "5"));
  (*bus)->Flush();
  EXPECT_EQ(watcher.ids, expected) << "a removed watcher is not called again";
  EXPECT_EQ((*bus)->emitted(), 6u);
  EXPECT_EQ((*bus)->dropped(), 0u);
}

TEST(AdvisoryBusTest, StuckPublisherNeverBlocksEmitAndDropsAreCounted) {
  absl::Notification release;
  auto publisher = std::make_unique<RecordingPublisher>(&release);
  RecordingPublisher* recorder = publisher.get();
  std::vector<std::unique_ptr<AdvisoryPublisher>> publishers;
  publishers.push_back(std::move(publisher));
  AdvisoryBusOptions options;
  options.queue_size = 3;
  auto bus = AdvisoryBus::Create(options, std::move(publishers));
  ASSERT_TRUE(bus.ok()) << bus.status();
  RecordingWatcher watcher;
  (*bus)->AddWatcher(&watcher);
  // The dispatcher takes at most one event and blocks in the publisher; the queue holds 3 more; the rest
  // are dropped, and every Emit returns at once (the test would hang otherwise).
  for (int i = 0; i < 20; ++i) (*bus)->Emit(Event(std::string(kPeerRejectType), std::to_string(i)));
  EXPECT_EQ(watcher.ids.size(), 20u) << "watchers have their own queues and see every event";
  EXPECT_GE((*bus)->dropped(), 16u);
  EXPECT_LE((*bus)->dropped(), 17u);
  release.Notify();
  (*bus)->Flush();
  EXPECT_EQ(recorder->ids().size() + (*bus)->dropped(), 20u);
  EXPECT_EQ(recorder->ids().front(), "0");
  (*bus)->RemoveWatcher(&watcher);
}

TEST(AdvisoryBusTest, RejectsBadOptions) {
  AdvisoryBusOptions options;
  options.queue_size = 0;
  EXPECT_EQ(AdvisoryBus::Create(options, {}).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::unique_ptr<AdvisoryPublisher>> publishers;
  publishers.push_back(nullptr);
  EXPECT_EQ(AdvisoryBus::Create({}, std::move(publishers)).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sigil::verifier::advisories
