// Identity selection over decoded certificates, the Windows store's own implementation of the rules in
// signer/matching.h (the Windows core has no OpenSSL, so it cannot call that code). The two must agree:
// windows_store_wine_test.cc runs the Certificate Store ADR's match table, Thumbprint and the tie-breaks
// through both and compares the chosen certificate and the reason string.
//
// - Subject / Issuer: cert_match equals (ASCII case-insensitively) one RDN *value* of the subject / issuer
//   name, decoded by CertRDNValueToStrW. Windows' CERT_FIND_SUBJECT_STR / CERT_FIND_ISSUER_STR are not used:
//   they are substring matches, and under Wine CERT_FIND_ISSUER_STR_W matches the subject.
// - Thumbprint: SHA-1 of the DER in hex; case, spaces and colons in cert_match are ignored.
// - skip_invalid drops certificates outside their validity period before choosing.
// - Several matches: currently valid first, then the latest NotBefore, then the lowest SHA-256 of the DER.
//
// Pure C++ over values; thread-safe.
#ifndef SIGIL_SIGNER_STORES_WINDOWS_CERT_MATCH_H_
#define SIGIL_SIGNER_STORES_WINDOWS_CERT_MATCH_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "signer/stores/windows/win_status.h"

namespace sigil::winstore {

// What matching needs to know about one certificate (cert_store.h decodes it from a PCCERT_CONTEXT).
struct CertFacts {
  std::string der;
  // RDN values of the subject / issuer name, UTF-8, in the name's order.
  std::vector<std::string> subject_values;
  std::vector<std::string> issuer_values;
  // Validity, Unix seconds.
  int64_t not_before_unix = 0;
  int64_t not_after_unix = 0;
  // SHA-1 of `der`, uppercase hex.
  std::string thumbprint;
  // SHA-256 of `der`, raw bytes.
  std::string sha256;
};

enum class MatchBy { kSubject, kIssuer, kThumbprint };

// cert_match_by, case-insensitively; empty means Subject. INVALID_ARGUMENT
// "cert match by type not implemented" otherwise (the ADR's message).
Result<MatchBy> ParseMatchBy(std::string_view value);
// "Subject", "Issuer", "Thumbprint".
const char* MatchByName(MatchBy by);

struct MatchSpec {
  MatchBy by = MatchBy::kSubject;
  std::string term;
  bool skip_invalid = false;
};

struct Selection {
  // Index into the candidates.
  size_t index = 0;
  // Same wording as signer/matching.h: "the only match", "the latest NotBefore of 3 valid matches", ...
  std::string reason;
};

// Hex digits of a Thumbprint cert_match, uppercase, without colons and spaces.
std::string NormalizeThumbprint(std::string_view term);

// Whether `facts` is inside its validity period at `now_unix` (both ends inclusive).
bool ValidAt(const CertFacts& facts, int64_t now_unix);

// Whether `facts` matches `spec` (ignores validity).
bool Matches(const CertFacts& facts, const MatchSpec& spec);

// Chooses the certificate `spec` selects among `candidates` at `now_unix`. NOT_FOUND when none matches, with
// signer/matching.h's message ("no certificate matches Subject \"x\" among N certificate(s) with a key ...").
Result<Selection> SelectCertificate(const std::vector<CertFacts>& candidates, const MatchSpec& spec,
                                    int64_t now_unix);

}  // namespace sigil::winstore

#endif  // SIGIL_SIGNER_STORES_WINDOWS_CERT_MATCH_H_
