#include "client/signer_client.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "grpcpp/client_context.h"

namespace sigil::client {
namespace {

absl::Status ToAbsl(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

absl::Status ValidateOptions(const SignerClientOptions& options) {
  if (options.timeout <= absl::ZeroDuration()) return absl::InvalidArgumentError("timeout must be positive");
  if (options.max_attempts < 0) return absl::InvalidArgumentError("max_attempts must not be negative");
  if (options.initial_backoff < absl::ZeroDuration() || options.max_backoff < options.initial_backoff) {
    return absl::InvalidArgumentError("backoff must satisfy 0 <= initial_backoff <= max_backoff");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SignerClient>> SignerClient::Create(const SignerClientOptions& options) {
  SIGIL_RETURN_IF_ERROR(ValidateOptions(options));
  ChannelOptions channel_options = options.channel;
  // This class retries UNAVAILABLE itself (see the header): no second layer of retries in the channel.
  channel_options.retry.max_attempts = 1;
  SIGIL_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, MakeChannel(channel_options));
  return std::unique_ptr<SignerClient>(new SignerClient(std::move(channel), options));
}

absl::StatusOr<std::unique_ptr<SignerClient>> SignerClient::CreateWithChannel(
    std::shared_ptr<grpc::Channel> channel, const SignerClientOptions& options) {
  SIGIL_RETURN_IF_ERROR(ValidateOptions(options));
  if (channel == nullptr) return absl::InvalidArgumentError("channel is null");
  return std::unique_ptr<SignerClient>(new SignerClient(std::move(channel), options));
}

SignerClient::SignerClient(std::shared_ptr<grpc::Channel> channel, const SignerClientOptions& options)
    : options_(options), channel_(std::move(channel)), stub_(signer::v1::Signer::NewStub(channel_)) {}

template <typename Attempt>
absl::Status SignerClient::CallWithRetry(Attempt attempt) const {
  const absl::Time deadline = absl::Now() + options_.timeout;
  absl::Duration backoff = options_.initial_backoff;
  absl::Status last_unavailable;
  for (int i = 1;; ++i) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    // Retries wait for the channel to connect instead of failing fast (see the header: the waiting call is
    // what drives the reconnection's TLS handshake).
    if (i > 1) context.set_wait_for_ready(true);
    absl::Status status = ToAbsl(attempt(&context));
    if (status.code() == absl::StatusCode::kDeadlineExceeded && !last_unavailable.ok()) {
      // The deadline passed during a retry (signerd still down, the retry waiting for a connection): report
      // why the call needed retrying rather than the deadline it ran into.
      return last_unavailable;
    }
    if (status.code() != absl::StatusCode::kUnavailable) return status;
    last_unavailable = status;
    if (options_.max_attempts > 0 && i >= options_.max_attempts) return status;
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return status;
    // Never sleep through the deadline: keep half of what is left for one more attempt.
    absl::SleepFor(std::min(backoff, left / 2));
    backoff = std::min(backoff * 2, options_.max_backoff);
    // A signerd that was down may be back: connect now rather than after the channel's reconnect backoff.
    grpc::experimental::ChannelResetConnectionBackoff(channel_.get());
  }
}

absl::StatusOr<std::vector<signer::v1::Identity>> SignerClient::ListIdentities() const {
  signer::v1::ListIdentitiesResponse response;
  SIGIL_RETURN_IF_ERROR(CallWithRetry([&](grpc::ClientContext* context) {
    response.Clear();
    return stub_->ListIdentities(context, signer::v1::ListIdentitiesRequest(), &response);
  }));
  return std::vector<signer::v1::Identity>(response.identities().begin(), response.identities().end());
}

absl::StatusOr<CertificateChain> SignerClient::GetCertificateChain(absl::string_view identity) const {
  signer::v1::GetCertificateChainRequest request;
  request.set_identity(std::string(identity));
  signer::v1::GetCertificateChainResponse response;
  SIGIL_RETURN_IF_ERROR(CallWithRetry([&](grpc::ClientContext* context) {
    response.Clear();
    return stub_->GetCertificateChain(context, request, &response);
  }));
  if (response.certificates().empty() || static_cast<size_t>(response.certificates_size()) > kMaxChainLength) {
    return absl::InternalError(absl::StrCat("signerd returned ", response.certificates_size(),
                                            " certificates for identity ", identity));
  }
  CertificateChain chain;
  chain.certificates.assign(response.certificates().begin(), response.certificates().end());
  chain.schemes.assign(response.schemes().begin(), response.schemes().end());
  return chain;
}

absl::StatusOr<std::string> SignerClient::Sign(absl::string_view identity, uint32_t scheme,
                                               absl::string_view digest) const {
  signer::v1::SignRequest request;
  request.set_identity(std::string(identity));
  request.set_scheme(scheme);
  request.set_digest(std::string(digest));
  signer::v1::SignResponse response;
  SIGIL_RETURN_IF_ERROR(CallWithRetry([&](grpc::ClientContext* context) {
    response.Clear();
    return stub_->Sign(context, request, &response);
  }));
  if (response.signature().empty() || response.signature().size() > kMaxSignatureBytes) {
    return absl::InternalError(
        absl::StrCat("signerd returned a signature of ", response.signature().size(), " bytes"));
  }
  return std::move(*response.mutable_signature());
}

absl::StatusOr<std::vector<absl::StatusOr<std::string>>> SignerClient::SignBatch(
    absl::Span<const SignItem> items) const {
  signer::v1::SignBatchRequest request;
  for (const SignItem& item : items) {
    signer::v1::SignRequest* out = request.add_requests();
    out->set_identity(std::string(item.identity));
    out->set_scheme(item.scheme);
    out->set_digest(std::string(item.digest));
  }
  signer::v1::SignBatchResponse response;
  SIGIL_RETURN_IF_ERROR(CallWithRetry([&](grpc::ClientContext* context) {
    response.Clear();
    return stub_->SignBatch(context, request, &response);
  }));
  if (static_cast<size_t>(response.results_size()) != items.size()) {
    return absl::InternalError(absl::StrCat("signerd returned ", response.results_size(), " results for a batch of ",
                                            items.size(), " items"));
  }
  std::vector<absl::StatusOr<std::string>> results;
  results.reserve(items.size());
  for (signer::v1::SignBatchResponse::Result& result : *response.mutable_results()) {
    if (result.code() != 0) {
      // gRPC codes map one to one onto absl::StatusCode; anything else is no code signerd may send.
      const bool known = result.code() > 0 && result.code() <= static_cast<int>(absl::StatusCode::kUnauthenticated);
      results.emplace_back(absl::Status(known ? static_cast<absl::StatusCode>(result.code()) : absl::StatusCode::kUnknown,
                                        known ? result.message()
                                              : absl::StrCat("code ", result.code(), ": ", result.message())));
    } else if (result.signature().empty() || result.signature().size() > kMaxSignatureBytes) {
      results.emplace_back(
          absl::InternalError(absl::StrCat("signerd returned a signature of ", result.signature().size(), " bytes")));
    } else {
      results.emplace_back(std::move(*result.mutable_signature()));
    }
  }
  return results;
}

absl::StatusOr<std::vector<signer::v1::ReloadIdentitiesResponse::Result>> SignerClient::ReloadIdentities() const {
  signer::v1::ReloadIdentitiesResponse response;
  SIGIL_RETURN_IF_ERROR(CallWithRetry([&](grpc::ClientContext* context) {
    response.Clear();
    return stub_->ReloadIdentities(context, signer::v1::ReloadIdentitiesRequest(), &response);
  }));
  return std::vector<signer::v1::ReloadIdentitiesResponse::Result>(response.results().begin(),
                                                                    response.results().end());
}

}  // namespace sigil::client
