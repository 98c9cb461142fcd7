#include "verifier/advisories/nats_publisher.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/metrics.h"

namespace sigil::verifier::advisories {
namespace {

// The one adapter from libnats' natsStatus: keeps its code and text, and libnats' last error detail.
absl::Status NatsError(natsStatus status, absl::string_view context) {
  const char* last = nats_GetLastError(nullptr);
  return absl::InvalidArgumentError(absl::StrCat(context, ": nats status ", static_cast<int>(status), " (",
                                                 natsStatus_GetText(status), ")",
                                                 last != nullptr && *last != '\0' ? absl::StrCat(": ", last) : ""));
}

std::string SubjectToken(absl::string_view id) {
  std::string token(id);
  for (char& c : token) {
    if (c == '.' || c == '*' || c == '>' || c == ' ' || c == '\t' || c == '\r' || c == '\n') c = '_';
  }
  return token;
}

void OnConnected(natsConnection*, void*) { LogInfo("Advisory NATS connection established"); }
void OnDisconnected(natsConnection*, void*) {
  LogWarning("Advisory NATS connection lost; buffering and reconnecting in the background");
}
void OnReconnected(natsConnection*, void*) { LogInfo("Advisory NATS connection re-established"); }

}  // namespace

std::string AdvisorySubject(const AdvisoryEvent& event, const std::string& default_server_id) {
  const std::string id = SubjectToken(event.server_id.empty() ? default_server_id : event.server_id);
  const absl::string_view suffix =
      event.message.type() == kPeerRejectType ? kPeerRejectSubjectSuffix : kLinkInvalidSubjectSuffix;
  return absl::StrCat("$SYS.SERVER.", id, ".", suffix);
}

absl::StatusOr<std::unique_ptr<NatsPublisher>> NatsPublisher::Create(const NatsPublisherOptions& options) {
  if (options.url.empty()) return absl::InvalidArgumentError("advisories.nats.url is required");
  if (options.server_id.empty()) return absl::InvalidArgumentError("advisories.nats.server_id is required");
  natsOptions* raw_options = nullptr;
  natsStatus s = natsOptions_Create(&raw_options);
  if (s != NATS_OK) return NatsError(s, "natsOptions_Create");
  std::unique_ptr<natsOptions, OptionsDeleter> opts(raw_options);
  if ((s = natsOptions_SetURL(opts.get(), options.url.c_str())) != NATS_OK) {
    return NatsError(s, absl::StrCat("advisories.nats.url [", options.url, "]"));
  }
  if ((s = natsOptions_SetName(opts.get(), options.name.c_str())) != NATS_OK) return NatsError(s, "name");
  // libnats reads the file only when it connects; a wrong path must stop start-up instead.
  if (!options.creds_file.empty() && access(options.creds_file.c_str(), R_OK) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("advisories.nats.creds_file [", options.creds_file, "] cannot be read: ", strerror(errno)));
  }
  if (!options.creds_file.empty() &&
      (s = natsOptions_SetUserCredentialsFromFiles(opts.get(), options.creds_file.c_str(), nullptr)) != NATS_OK) {
    return NatsError(s, absl::StrCat("advisories.nats.creds_file [", options.creds_file, "]"));
  }
  if ((s = natsOptions_SetMaxReconnect(opts.get(), -1)) != NATS_OK ||
      (s = natsOptions_SetReconnectWait(opts.get(), absl::ToInt64Milliseconds(options.reconnect_wait))) != NATS_OK ||
      (s = natsOptions_SetReconnectBufSize(opts.get(), options.reconnect_buffer_bytes)) != NATS_OK ||
      // With a callback, a failed first connect returns NATS_NOT_YET_CONNECTED at once instead of blocking.
      (s = natsOptions_SetRetryOnFailedConnect(opts.get(), true, OnConnected, nullptr)) != NATS_OK ||
      (s = natsOptions_SetDisconnectedCB(opts.get(), OnDisconnected, nullptr)) != NATS_OK ||
      (s = natsOptions_SetReconnectedCB(opts.get(), OnReconnected, nullptr)) != NATS_OK) {
    return NatsError(s, "NATS reconnect options");
  }
  natsConnection* raw_connection = nullptr;
  s = natsConnection_Connect(&raw_connection, opts.get());
  // NATS_NOT_YET_CONNECTED: the server is not there yet; libnats keeps trying in the background.
  if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
    if (raw_connection != nullptr) natsConnection_Destroy(raw_connection);
    return NatsError(s, absl::StrCat("connecting to NATS [", options.url, "]"));
  }
  if (s == NATS_NOT_YET_CONNECTED) {
    LogWarning(absl::StrCat("Advisory NATS server [", options.url, "] not reachable yet; retrying in the background"));
  } else {
    LogInfo(absl::StrCat("Advisories published to NATS [", options.url, "]"));
  }
  return std::unique_ptr<NatsPublisher>(
      new NatsPublisher(options.server_id, std::unique_ptr<natsConnection, ConnectionDeleter>(raw_connection)));
}

NatsPublisher::~NatsPublisher() {
  if (natsConnection_Status(connection_.get()) == NATS_CONN_STATUS_CONNECTED) {
    natsConnection_FlushTimeout(connection_.get(), 1000);
  }
  natsConnection_Close(connection_.get());
}

void NatsPublisher::Publish(const AdvisoryEvent& event) {
  const std::string subject = AdvisorySubject(event, server_id_);
  const std::string& json = event.message.json();
  natsStatus s = natsConnection_Publish(connection_.get(), subject.c_str(), json.data(), static_cast<int>(json.size()));
  if (s == NATS_OK) {
    published_.fetch_add(1);
    if (failing_) LogInfo("Advisory publishing to NATS resumed");
    failing_ = false;
    return;
  }
  failures_.fetch_add(1);
  static prometheus::Counter& failures = prometheus::BuildCounter()
                                             .Name("sigil_advisories_nats_failures_total")
                                             .Help("Advisory events NATS refused to take (not retried).")
                                             .Register(MetricsRegistry())
                                             .Add({});
  failures.Increment();
  if (!failing_) {
    LogWarning(absl::StrCat("Unable to publish advisory ", event.message.id(), " on [", subject,
                            "]: ", NatsError(s, "natsConnection_Publish").message()));
  }
  failing_ = true;
}

}  // namespace sigil::verifier::advisories
