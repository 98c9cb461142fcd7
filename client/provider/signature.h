// Signature operations (OSSL_OP_SIGNATURE) of the `sigil` provider: "RSA" (PKCS#1 v1.5 and PSS) and
// "ECDSA" with SigilKeys. The message is hashed locally; the digest goes to signerd's Sign with the TLS
// SignatureScheme that matches hash, padding and curve, and signerd's answer is the signature.
//
// Supported: sign_init/sign on a precomputed digest (hash from the "digest" parameter, else from the
// digest length) and digest_sign_init/update/final and the one-shot digest_sign (libssl's path for TLS 1.2
// and 1.3 server signatures). Raised as errors (kReasonUnsupported), never silently changed: a hash,
// padding or curve combination signerd has no scheme for, a scheme the identity does not advertise, PSS
// with an MGF1 hash other than the message hash, and PSS salt lengths other than the hash length
// ("digest", or the number; an unset salt length means the hash length, the only one the remote key
// makes). A failed Sign RPC (signerd down, deadline) raises kReasonRpc and fails the operation.
#ifndef SIGIL_CLIENT_PROVIDER_SIGNATURE_H_
#define SIGIL_CLIENT_PROVIDER_SIGNATURE_H_

#include <openssl/core.h>

namespace sigil::provider {

extern const OSSL_DISPATCH kRsaSignatureFunctions[];
extern const OSSL_DISPATCH kEcdsaSignatureFunctions[];

}  // namespace sigil::provider

#endif  // SIGIL_CLIENT_PROVIDER_SIGNATURE_H_
