#include "client/channel.h"

#include "absl/strings/str_cat.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace sigil::client {

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ChannelOptions& options) {
  if (options.target.empty()) return absl::InvalidArgumentError("a target host:port is required");
  if (options.plaintext) {
    return grpc::CreateChannel(options.target, grpc::InsecureChannelCredentials());
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
  return grpc::CreateChannel(options.target, grpc::SslCredentials(ssl));
}

}  // namespace sigil::client
