// NatsPublisher: publishes advisory events to a NATS server with the NATS C client (libnats), on the
// reference server's subjects:
//   $SYS.SERVER.<server-id>.OCSP.PEER.CONN.REJECT   io.nats.server.advisory.v1.ocsp_peer_reject
//   $SYS.SERVER.<server-id>.OCSP.PEER.LINK.INVALID  io.nats.server.advisory.v1.ocsp_peer_link_invalid
// <server-id> is the asking fleet server's id (VerifyPeerRequest.server.id) when it has one, else the
// configured server_id; characters a subject token cannot hold (whitespace, '.', '*', '>') become '_'.
//
// The connection is made in the background (libnats "retry on failed connect") and re-made forever, so a
// NATS server that is down at start-up or goes away never fails or stalls verifierd: while disconnected,
// libnats buffers up to reconnect_buffer_bytes and then refuses; refused or failed publishes are counted
// (failures()) and logged once per outage, never retried.
//
// Thread-safety: Publish is called from the AdvisoryBus dispatcher thread only; failures() from any thread.
#ifndef SIGIL_VERIFIER_ADVISORIES_NATS_PUBLISHER_H_
#define SIGIL_VERIFIER_ADVISORIES_NATS_PUBLISHER_H_

#include <nats/nats.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "verifier/advisories/advisory_bus.h"

namespace sigil::verifier::advisories {

struct NatsPublisherOptions {
  // Server URL(s), comma-separated ("nats://127.0.0.1:4222"). Required.
  std::string url;
  // Connection name shown by the NATS server.
  std::string name = "sigil-verifierd";
  // <server-id> for events whose asking server has no id. Required (non-empty).
  std::string server_id;
  // NATS user credentials file (JWT + nkey seed), optional.
  std::string creds_file;
  // Bytes libnats keeps while disconnected.
  int reconnect_buffer_bytes = 8 * 1024 * 1024;
  absl::Duration reconnect_wait = absl::Seconds(2);
};

// The subject an event is published on (see the file comment).
std::string AdvisorySubject(const AdvisoryEvent& event, const std::string& default_server_id);

class NatsPublisher final : public AdvisoryPublisher {
 public:
  // INVALID_ARGUMENT for an empty url or server_id, or options libnats refuses (bad URL, unreadable creds
  // file), with libnats' status text. Does not wait for the server.
  static absl::StatusOr<std::unique_ptr<NatsPublisher>> Create(const NatsPublisherOptions& options);
  // Flushes for up to one second, then closes the connection.
  ~NatsPublisher() override;

  void Publish(const AdvisoryEvent& event) override;

  uint64_t published() const { return published_.load(); }
  uint64_t failures() const { return failures_.load(); }

 private:
  struct OptionsDeleter {
    void operator()(natsOptions* o) const { natsOptions_Destroy(o); }
  };
  struct ConnectionDeleter {
    void operator()(natsConnection* c) const { natsConnection_Destroy(c); }
  };

  NatsPublisher(std::string server_id, std::unique_ptr<natsConnection, ConnectionDeleter> connection)
      : server_id_(std::move(server_id)), connection_(std::move(connection)) {}

  const std::string server_id_;
  std::unique_ptr<natsConnection, ConnectionDeleter> connection_;
  std::atomic<uint64_t> published_{0};
  std::atomic<uint64_t> failures_{0};
  // Whether the last publish failed (to log once per outage). Dispatcher thread only.
  bool failing_ = false;
};

}  // namespace sigil::verifier::advisories

#endif  // SIGIL_VERIFIER_ADVISORIES_NATS_PUBLISHER_H_
