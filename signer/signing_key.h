// SigningKey: a private key held by a credential store, seen only through the operation it allows.
//
// Implementations never expose key material. They are thread-safe: Sign may be called concurrently.
// An implementation whose store blocks (PKCS#11, CNG) says so, and callers keep it off gRPC's threads.
#ifndef SIGIL_SIGNER_SIGNING_KEY_H_
#define SIGIL_SIGNER_SIGNING_KEY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "signer/signature_scheme.h"

namespace sigil::signer {

class SigningKey {
 public:
  virtual ~SigningKey() = default;

  // Type, size and curve of the key.
  virtual const KeyInfo& info() const = 0;

  // Signs `digest` (already the scheme's hash of the message; the caller checked its length and that the
  // key supports `scheme`). Returns the signature as TLS sends it: RSA as the modulus-sized integer, ECDSA
  // as DER. UNAVAILABLE when the store cannot be reached; INTERNAL for a store failure.
  virtual absl::StatusOr<std::string> Sign(const SignatureScheme& scheme, absl::string_view digest) = 0;

  // The TLS SignatureScheme codes this key can make, probed when the key was opened. The default is
  // every scheme the key's type, size and curve allow; a store whose token lacks a mechanism (say,
  // RSA-PSS) reports less.
  virtual std::vector<uint16_t> Schemes() const { return SupportedSchemes(info()); }

  // Whether Sign can block on I/O (a token, a remote service) and must run off gRPC's threads.
  virtual bool MayBlock() const = 0;
};

}  // namespace sigil::signer

#endif  // SIGIL_SIGNER_SIGNING_KEY_H_
