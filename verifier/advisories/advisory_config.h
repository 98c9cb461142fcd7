// The `advisories` config (sigil.config.v1.Advisories) validated once at start-up, and the AdvisoryBus it
// describes: the log line always, NATS when advisories.nats.url is set.
#ifndef SIGIL_VERIFIER_ADVISORIES_ADVISORY_CONFIG_H_
#define SIGIL_VERIFIER_ADVISORIES_ADVISORY_CONFIG_H_

#include <cstddef>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "sigil/config/v1/verifier.pb.h"
#include "verifier/advisories/advisory_bus.h"
#include "verifier/advisories/nats_publisher.h"

namespace sigil::verifier::advisories {

struct AdvisoryOptions {
  AdvisoryBusOptions bus;
  size_t watcher_queue_size = 256;
  // Set when advisories.nats.url is.
  std::optional<NatsPublisherOptions> nats;
};

// INVALID_ARGUMENT naming the field for a queue size out of range. The NATS server_id defaults to this
// host's name.
absl::StatusOr<AdvisoryOptions> ValidateAdvisoryConfig(const config::v1::VerifierConfig& config);

// The bus with its publishers (LogPublisher, then NatsPublisher when configured). Errors from
// NatsPublisher::Create (bad URL, unreadable creds file); a NATS server that is down is not an error.
absl::StatusOr<std::shared_ptr<AdvisoryBus>> CreateAdvisoryBus(const AdvisoryOptions& options);

}  // namespace sigil::verifier::advisories

#endif  // SIGIL_VERIFIER_ADVISORIES_ADVISORY_CONFIG_H_
