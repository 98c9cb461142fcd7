// OCSP response validation (RFC 6960): decides whether a DER OCSPResponse is a usable answer about one
// certificate, and extracts the status and time window from it. Used for responses fetched from a
// responder, read back from the cache (which stores but never checks them) and imported from a NATS
// cache.json.
//
// What is checked, in order:
//   OCSPResponse ::= SEQUENCE {
//      responseStatus   OCSPResponseStatus,              -- must be successful(0)
//      responseBytes    [0] EXPLICIT ResponseBytes OPTIONAL }   -- must be id-pkix-ocsp-basic
//   BasicOCSPResponse ::= SEQUENCE {
//      tbsResponseData  ResponseData, signatureAlgorithm AlgorithmIdentifier,
//      signature BIT STRING, certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
//   1. The signer named by ResponseData.responderID (byName or byKey, looked up among `certs` and the
//      issuer) is either the issuer itself (same certificate or same public key) or a delegated responder
//      certificate (RFC 6960 4.2.2.2) that the issuer signed, that carries id-kp-OCSPSigning in its
//      ExtendedKeyUsage and whose validity period contains `now`; the signature verifies with its key.
//   2. A SingleResponse's CertID matches the certificate asked about: same issuerNameHash and
//      issuerKeyHash (computed with the CertID's own hash algorithm) and, when `cert` is given, the same
//      serialNumber. The reference implementation skips this; a response for another serial is refused.
//   3. The time window, as the reference server's OCSPResponseCurrent with skew = allowed_clockskew:
//      NextUpdate (when present) must not be before now - skew; without NextUpdate, ThisUpdate + the TTL
//      must not be before now - skew; ThisUpdate must not be after now + skew.
//
// What is deliberately NOT checked: nonces (Sigil never sends one), the responder's own revocation
// status (id-pkix-ocsp-nocheck is neither required nor honoured), that `issuer` really issued `cert`
// (the caller's chain verification did that), and the issuer's own validity. "revoked" and "unknown"
// are results, not errors.
//
// Thread-safety: stateless; safe to call concurrently. The X509 arguments are only read (OpenSSL may
// update their cached extension flags, which it does under its own lock).
#ifndef SIGIL_VERIFIER_OCSP_OCSP_RESPONSE_H_
#define SIGIL_VERIFIER_OCSP_OCSP_RESPONSE_H_

#include <openssl/x509.h>

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cache/ocsp_cache.h"

namespace sigil::verifier::ocsp {

// The reference server's failure reasons ("debug and event reasons"), used verbatim as the prefix of
// ValidateResponse's error messages and as VerifyPeer's per-link failure text.
inline constexpr absl::string_view kFailedResponseFetch = "Failed OCSP response fetch";
inline constexpr absl::string_view kResponseNotEffective = "OCSP response not in effectivity window";
inline constexpr absl::string_view kFailedResponseParse = "Failed OCSP response parse";
// Followed by ": <detail>".
inline constexpr absl::string_view kResponseDelegationInvalid = "Invalid OCSP response delegation";
// Followed by ": good|revoked|unknown".
inline constexpr absl::string_view kResponseInvalidStatus = "Invalid OCSP response status";

struct ValidationOptions {
  // The ocsp_peer option allowed_clockskew.
  absl::Duration allowed_clockskew = absl::Seconds(30);
  // The ocsp_peer option cache_ttl_when_next_update_unset.
  absl::Duration ttl_when_next_update_unset = absl::Seconds(3600);
  // When false, step 3 (the time window) is skipped: for asking whether a stale cached response was a
  // genuine revocation (pass its cached_at as `now`, when it was last found valid).
  bool check_effectivity = true;
};

struct ValidatedResponse {
  cache::CachedResponse::Status status = cache::CachedResponse::Status::kUnknown;
  absl::Time this_update = absl::UnixEpoch();
  // Absent when the responder left NextUpdate out.
  std::optional<absl::Time> next_update;
  // When the answer stops being usable: next_update, or this_update + ttl_when_next_update_unset.
  // (The window check itself allows allowed_clockskew beyond this.)
  absl::Time expires = absl::UnixEpoch();
  // revocationTime, for a revoked certificate.
  std::optional<absl::Time> revoked_at;
  // notAfter of the delegated responder certificate that signed; InfiniteFuture when the issuer signed.
  // A verdict remembered from this validation must not outlive it.
  absl::Time signer_not_after = absl::InfiniteFuture();
};

// Validates `response_der` (a DER OCSPResponse) as the answer about `cert`, issued by `issuer`, at `now`.
// `cert` may be null: then a SingleResponse must only match `issuer`'s name and key hashes (the first
// such SingleResponse is used). `issuer` must not be null. Neither is retained.
//
// Errors (the message starts with the reference wording, detail follows after ": "):
//   INVALID_ARGUMENT "Failed OCSP response parse: ..." — not DER, responseStatus not successful, not a
//     basic response, signer not found, bad signature, no SingleResponse for this certificate (CertID
//     mismatch, e.g. a response for another serial);
//   INVALID_ARGUMENT "Invalid OCSP response delegation: ..." — the signer is neither the issuer nor a
//     delegated responder the issuer signed with id-kp-OCSPSigning and valid at `now`;
//   FAILED_PRECONDITION "OCSP response not in effectivity window" exactly — stale or future-dated
//     (details are logged at debug level with the reference server's wording).
absl::StatusOr<ValidatedResponse> ValidateResponse(absl::string_view response_der, X509* cert, X509* issuer,
                                                   absl::Time now, const ValidationOptions& options);

}  // namespace sigil::verifier::ocsp

#endif  // SIGIL_VERIFIER_OCSP_OCSP_RESPONSE_H_
