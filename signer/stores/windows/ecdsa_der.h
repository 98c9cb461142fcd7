// NCrypt returns an ECDSA signature as the raw concatenation r || s (each the curve's field size, big-endian);
// TLS sends the DER form (RFC 3279 section 2.2.3):
//
//   Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }
//
// The core has no OpenSSL (none exists for mingw here) and CryptEncodeObjectEx(X509_ECC_SIGNATURE) expects
// little-endian CERT_ECC_SIGNATURE blobs whose handling differs between Windows versions and Wine, so this is
// a minimal hand-written encoder: two non-negative INTEGERs in a SEQUENCE, minimal-length encoding. Pure C++,
// thread-safe.
#ifndef SIGIL_SIGNER_STORES_WINDOWS_ECDSA_DER_H_
#define SIGIL_SIGNER_STORES_WINDOWS_ECDSA_DER_H_

#include <string>
#include <string_view>

#include "signer/stores/windows/win_status.h"

namespace sigil::winstore {

// DER Ecdsa-Sig-Value for `raw` = r || s. INVALID_ARGUMENT when `raw` is empty or of odd length.
// r and s of zero are encoded as INTEGER 0 (never produced by a correct signer, but well-formed).
Result<std::string> EcdsaRawToDer(std::string_view raw);

}  // namespace sigil::winstore

#endif  // SIGIL_SIGNER_STORES_WINDOWS_ECDSA_DER_H_
