// Mutual-TLS gRPC channels to Sigil daemons, from PEM files, with gRPC's built-in retry policy.
//
// Every channel carries a default service config whose retryPolicy retries UNAVAILABLE (daemon not reachable,
// connection refused or reset, a replica shutting down) with exponential backoff; gRPC does the retrying, so the
// caller's deadline bounds all attempts together. Other codes are never retried (DEADLINE_EXCEEDED is the
// caller's budget; INVALID_ARGUMENT / PERMISSION_DENIED would fail again). This module does not set deadlines:
// every caller sets one per RPC (SignerClient, VerifierClient do).
#ifndef SIGIL_CLIENT_CHANNEL_H_
#define SIGIL_CLIENT_CHANNEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"

namespace sigil::client {

// gRPC retryPolicy parameters (gRFC A6). max_attempts counts the first attempt; gRPC caps it at 5. 1 disables
// retries. Backoff before attempt n is random in [0, min(initial_backoff * multiplier^(n-2), max_backoff)].
struct RetryOptions {
  int max_attempts = 4;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(1);
  double backoff_multiplier = 2.0;
};

struct ChannelOptions {
  // host:port of the daemon.
  std::string target;
  // PEM CA bundle that the daemon's certificate must chain to.
  std::string ca_file;
  // PEM client certificate chain and key for mTLS; both empty = no client certificate.
  std::string cert_file;
  std::string key_file;
  // Connect without TLS (only to a daemon started with plaintext_development_only).
  bool plaintext = false;
  // Name the daemon's certificate must carry when it differs from target's host, e.g. when `target` is a pod IP
  // resolved from a Kubernetes headless Service. Empty: target's host.
  std::string server_name_override;
  RetryOptions retry;
  // Longest wait between reconnection attempts to a daemon that went away (gRPC's default is 120 s); bounds how
  // long a returned daemon stays unused. At least 100 ms.
  absl::Duration max_reconnect_backoff = absl::Seconds(5);
};

// The default service config JSON MakeChannel installs: one methodConfig for every method (`"name": [{}]`) with
// a retryPolicy on UNAVAILABLE built from `retry`. INVALID_ARGUMENT for max_attempts < 1, non-positive backoffs,
// max_backoff < initial_backoff or multiplier <= 0.
absl::StatusOr<std::string> RetryServiceConfigJson(const RetryOptions& retry);

// Reads the files and creates a channel (connection happens lazily). INVALID_ARGUMENT / NOT_FOUND for
// unreadable or malformed files, or bad retry options.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ChannelOptions& options);

}  // namespace sigil::client

#endif  // SIGIL_CLIENT_CHANNEL_H_
