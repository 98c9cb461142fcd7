#include "verifier/advisories/advisory_config.h"

#include <unistd.h>

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace sigil::verifier::advisories {

absl::StatusOr<AdvisoryOptions> ValidateAdvisoryConfig(const config::v1::VerifierConfig& config) {
  AdvisoryOptions options;
  const config::v1::Advisories& a = config.advisories();
  if (a.has_queue_size()) {
    if (a.queue_size() < 1 || a.queue_size() > 1000000) {
      return absl::InvalidArgumentError(
          absl::StrCat("advisories.queue_size must be between 1 and 1000000, got ", a.queue_size()));
    }
    options.bus.queue_size = a.queue_size();
  }
  if (a.has_watcher_queue_size()) {
    if (a.watcher_queue_size() < 1 || a.watcher_queue_size() > 100000) {
      return absl::InvalidArgumentError(absl::StrCat(
          "advisories.watcher_queue_size must be between 1 and 100000, got ", a.watcher_queue_size()));
    }
    options.watcher_queue_size = a.watcher_queue_size();
  }
  if (!a.nats().url().empty()) {
    NatsPublisherOptions nats;
    nats.url = a.nats().url();
    if (!a.nats().name().empty()) nats.name = a.nats().name();
    nats.server_id = a.nats().server_id();
    if (nats.server_id.empty()) {
      char host[256] = {};
      nats.server_id = gethostname(host, sizeof(host) - 1) == 0 && host[0] != '\0' ? host : "verifierd";
    }
    nats.creds_file = a.nats().creds_file();
    options.nats = std::move(nats);
  } else if (!a.nats().server_id().empty() || !a.nats().creds_file().empty() || !a.nats().name().empty()) {
    return absl::InvalidArgumentError("advisories.nats: url is required when other nats fields are set");
  }
  return options;
}

absl::StatusOr<std::shared_ptr<AdvisoryBus>> CreateAdvisoryBus(const AdvisoryOptions& options) {
  std::vector<std::unique_ptr<AdvisoryPublisher>> publishers;
  publishers.push_back(std::make_unique<LogPublisher>());
  if (options.nats.has_value()) {
    absl::StatusOr<std::unique_ptr<NatsPublisher>> nats = NatsPublisher::Create(*options.nats);
    if (!nats.ok()) return nats.status();
    publishers.push_back(*std::move(nats));
  }
  return AdvisoryBus::Create(options.bus, std::move(publishers));
}

}  // namespace sigil::verifier::advisories
