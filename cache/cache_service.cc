#include "cache/cache_service.h"

#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "cache/nats_cache_json.h"
#include "common/caller.h"
#include "common/logging.h"
#include "common/openssl_util.h"
#include "google/protobuf/timestamp.pb.h"

namespace sigil::cache {

namespace {

using Status = CachedResponse::Status;

constexpr size_t kFingerprintBytes = 32;

grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context, const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message())));
  return reactor;
}

// OK for an authenticated caller; UNAUTHENTICATED otherwise.
absl::Status RequireAuthenticated(const Caller& caller, absl::string_view rpc) {
  if (caller.authenticated) return absl::OkStatus();
  return absl::UnauthenticatedError(absl::StrCat(rpc, " needs a verified client certificate"));
}

// OK for a caller in `admins`; PERMISSION_DENIED (or UNAUTHENTICATED) otherwise.
absl::Status RequireAdmin(const Caller& caller, const std::vector<std::string>& admins, absl::string_view rpc) {
  if (!caller.authenticated) return RequireAuthenticated(caller, rpc);
  if (CallerAllowed(caller, admins)) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat(rpc, " is for the operators listed in admin_principals; ", caller.label, " is not one"));
}

void ToTimestamp(absl::Time t, google::protobuf::Timestamp* ts) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts->set_seconds(seconds);
  ts->set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
}

v1::ResponseStatus ToProto(Status status) {
  switch (status) {
    case Status::kGood:
      return v1::GOOD;
    case Status::kRevoked:
      return v1::REVOKED;
    case Status::kUnknown:
      return v1::UNKNOWN;
  }
  return v1::RESPONSE_STATUS_UNSPECIFIED;
}

void ToProto(const CachedResponse& r, v1::CacheEntry* out) {
  out->set_key(r.key);
  out->set_subject(r.subject);
  ToTimestamp(r.cached_at, out->mutable_cached_at());
  out->set_resp_status(ToProto(r.resp_status));
  ToTimestamp(r.resp_expires, out->mutable_resp_expires());
  out->set_resp(r.response_der);
  out->set_issuer(r.issuer_subject);
}

absl::Status CheckFingerprint(const std::string& fingerprint) {
  std::string digest;
  if (!absl::Base64Unescape(fingerprint, &digest) || digest.size() != kFingerprintBytes) {
    return absl::InvalidArgumentError(
        "fingerprint must be the standard base64 of the SHA-256 of the certificate DER");
  }
  return absl::OkStatus();
}

// The cache key a Lookup or Purge request names.
absl::StatusOr<std::string> KeyOf(const v1::LookupRequest& request) {
  switch (request.target_case()) {
    case v1::LookupRequest::kFingerprint: {
      absl::Status checked = CheckFingerprint(request.fingerprint());
      if (!checked.ok()) return checked;
      return request.fingerprint();
    }
    case v1::LookupRequest::kCertificate: {
      absl::StatusOr<X509Ptr> cert = ParseDerCertificate(request.certificate());
      if (!cert.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("certificate is not one DER X.509 certificate: ", cert.status().message()));
      }
      return CacheKey(request.certificate());
    }
    default:
      return absl::InvalidArgumentError("give a fingerprint or a certificate");
  }
}

absl::StatusOr<PurgeFilter> FilterOf(const v1::PurgeRequest& request) {
  switch (request.target_case()) {
    case v1::PurgeRequest::kFingerprint: {
      absl::Status checked = CheckFingerprint(request.fingerprint());
      if (!checked.ok()) return checked;
      return PurgeFilter::ByKey(request.fingerprint());
    }
    case v1::PurgeRequest::kStatus:
      switch (request.status()) {
        case v1::GOOD:
          return PurgeFilter::ByStatus(Status::kGood);
        case v1::REVOKED:
          return PurgeFilter::ByStatus(Status::kRevoked);
        case v1::UNKNOWN:
          return PurgeFilter::ByStatus(Status::kUnknown);
        default:
          return absl::InvalidArgumentError("status must be GOOD, REVOKED or UNKNOWN");
      }
    case v1::PurgeRequest::kAll:
      if (!request.all()) return absl::InvalidArgumentError("all must be true to purge everything");
      return PurgeFilter::All();
    default:
      return absl::InvalidArgumentError("give a fingerprint, a status or all");
  }
}

