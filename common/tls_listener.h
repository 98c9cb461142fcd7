// Listener TLS for Sigil's gRPC daemons: validates the `tls` map (NATS "Enabling TLS" options) once at
// start-up into immutable ListenerOptions, and builds gRPC server credentials from them.
//
// Mutual TLS is the default (`verify` true). Options that gRPC 1.51 cannot honour are start-up errors that
// name the option; nothing is silently ignored:
//  - `cipher_suites` applies to TLS 1.2 only (gRPC takes one process-wide list); TLS 1.3 always offers its
//    three suites, so a list must name them all.
//  - `curve_preferences`: gRPC 1.51 servers negotiate P-256 only, so a list must contain CurveP256.
//  - `insecure`, `verify_and_map`, `verify_cert_and_check_known_urls` are refused.
// Plaintext needs the explicit `plaintext_development_only` flag and is logged loudly.
#ifndef SIGIL_COMMON_TLS_LISTENER_H_
#define SIGIL_COMMON_TLS_LISTENER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "sigil/config/v1/tls.pb.h"

namespace sigil {

// A validated listener. The key PEM is held in memory only to build credentials; it is never logged.
struct ListenerOptions {
  std::string listen;
  // Plaintext health-only listener (Listener.health_listen); empty = none.
  std::string health_listen;
  bool plaintext = false;
  std::string cert_chain_pem;
  std::string key_pem;
  // Client CA bundle (ca_file, or the system trust store when ca_file is unset).
  std::string client_ca_pem;
  std::string client_ca_source;
  bool verify = true;
  absl::Duration handshake_timeout = absl::Milliseconds(500);
  // Lowercase hex SHA-256 of allowed client SPKIs; empty = any client the CA vouches for.
  std::vector<std::string> pinned_spki_sha256;
  // OpenSSL names of the TLS 1.2 suites to allow; empty = gRPC's default list.
  std::string tls12_cipher_list;
  // Start-up decisions to log, one line each (no secrets).
  std::vector<std::string> decisions;
};

// Validates `listener` and reads its files. INVALID_ARGUMENT with the option's name for a bad option;
// NOT_FOUND / FAILED_PRECONDITION when a file cannot be read.
absl::StatusOr<ListenerOptions> ValidateListener(const config::v1::Listener& listener);

// Maps IANA cipher suite names ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256") to an OpenSSL cipher list for
// TLS 1.2, checking that the TLS 1.3 suites are all present. Exposed for tests.
absl::StatusOr<std::string> CipherSuitesToOpenSsl(const std::vector<std::string>& names);

// Builds the server credentials. Process-wide effect: a non-empty tls12_cipher_list is installed as
// gRPC's cipher list (GRPC_SSL_CIPHER_SUITES), which gRPC reads once; call before any other gRPC TLS use.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ListenerOptions& options);

// Adds the listener's channel arguments (handshake timeout) to `builder`.
void ApplyListenerArgs(const ListenerOptions& options, grpc::ServerBuilder* builder);

}  // namespace sigil

#endif  // SIGIL_COMMON_TLS_LISTENER_H_
