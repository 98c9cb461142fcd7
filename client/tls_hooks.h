// Handshake hooks for TLS servers that link the Sigil client library: one call installs OCSP peer verification on
// an SSL_CTX, one installs OCSP stapling. Both keep their state in the SSL_CTX (ex_data), so it lives exactly as
// long as the SSL_CTX; both call verifierd through a shared VerifierClient.
//
// Peer verification (InstallPeerVerification) replaces the SSL_CTX's certificate verification function
// (SSL_CTX_set_cert_verify_callback) with one that first runs OpenSSL's own X509_verify_cert (trust anchors,
// signatures, validity, the SSL_CTX's verify callback and parameters) and only when that succeeds sends the verified
// chain (X509_STORE_CTX_get0_chain: leaf first, trust anchor last) to VerifyPeer. A rejected peer fails the
// handshake with the bad_certificate alert (X509_V_ERR_CERT_REJECTED); when verifierd cannot be asked the peer is
// refused with X509_V_ERR_APPLICATION_VERIFICATION (handshake_failure alert) unless
// allow_when_verifier_unavailable. The hook does not ask for client certificates: set SSL_VERIFY_PEER (and
// SSL_VERIFY_FAIL_IF_NO_PEER_CERT) with SSL_CTX_set_verify as usual.
//
// The VerifyPeer call blocks the handshaking thread for at most the VerifierClient's timeout; it suits servers
// that run a handshake per thread. (Event-loop servers would use OpenSSL 3's SSL_ERROR_WANT_RETRY_VERIFY; not
// offered here.)
//
// Stapling (InstallStapling) answers a client's status_request with the staple of the certificate OpenSSL chose for
// the handshake (a server with an RSA and an ECDSA certificate has one staple each), from GetStaple, cached in
// the process until GetStaple's next_refresh; at most one handshake at a time refreshes it, the others keep
// serving the cached staple. A failed refresh keeps the cached staple while it is within its next_update and is
// retried no sooner than `retry_after_failure`, so a verifierd outage does not slow every handshake.
#ifndef SIGIL_CLIENT_TLS_HOOKS_H_
#define SIGIL_CLIENT_TLS_HOOKS_H_

#include <openssl/ssl.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cache/clock.h"
#include "client/verifier_client.h"

namespace sigil::client {

// What one peer check decided, for logging (never carries key material).
struct PeerCheck {
  // RFC 2253 subject of the peer's leaf.
  std::string subject;
  // verifierd's error when it could not be asked; OK otherwise.
  absl::Status status;
  // The verdict when status is OK.
  v1::VerifyPeerResponse verdict;
  // Whether the handshake goes on.
  bool accepted = false;
};

struct PeerVerificationOptions {
  // CLIENT on a server checking its clients; SERVER on a client checking the server it connected to.
  v1::PeerRole role = v1::CLIENT;
  // Connection-kind label for advisories.
  std::string kind = "Client";
  // verifierd policy profile; empty = "default".
  std::string profile;
  // Describes this server in advisories; empty = verifierd takes it from this client's mTLS identity.
  v1::ServerInfo server;
  // Accept the peer when verifierd cannot be asked (fail open). Default: refuse.
  bool allow_when_verifier_unavailable = false;
  // Called on the handshaking thread after every check; may be empty. Must not block for long.
  std::function<void(const PeerCheck&)> on_check;
};

// Installs peer verification on `ctx` (replacing an earlier one). INVALID_ARGUMENT for a null ctx or client.
absl::Status InstallPeerVerification(SSL_CTX* ctx, std::shared_ptr<const VerifierClient> client,
                                     PeerVerificationOptions options);

struct StaplingOptions {
  // The server's chain as DER, leaf first, then its issuer (or a bundle containing it): staples for that leaf
  // only. Empty: every certificate loaded in the SSL_CTX at install time, each with its chain
  // (SSL_CTX_get0_chain_certs), so load all of them before installing.
  std::vector<std::string> certificates;
  // verifierd profile and optional mode / URL overrides (GetStapleRequest).
  std::string profile;
  v1::StapleMode mode = v1::STAPLE_MODE_UNSPECIFIED;
  std::string url;
  // Fail handshakes that ask for a staple while verifierd says must_stop_serving (revoked or unknown under
  // must/always); otherwise they go on without a staple.
  bool fail_when_must_stop = true;
  // Earliest retry after a failed refresh.
  absl::Duration retry_after_failure = absl::Seconds(10);
  // Source of "now"; null = wall clock.
  std::shared_ptr<const cache::Clock> clock;
  // Called after every GetStaple attempt (on the handshaking thread); may be empty.
  std::function<void(const absl::StatusOr<v1::GetStapleResponse>&)> on_refresh;
};

// Installs stapling on `ctx` (replacing an earlier one). Does not call verifierd: the first handshake that asks
// for a certificate's staple fetches it. INVALID_ARGUMENT for a null ctx or client, a certificates[0] that is not
// DER, or no certificates (none given and none loaded in ctx).
absl::Status InstallStapling(SSL_CTX* ctx, std::shared_ptr<const VerifierClient> client, StaplingOptions options);

}  // namespace sigil::client

#endif  // SIGIL_CLIENT_TLS_HOOKS_H_
