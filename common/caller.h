// The authenticated caller of an RPC, from its mTLS client certificate: the principals Sigil authorizes by
// (SAN DNS names, SAN URIs such as SPIFFE IDs, and the subject CN).
#ifndef SIGIL_COMMON_CALLER_H_
#define SIGIL_COMMON_CALLER_H_

#include <string>
#include <vector>

#include "grpcpp/security/auth_context.h"

namespace sigil {

struct Caller {
  // False when the connection carried no verified client certificate (plaintext or verify: false).
  bool authenticated = false;
  // SAN DNS names, SAN URIs and the subject CN, in that order.
  std::vector<std::string> principals;
  // Short label for logs: the subject CN (or, without one, the last SAN), or "anonymous".
  std::string label;
};

// Reads the caller from a call's auth context (which may be null).
Caller CallerFromAuthContext(const grpc::AuthContext* context);

// Whether `caller` matches `allowed` (principal strings, "*" = any authenticated caller).
bool CallerAllowed(const Caller& caller, const std::vector<std::string>& allowed);

}  // namespace sigil

#endif  // SIGIL_COMMON_CALLER_H_
