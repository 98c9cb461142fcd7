// Mutual-TLS gRPC channels to Sigil daemons, from PEM files.
#ifndef SIGIL_CLIENT_CHANNEL_H_
#define SIGIL_CLIENT_CHANNEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"

namespace sigil::client {

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
};

// Reads the files and creates a channel (connection happens lazily). INVALID_ARGUMENT / NOT_FOUND for
// unreadable or malformed files.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ChannelOptions& options);

}  // namespace sigil::client

#endif  // SIGIL_CLIENT_CHANNEL_H_
