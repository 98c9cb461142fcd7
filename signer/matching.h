// Identity selection and chain assembly over what a KeyStore lists, the same for every store.
//
// Selection follows the Certificate Store ADR (cert_match_by / cert_match) and goes beyond it where it is
// ambiguous:
// - Subject / Issuer: cert_match equals (ASCII case-insensitively) one RDN *value* of the certificate's
//   subject / issuer name. "example.com" matches "OU=NATS.io, CN=example.com"; "CN = example.com" and the
//   whole DN do not (the ADR's example table).
// - Thumbprint: SHA-1 of the certificate DER in hex; case, spaces and colons in cert_match are ignored.
// - cert_match_skip_invalid drops certificates outside their validity period before matching.
// - Several matches: the choice is deterministic: currently valid first, then the latest NotBefore, then the
//   lowest SHA-256 fingerprint; the returned reason says which rule decided.
//
// Chain assembly follows the ADR: the leaf plus the non-self-signed intermediates of the first valid
// chain from the leaf to a self-signed CA among the store's CA certificates; the leaf alone when no such
// chain validates. Only signatures, names and validity are checked (no revocation, no key usage policy:
// the TLS peer is the trust validator).
//
// Nothing here blocks or keeps state; every function is thread-safe.
#ifndef SIGIL_SIGNER_MATCHING_H_
#define SIGIL_SIGNER_MATCHING_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "signer/key_store.h"

namespace sigil::signer {

enum class MatchBy { kSubject, kIssuer, kThumbprint };

// Parses cert_match_by, case-insensitively; empty means Subject. INVALID_ARGUMENT
// "cert match by type not implemented" for anything else.
absl::StatusOr<MatchBy> ParseMatchBy(absl::string_view value);

// "Subject", "Issuer", "Thumbprint".
absl::string_view MatchByName(MatchBy by);

struct MatchSpec {
  MatchBy by = MatchBy::kSubject;
  std::string term;
  bool skip_invalid = false;
};

struct Selection {
  // Index into the candidates.
  size_t index = 0;
  // Why this certificate, for the start-up log: "the only match" or which tie-break decided.
  std::string reason;
};

// Chooses the certificate `spec` selects among `candidates` at `now`. NOT_FOUND when none matches (the
// message says how many certificates were looked at and how many were skipped as invalid); candidates
// that are not parsable DER are skipped.
absl::StatusOr<Selection> SelectCertificate(absl::Span<const StoreCertificate> candidates,
                                            const MatchSpec& spec, absl::Time now);

// The chain a TLS server sends for `leaf_der`: the leaf, then the non-self-signed intermediates of the
// first chain that validates at `now` from the leaf to a self-signed certificate in `ca_der`; the leaf
// alone when no chain validates. Unparsable CA certificates are ignored. INVALID_ARGUMENT when the leaf
// itself is not parsable.
absl::StatusOr<std::vector<std::string>> AssembleChain(const std::string& leaf_der,
                                                       absl::Span<const std::string> ca_der, absl::Time now);

// SHA-1 of `der` as uppercase hex: the Windows "thumbprint".
std::string Thumbprint(absl::string_view der);

}  // namespace sigil::signer

#endif  // SIGIL_SIGNER_MATCHING_H_
