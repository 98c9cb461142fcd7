// SignerClient: the fleet server's side of the Signer service (sigil.signer.v1.Signer) over mutual TLS.
//
// Every call carries a deadline (SignerClientOptions::timeout) that bounds the whole call, retries
// included. A call that fails with UNAVAILABLE (signerd down or restarting, the credential store
// unreachable) is retried with exponential backoff until the deadline (or max_attempts, when set); before
// each retry the channel's reconnect backoff is reset, so a signerd that has come back is reached at once
// instead of after gRPC's growing reconnect delay. Every other status (NOT_FOUND, INVALID_ARGUMENT,
// PERMISSION_DENIED, DEADLINE_EXCEEDED, ...) is returned unchanged on its first occurrence. gRPC status codes
// map one to one onto absl::StatusCode.
//
// Recovery contract: if signerd is reachable again at some point before a call's deadline, the call
// succeeds (given time for one reconnection, at most ChannelOptions::max_reconnect_backoff after signerd is
// back, and one RPC). Two things make that deterministic:
// - Retry attempts (not the first) are wait_for_ready: they wait, until the deadline, for the channel to
//   connect. gRPC drives a connection's TCP and TLS handshake only while some thread polls for it, i.e. while a
//   call is waiting on the channel (otherwise only its 5 s backup poller does). A fail-fast attempt on a
//   disconnected channel returns UNAVAILABLE at once, so retrying fail-fast attempts with sleeps in between
//   left the reconnection's handshake unpolled until signerd's handshake timeout (500 ms by default) closed it:
//   signerd restarted, the provider in a TLS server (sigil.so) kept failing Sign for good.
// - The retrying is done here and only here: Create() turns the channel's own gRPC retryPolicy off
//   (ChannelOptions::retry is ignored), so attempts do not multiply (4 SignerClient attempts x 4 gRPC attempts
//   before) and no attempt count that a slow reconnection can exhaust cuts recovery short.
// A signerd that stays down until the deadline yields its UNAVAILABLE (the first attempt's connection error),
// not DEADLINE_EXCEEDED, after the full timeout. A channel passed to CreateWithChannel keeps whatever retry
// policy it was made with.
//
// Thread-safe: one SignerClient may be used from any number of threads at once.
#ifndef SIGIL_CLIENT_SIGNER_CLIENT_H_
#define SIGIL_CLIENT_SIGNER_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "client/channel.h"
#include "grpcpp/channel.h"
#include "sigil/signer/v1/signer.grpc.pb.h"

namespace sigil::client {

struct SignerClientOptions {
  // Where and how to connect (mTLS by default).
  ChannelOptions channel;
  // Deadline of one call, all its attempts and backoff sleeps included. Must be positive.
  absl::Duration timeout = absl::Seconds(5);
  // Attempts per call: 0 (the default) = retry UNAVAILABLE until the deadline; n >= 1 = at most n attempts
  // (1 = no retry). Must not be negative.
  int max_attempts = 0;
  // Sleep before the first retry; doubles per retry up to max_backoff, never past the deadline. max_backoff
  // is also the longest a returned signerd waits unused by a call that is retrying.
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Milliseconds(500);
};

// An identity's certificate chain as signerd serves it.
struct CertificateChain {
  // DER certificates, leaf first (never empty on success).
  std::vector<std::string> certificates;
  // TLS SignatureScheme codes the identity's key can make.
  std::vector<uint32_t> schemes;
};

// One signature a SignBatch asks for, as Sign's arguments. The views borrow the caller's bytes, which must
// stay alive until SignBatch returns.
struct SignItem {
  absl::string_view identity;
  uint32_t scheme = 0;
  absl::string_view digest;
};

class SignerClient {
 public:
  // Creates the channel with MakeChannel, with its gRPC retryPolicy off (see above; no connection is made
  // yet). INVALID_ARGUMENT for bad options,
  // NOT_FOUND / FAILED_PRECONDITION / INVALID_ARGUMENT for unreadable or malformed PEM files.
  static absl::StatusOr<std::unique_ptr<SignerClient>> Create(const SignerClientOptions& options);

