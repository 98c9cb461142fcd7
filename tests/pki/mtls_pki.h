// A ready-made mutual-TLS test PKI written to files: one CA with a server certificate (localhost,
// 127.0.0.1) and two client certificates, and a second, unrelated CA with its own client. For tests of
// listeners and daemons.
#ifndef SIGIL_TESTS_PKI_MTLS_PKI_H_
#define SIGIL_TESTS_PKI_MTLS_PKI_H_

#include <string>

#include "absl/status/statusor.h"
#include "tests/pki/test_pki.h"

namespace sigil::testing {

struct MtlsPki {
  std::string dir;
  // CA bundle (PEM) and the server's certificate and key, all under `dir`.
  std::string ca_file, server_cert, server_key;
  // Client "operator" (CN=operator, SAN URI spiffe://sigil.test/operator) and client "other-service"
  // (CN=other-service), both from the CA.
  std::string client_cert, client_key, second_client_cert, second_client_key;
  // A client from an unrelated CA (CN=operator too, so only the CA differs).
  std::string foreign_client_cert, foreign_client_key;
  // Lowercase hex SHA-256 of each CA client's SubjectPublicKeyInfo (pinned_certs form).
  std::string client_pin, second_client_pin;
  // The CA itself, for issuing more certificates in a test.
  Issued ca;
};

// Generates the PKI (EC P-256 keys) into `dir`, which must exist.
absl::StatusOr<MtlsPki> MakeMtlsPki(const std::string& dir);

// Runs `openssl s_client -alpn h2 <extra_args>` against 127.0.0.1:`port` with the "operator" client
// certificate and returns whether a TLS session was established with a verified server certificate.
// gRPC closes a connection that speaks no HTTP/2 without close_notify, so s_client's exit status says
// nothing about the handshake; its session summary does. `output`, when not null, receives what it printed.
bool OpenSslClientHandshake(int port, const MtlsPki& pki, const std::string& extra_args,
                            std::string* output = nullptr);

// A fresh directory under TEST_TMPDIR (or /tmp) named after `name`.
std::string MakeTestDir(const std::string& name);

}  // namespace sigil::testing

#endif  // SIGIL_TESTS_PKI_MTLS_PKI_H_
