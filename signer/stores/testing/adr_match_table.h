// The Certificate Store ADR's example table (seeds/cert-store.md): cert_match_by / cert_match against a
// certificate with Subject "OU = NATS.io, CN = example.com" and Issuer "O = Synadia Communications Inc.,
// OU = NATS.io, CN = localhost", and whether the ADR says it is found.
//
// Plain data with no dependencies, so both the Linux conformance suite and the mingw-built Windows unit
// tests use the same rows.
#ifndef SIGIL_SIGNER_STORES_TESTING_ADR_MATCH_TABLE_H_
#define SIGIL_SIGNER_STORES_TESTING_ADR_MATCH_TABLE_H_

namespace sigil::signer::testing {

struct AdrMatchRow {
  const char* by;
  const char* match;
  bool found;
};

inline constexpr AdrMatchRow kAdrMatchTable[] = {
    {"Subject", "example.com", true},
    {"Subject", "NATS.io", true},
    {"Subject", "OU = NATS.io, CN = example.com", false},
    {"Subject", "CN = example.com", false},
    {"Issuer", "localhost", true},
    {"Issuer", "Synadia Communications Inc.", true},
    {"Issuer", "O = Synadia Communications Inc., OU = NATS.io, CN = localhost", false},
    {"Issuer", "CN = localhost", false},
};

}  // namespace sigil::signer::testing

#endif  // SIGIL_SIGNER_STORES_TESTING_ADR_MATCH_TABLE_H_
