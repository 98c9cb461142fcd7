#include "verifier/advisories/advisory.h"

#include <openssl/rand.h>
#include <openssl/x509.h>

#include <atomic>
#include <cstdint>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cache/ocsp_cache.h"
#include "common/openssl_util.h"
#include "verifier/advisories/json_writer.h"

namespace sigil::verifier::advisories {
namespace {

constexpr char kBase62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr int kIdLength = 22;

std::string CertJson(const CertInfo& cert) {
  return JsonObjectWriter()
      .String("subject", cert.subject)
      .String("issuer", cert.issuer)
      .String("fingerprint", cert.fingerprint)
      .String("raw", cert.raw)
      .Finish();
}

std::string ServerJson(const v1::ServerInfo& server, absl::Time time) {
  return JsonObjectWriter()
      .String("name", server.name())
      .String("host", server.host())
      .String("id", server.id())
      .String("time", FormatTimestamp(time))
      .Finish();
}

std::string ServerLabel(const v1::ServerInfo& server) {
  if (!server.name().empty() && !server.id().empty()) return absl::StrCat(server.name(), "/", server.id());
  if (!server.name().empty()) return server.name();
  if (!server.id().empty()) return server.id();
  return server.host();
}

void Stamp(absl::string_view type, absl::Time time, AdvisoryEvent* event) {
  event->message.set_type(std::string(type));
  event->message.set_id(NewEventId());
  const int64_t nanos = absl::ToUnixNanos(time);
  int64_t seconds = nanos / 1000000000;
  int64_t rest = nanos % 1000000000;
  if (rest < 0) rest += 1000000000, seconds -= 1;
  event->message.mutable_timestamp()->set_seconds(seconds);
  event->message.mutable_timestamp()->set_nanos(static_cast<int32_t>(rest));
}

}  // namespace

absl::StatusOr<CertInfo> DescribeCertificate(absl::string_view der) {
  absl::StatusOr<X509Ptr> cert = ParseDerCertificate(der);
  if (!cert.ok()) return cert.status();
  CertInfo info;
  info.subject = NameToString(X509_get_subject_name(cert->get()));
  info.issuer = NameToString(X509_get_issuer_name(cert->get()));
  info.fingerprint = cache::CacheKey(der);
  info.raw = absl::Base64Escape(der);
  return info;
}

std::string NewEventId() {
  std::string id;
  id.reserve(kIdLength);
  while (id.size() < kIdLength) {
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
      // The CSPRNG failing is not a reason to lose the event: fall back to the time-seeded counter below.
      ClearOpenSslErrors();
      static std::atomic<uint64_t> counter{static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()))};
      uint64_t v = counter.fetch_add(0x9E3779B97F4A7C15ULL);
      for (unsigned char& b : bytes) b = static_cast<unsigned char>(v >>= 3);
    }
    for (unsigned char b : bytes) {
      if (b >= 248) continue;  // 248 = 4 * 62: keeps the alphabet unbiased.
      id.push_back(kBase62[b % 62]);
      if (id.size() == kIdLength) break;
    }
  }
  return id;
}

std::string FormatTimestamp(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", time, absl::UTCTimeZone());
}

AdvisoryEvent BuildPeerReject(const PeerRejectInput& input) {
  AdvisoryEvent event;
  Stamp(kPeerRejectType, input.time, &event);
  JsonObjectWriter json;
  json.String("type", kPeerRejectType)
      .String("id", event.message.id())
      .String("timestamp", FormatTimestamp(input.time));
  if (!input.kind.empty()) json.String("kind", input.kind);
  json.Raw("peer", CertJson(input.peer))
      .Raw("server", ServerJson(input.server, input.time))
      .String("reason", input.reason);
  event.message.set_json(json.Finish());
  event.server_id = input.server.id();
  event.log_line = absl::StrCat("Advisory [", kPeerRejectType, "] id [", event.message.id(), "] kind [",
                                input.kind, "] peer [", input.peer.subject, "] fingerprint [",
                                input.peer.fingerprint, "] server [", ServerLabel(input.server), "] reason [",
                                input.reason, "]");
  return event;
}

AdvisoryEvent BuildLinkInvalid(const LinkInvalidInput& input) {
  AdvisoryEvent event;
  Stamp(kLinkInvalidType, input.time, &event);
  JsonObjectWriter json;
  json.String("type", kLinkInvalidType)
      .String("id", event.message.id())
      .String("timestamp", FormatTimestamp(input.time))
      .Raw("link", CertJson(input.link))
      .Raw("peer", CertJson(input.peer))
      .Raw("server", ServerJson(input.server, input.time))
      .String("reason", input.reason);
  if (input.allowed_by_warn_only) json.Bool("allowed", true);
  event.message.set_json(json.Finish());
  event.server_id = input.server.id();
  event.log_line = absl::StrCat("Advisory [", kLinkInvalidType, "] id [", event.message.id(), "] link [",
                                input.link.subject, "] peer [", input.peer.subject, "] fingerprint [",
                                input.link.fingerprint, "] server [", ServerLabel(input.server), "] reason [",
                                input.reason, "]", input.allowed_by_warn_only ? " (allowed: warn_only)" : "");
  return event;
}

}  // namespace sigil::verifier::advisories
