// The `sigil` provider's OSSL_STORE loader for URIs `sigil:identity=<name>`.
//
// Opening a URI calls GetCertificateChain (creating the gRPC channel on first use) and fails with an
// OpenSSL error when signerd refuses or cannot be reached. Loading then yields, in order, the identity's
// private key (a SigilKey reference of type "RSA" or "EC", usable for signing through this provider) and
// its leaf certificate (DER), honouring OSSL_STORE_expect(). Passwords are never asked for.
#ifndef SIGIL_CLIENT_PROVIDER_STORE_H_
#define SIGIL_CLIENT_PROVIDER_STORE_H_

#include <openssl/core.h>

#include <string>

#include "absl/status/statusor.h"

namespace sigil::provider {

// The identity named by a store URI: "sigil:identity=<name>" with a non-empty name of at most 256
// characters from [A-Za-z0-9._-]. INVALID_ARGUMENT otherwise (other schemes, other attributes).
absl::StatusOr<std::string> ParseStoreUri(const std::string& uri);

extern const OSSL_DISPATCH kStoreFunctions[];

}  // namespace sigil::provider

#endif  // SIGIL_CLIENT_PROVIDER_STORE_H_