  // Uses an existing channel (tests, or callers that share one channel). INVALID_ARGUMENT for bad
  // options or a null channel.
  static absl::StatusOr<std::unique_ptr<SignerClient>> CreateWithChannel(std::shared_ptr<grpc::Channel> channel,
                                                                         const SignerClientOptions& options);

  SignerClient(const SignerClient&) = delete;
  SignerClient& operator=(const SignerClient&) = delete;

  // The identities the caller may use, sorted by name. PERMISSION_DENIED when the caller may use none.
  absl::StatusOr<std::vector<signer::v1::Identity>> ListIdentities() const;

  // One identity's chain. NOT_FOUND for an unknown identity; INTERNAL when the response has no
  // certificate or more than kMaxChainLength.
  absl::StatusOr<CertificateChain> GetCertificateChain(absl::string_view identity) const;

  // The signature over `digest` as TLS sends it (see SignRequest in signer.proto). INVALID_ARGUMENT from
  // signerd for a scheme the key cannot make or a wrong digest length; INTERNAL when the returned
  // signature is empty or longer than kMaxSignatureBytes.
  absl::StatusOr<std::string> Sign(absl::string_view identity, uint32_t scheme, absl::string_view digest) const;

  // 1 to kMaxSignBatch signatures in one RPC, each item exactly as Sign would make it (signer.proto).
  // Errors of the whole call (no item result is returned): INVALID_ARGUMENT from signerd for an empty batch or
  // one of more than kMaxSignBatch items; UNAVAILABLE (retried as above) and DEADLINE_EXCEEDED as for Sign;
  // INTERNAL when the response does not hold exactly one result per item. Otherwise one entry per item, in
  // item order: the signature, or that item's status with the code and message Sign would have returned
  // (NOT_FOUND for an unknown identity or one the caller may not use, PERMISSION_DENIED for a caller allowed
  // no identity, INVALID_ARGUMENT for a bad scheme or digest length, UNAVAILABLE when the store is
  // unreachable, RESOURCE_EXHAUSTED when signerd's signing pool is full). Failed items are not retried here;
  // the caller may send them again. Each result is bounded on its own: an item reported signed whose
  // signature is empty or longer than kMaxSignatureBytes is INTERNAL, a per-item code that is no gRPC code
  // (outside 1..16) is UNKNOWN; the other items keep their results.
  absl::StatusOr<std::vector<absl::StatusOr<std::string>>> SignBatch(absl::Span<const SignItem> items) const;

  // Admin: signerd looks every store-backed identity up again now, as on SIGHUP (signer.proto). Returns
  // signerd's result for each of its identities (all of them, not only the caller's), sorted by name:
  // whether a different certificate is now served, the served certificate's subject, and why the re-lookup
  // failed (empty on success; the previous certificate then stays in service). A failed re-lookup is a
  // result, not an error. PERMISSION_DENIED (not retried) unless this client's mTLS identity is one of
  // signerd's admin_principals; RESOURCE_EXHAUSTED (not retried) when signerd's signing pool, which runs the
  // re-lookups, is full; UNAVAILABLE (retried as above) when signerd cannot be reached.
  absl::StatusOr<std::vector<signer::v1::ReloadIdentitiesResponse::Result>> ReloadIdentities() const;

  // Bounds on what a response may carry (a peer's input is bounded before use).
  static constexpr size_t kMaxSignBatch = 64;  // signer.proto: signerd refuses larger batches
  static constexpr size_t kMaxChainLength = 16;
  static constexpr size_t kMaxSignatureBytes = 2048;  // RSA-16384

  const SignerClientOptions& options() const { return options_; }

 private:
  SignerClient(std::shared_ptr<grpc::Channel> channel, const SignerClientOptions& options);

  // Runs `attempt(context)` until it succeeds, fails with a status other than UNAVAILABLE, max_attempts run
  // out, or the deadline passes. Each attempt gets a fresh context with the call's overall deadline; retries
  // are wait_for_ready. When the deadline passes during a retry, the last UNAVAILABLE is returned (signerd
  // never answered).
  template <typename Attempt>
  absl::Status CallWithRetry(Attempt attempt) const;

  const SignerClientOptions options_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<signer::v1::Signer::Stub> stub_;
};

}  // namespace sigil::client

#endif  // SIGIL_CLIENT_SIGNER_CLIENT_H_
