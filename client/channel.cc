#include "client/channel.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"
#include "grpc/grpc.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace sigil::client {
namespace {

// Protobuf JSON Duration form ("0.100s") that the service config parser expects.
std::string JsonDuration(absl::Duration d) {
  return absl::StrFormat("%.3fs", absl::ToDoubleSeconds(d));
}

}  // namespace

absl::StatusOr<std::string> RetryServiceConfigJson(const RetryOptions& retry) {
  if (retry.max_attempts < 1) return absl::InvalidArgumentError("retry.max_attempts must be at least 1");
  if (retry.initial_backoff <= absl::ZeroDuration() || retry.max_backoff < retry.initial_backoff) {
    return absl::InvalidArgumentError("retry backoffs must be positive and max_backoff >= initial_backoff");
  }
  if (!(retry.backoff_multiplier > 0)) return absl::InvalidArgumentError("retry.backoff_multiplier must be > 0");
  if (retry.max_attempts == 1) return std::string(R"({"methodConfig": [{"name": [{}]}]})");
  // gRPC rejects maxAttempts < 2 in a retryPolicy and silently caps it at 5.
  return absl::StrFormat(
      R"({"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": %d, "initialBackoff": "%s", )"
      R"("maxBackoff": "%s", "backoffMultiplier": %g, "retryableStatusCodes": ["UNAVAILABLE"]}}]})",
      std::min(retry.max_attempts, 5), JsonDuration(retry.initial_backoff), JsonDuration(retry.max_backoff),
      retry.backoff_multiplier);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ChannelOptions& options) {
  if (options.target.empty()) return absl::InvalidArgumentError("a target host:port is required");
  grpc::ChannelArguments args;
  SIGIL_ASSIGN_OR_RETURN(std::string service_config, RetryServiceConfigJson(options.retry));
  args.SetServiceConfigJSON(service_config);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
  if (options.max_reconnect_backoff < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError("max_reconnect_backoff must be at least 100 ms");
  }
  const int max_backoff_ms = static_cast<int>(absl::ToInt64Milliseconds(options.max_reconnect_backoff));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_backoff_ms);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, std::min(1000, max_backoff_ms));
  if (options.plaintext) {
    return grpc::CreateCustomChannel(options.target, grpc::InsecureChannelCredentials(), args);
  }
  grpc::SslCredentialsOptions ssl;
  if (!options.ca_file.empty()) {
    SIGIL_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFileToString(options.ca_file));
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError("a client certificate needs both a cert file and a key file");
  }
  if (!options.cert_file.empty()) {
    SIGIL_ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadFileToString(options.cert_file));
    SIGIL_ASSIGN_OR_RETURN(ssl.pem_private_key, ReadFileToString(options.key_file));
  }
  if (!options.server_name_override.empty()) args.SetSslTargetNameOverride(options.server_name_override);
  return grpc::CreateCustomChannel(options.target, grpc::SslCredentials(ssl), args);
}

}  // namespace sigil::client