void AddRejection(const std::string& line, v1::ImportNatsCacheResponse* response) {
  response->set_rejected(response->rejected() + 1);
  if (static_cast<size_t>(response->rejections_size()) < CacheService::kMaxRejectionLines) {
    response->add_rejections(line);
  }
}

CacheServiceOptions WithDefaults(CacheServiceOptions options) {
  if (options.clock == nullptr) options.clock = std::make_shared<SystemClock>();
  return options;
}

}  // namespace

CacheService::CacheService() : CacheService(CacheServiceOptions()) {}

CacheService::CacheService(CacheServiceOptions options)
    : options_(WithDefaults(std::move(options))), worker_(std::make_unique<BlockingPool>(1, kMaxQueuedJobs)) {}

CacheService::~CacheService() = default;

grpc::ServerUnaryReactor* CacheService::GetStats(grpc::CallbackServerContext* context, const v1::GetStatsRequest*,
                                                 v1::CacheStats* response) {
  const Caller caller = CallerFromAuthContext(context->auth_context().get());
  if (absl::Status s = RequireAuthenticated(caller, "GetStats"); !s.ok()) return Finish(context, s);
  CacheStats stats;
  if (options_.cache != nullptr) {
    stats = options_.cache->Stats();
  } else {
    stats.cache_type = "none";
  }
  response->set_cache_type(stats.cache_type);
  response->set_cache_hits(stats.cache_hits);
  response->set_cache_misses(stats.cache_misses);
  response->set_cached_responses(stats.cached_responses);
  response->set_cached_revoked_responses(stats.cached_revoked_responses);
  response->set_cached_good_responses(stats.cached_good_responses);
  response->set_cached_unknown_responses(stats.cached_unknown_responses);
  return Finish(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* CacheService::Lookup(grpc::CallbackServerContext* context, const v1::LookupRequest* request,
                                               v1::CacheEntry* response) {
  const Caller caller = CallerFromAuthContext(context->auth_context().get());
  if (absl::Status s = RequireAuthenticated(caller, "Lookup"); !s.ok()) return Finish(context, s);
  absl::StatusOr<std::string> key = KeyOf(*request);
  if (!key.ok()) return Finish(context, key.status());
  const absl::Status not_found = absl::NotFoundError(absl::StrCat("no cached OCSP response for ", *key));
  if (options_.cache == nullptr) return Finish(context, not_found);
  absl::StatusOr<std::optional<CachedResponse>> entry = options_.cache->Peek(*key);
  if (!entry.ok()) return Finish(context, entry.status());
  if (!entry->has_value()) return Finish(context, not_found);
  ToProto(**entry, response);
  return Finish(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* CacheService::Purge(grpc::CallbackServerContext* context, const v1::PurgeRequest* request,
                                              v1::PurgeResponse* response) {
  const Caller caller = CallerFromAuthContext(context->auth_context().get());
  if (absl::Status s = RequireAdmin(caller, options_.admin_principals, "Purge"); !s.ok()) {
    return Finish(context, s);
  }
  absl::StatusOr<PurgeFilter> filter = FilterOf(*request);
  if (!filter.ok()) return Finish(context, filter.status());
  int64_t purged = 0;
  if (options_.cache != nullptr) {
    absl::StatusOr<int64_t> removed = options_.cache->Purge(*filter);
    if (!removed.ok()) return Finish(context, removed.status());
    purged = *removed;
  }
  LogInfo(absl::StrCat("audit: Cache/Purge caller=", caller.label, " purged=", purged));
  response->set_purged(purged);
  return Finish(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* CacheService::ImportNatsCache(grpc::CallbackServerContext* context,
                                                        const v1::ImportNatsCacheRequest* request,
                                                        v1::ImportNatsCacheResponse* response) {
  const Caller caller = CallerFromAuthContext(context->auth_context().get());
  if (absl::Status s = RequireAdmin(caller, options_.admin_principals, "ImportNatsCache"); !s.ok()) {
    return Finish(context, s);
  }
  if (options_.cache == nullptr) {
    return Finish(context, absl::FailedPreconditionError(
                               "no OCSP cache is configured (no profile enables ocsp_peer): nothing to import into"));
  }
  if (options_.validator == nullptr) {
    return Finish(context, absl::FailedPreconditionError(
                               "this verifierd has no OCSP response validator for imports"));
  }
  if (request->issuers().empty()) {
    return Finish(context, absl::InvalidArgumentError(
                               "issuers is empty: every imported response is validated against the DER certificate "
                               "of the CA that issued the certificate it is about"));
  }
  for (int i = 0; i < request->issuers_size(); ++i) {
    absl::StatusOr<X509Ptr> issuer = ParseDerCertificate(request->issuers(i));
    if (!issuer.ok()) {
      return Finish(context, absl::InvalidArgumentError(absl::StrCat(
                                 "issuers[", i, "] is not one DER X.509 certificate: ", issuer.status().message())));
    }
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const bool queued = worker_->TrySchedule([this, reactor, request, response, label = caller.label] {
    auto finish = [&](const absl::Status& status) {
      reactor->Finish(grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message())));
    };
    absl::StatusOr<ParsedNatsCache> parsed = ParseNatsCacheJson(request->cache_json());
    if (!parsed.ok()) return finish(parsed.status());
    for (const std::string& line : parsed->rejections) AddRejection(line, response);
    const std::vector<std::string> issuers(request->issuers().begin(), request->issuers().end());
    for (const CachedResponse& claimed : parsed->entries) {
      const absl::Time now = options_.clock->Now();
      absl::StatusOr<CachedResponse> validated = options_.validator->Validate(claimed, issuers, now);
      if (!validated.ok()) {
        AddRejection(absl::StrCat(claimed.key, ": ", validated.status().message()), response);
        continue;
      }
      if (validated->resp_expires < now) {
        AddRejection(absl::StrCat(claimed.key, ": stale: the response expired at ",
                                  absl::FormatTime(absl::RFC3339_sec, validated->resp_expires, absl::UTCTimeZone())),
                     response);
        continue;
      }
      absl::StatusOr<std::optional<CachedResponse>> current = options_.cache->Peek(claimed.key);
      if (current.ok() && current->has_value() && (*current)->resp_expires > validated->resp_expires) {
        AddRejection(absl::StrCat(claimed.key, ": the cached response stays valid longer; kept"), response);
        continue;
      }
      if (absl::Status put = options_.cache->Put(*validated); !put.ok()) {
        AddRejection(absl::StrCat(claimed.key, ": ", put.message()), response);
        continue;
      }
      response->set_imported(response->imported() + 1);
    }
    if (response->rejected() > static_cast<int64_t>(response->rejections_size())) {
      response->add_rejections(
          absl::StrCat("... and ", response->rejected() - response->rejections_size(), " more rejections"));
    }
    if (response->imported() > 0) {
      if (absl::Status flushed = options_.cache->Flush(); !flushed.ok()) return finish(flushed);
    }
    LogInfo(absl::StrCat("audit: Cache/ImportNatsCache caller=", label, " imported=", response->imported(),
                         " rejected=", response->rejected()));
    finish(absl::OkStatus());
  }).ok();
  if (!queued) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "too many cache imports and exports are already running; retry later"));
  }
  return reactor;
}

grpc::ServerUnaryReactor* CacheService::ExportNatsCache(grpc::CallbackServerContext* context,
                                                        const v1::ExportNatsCacheRequest*,
                                                        v1::ExportNatsCacheResponse* response) {
  const Caller caller = CallerFromAuthContext(context->auth_context().get());
  if (absl::Status s = RequireAdmin(caller, options_.admin_principals, "ExportNatsCache"); !s.ok()) {
    return Finish(context, s);
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const bool queued = worker_->TrySchedule([this, reactor, response, label = caller.label] {
    auto finish = [&](const absl::Status& status) {
      reactor->Finish(grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message())));
    };
    std::vector<CachedResponse> entries;
    if (options_.cache != nullptr) {
      absl::StatusOr<std::vector<CachedResponse>> all = options_.cache->List(NatsCacheLimits().max_entries);
      if (!all.ok()) return finish(all.status());
      entries = *std::move(all);
    }
    absl::StatusOr<std::string> json = SerializeNatsCacheJson(entries);
    if (!json.ok()) return finish(json.status());
    response->set_cache_json(*std::move(json));
    LogInfo(absl::StrCat("audit: Cache/ExportNatsCache caller=", label, " entries=", entries.size()));
    finish(absl::OkStatus());
  }).ok();
  if (!queued) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "too many cache imports and exports are already running; retry later"));
  }
  return reactor;
}

}  // namespace sigil::cache
