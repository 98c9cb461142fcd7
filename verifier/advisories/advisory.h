// Advisory events about rejected OCSP peers, in the NATS reference server's exact JSON shape
// (seeds/ocsp-peer.md, "Advisory events"):
//
//   {"type":"io.nats.server.advisory.v1.ocsp_peer_reject","id":"<22 base62>","timestamp":"<RFC 3339 nano>",
//    "kind":"Client","peer":{<cert>},"server":{<server>},"reason":"client not OCSP valid"}
//   {"type":"io.nats.server.advisory.v1.ocsp_peer_link_invalid","id":...,"timestamp":...,
//    "link":{<cert>},"peer":{<cert>},"server":{<server>},"reason":"Invalid OCSP response status: revoked"}
//
// with <cert> = {"subject","issuer","fingerprint","raw"} (RFC 2253 names, base64 SHA-256 of the DER, base64
// DER) and <server> = {"name","host","id","time"}: the fleet server that asked verifierd (the reference
// describes itself here and adds ver/seq/jetstream, which have no meaning for a fleet server; Sigil omits
// them). "kind" is omitted when the caller gave none.
//
// Sigil extension: a link event for a peer that warn_only let through carries a trailing
// "allowed":true member (the reference emits nothing in warn-only mode, leaving operators blind). Every
// other event is exactly the reference shape.
//
// Thread-safety: stateless functions, safe to call concurrently.
#ifndef SIGIL_VERIFIER_ADVISORIES_ADVISORY_H_
#define SIGIL_VERIFIER_ADVISORIES_ADVISORY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sigil/verifier/v1/verifier.pb.h"

namespace sigil::verifier::advisories {

inline constexpr absl::string_view kPeerRejectType = "io.nats.server.advisory.v1.ocsp_peer_reject";
inline constexpr absl::string_view kLinkInvalidType = "io.nats.server.advisory.v1.ocsp_peer_link_invalid";
// The NATS subject suffixes after "$SYS.SERVER.<server-id>.".
inline constexpr absl::string_view kPeerRejectSubjectSuffix = "OCSP.PEER.CONN.REJECT";
inline constexpr absl::string_view kLinkInvalidSubjectSuffix = "OCSP.PEER.LINK.INVALID";

// A certificate as advisories describe it.
struct CertInfo {
  std::string subject;      // RFC 2253.
  std::string issuer;       // RFC 2253.
  std::string fingerprint;  // Standard base64 of SHA-256(DER): the response cache key.
  std::string raw;          // Standard base64 of the DER.
};

// Describes the DER certificate `der`. INVALID_ARGUMENT when it is not one DER certificate.
absl::StatusOr<CertInfo> DescribeCertificate(absl::string_view der);

// One event, ready for every sink.
struct AdvisoryEvent {
  // type, id, timestamp and the JSON text exactly as published.
  v1::Advisory message;
  // The asking server's id (empty when unknown): the <server-id> token of the NATS subject.
  std::string server_id;
  // One structured log line summarising the event (no raw certificate).
  std::string log_line;
};

struct PeerRejectInput {
  CertInfo peer;
  // Connection kind label ("Client", "Leafnode", ...); omitted from the JSON when empty.
  std::string kind;
  v1::ServerInfo server;
  // "client not OCSP valid" / "server not OCSP valid".
  std::string reason;
  absl::Time time;
};

struct LinkInvalidInput {
  CertInfo link;
  CertInfo peer;
  v1::ServerInfo server;
  // The link's failure ("Invalid OCSP response status: revoked", ...).
  std::string reason;
  absl::Time time;
  // The peer was let through because of warn_only: adds "allowed":true (Sigil extension).
  bool allowed_by_warn_only = false;
};

AdvisoryEvent BuildPeerReject(const PeerRejectInput& input);
AdvisoryEvent BuildLinkInvalid(const LinkInvalidInput& input);

// A fresh event id: 22 characters of base62 from OpenSSL's CSPRNG (like the reference's nuid: same length
// and alphabet, though not sequential).
std::string NewEventId();

// RFC 3339 with nanoseconds and trailing zeros dropped, UTC ("2023-06-20T06:23:13.659116379Z"), as Go's
// time.RFC3339Nano.
std::string FormatTimestamp(absl::Time time);

}  // namespace sigil::verifier::advisories

#endif  // SIGIL_VERIFIER_ADVISORIES_ADVISORY_H_
