#include "verifier/peer_verifier.h"

#include <openssl/x509v3.h>

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/logging.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"
#include "absl/strings/match.h"
#include "verifier/ocsp/ocsp_request.h"

namespace sigil::verifier {
namespace {

using cache::CachedResponse;

constexpr absl::string_view kClientReject = "client not OCSP valid";
constexpr absl::string_view kServerReject = "server not OCSP valid";

void Debug(absl::string_view message) { Log(LogLevel::kDebug, message); }

v1::OcspStatus ToProto(CachedResponse::Status status) {
  switch (status) {
    case CachedResponse::Status::kGood:
      return v1::GOOD;
    case CachedResponse::Status::kRevoked:
      return v1::REVOKED;
    case CachedResponse::Status::kUnknown:
      return v1::UNKNOWN;
  }
  return v1::UNKNOWN;
}

ocsp::ValidationOptions ValidationOptionsFor(const OcspPeerOptions& options) {
  ocsp::ValidationOptions out;
  out.allowed_clockskew = options.allowed_clockskew;
  out.ttl_when_next_update_unset = options.cache_ttl_when_next_update_unset;
  return out;
}

absl::Time NotAfter(X509* cert) {
  struct tm tm = {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return absl::InfiniteFuture();
  return absl::FromTimeT(timegm(&tm));
}

}  // namespace

// A parsed certificate and what identifies it, shared by every request that carries the same DER.
struct PeerVerifier::ParsedCertificate {
  X509Ptr cert;  // Read-only once remembered (its extension cache is filled before).
  std::string subject;
  std::string issuer_name;
  std::string fingerprint;        // CacheKey of the DER.
  std::vector<std::string> urls;  // http/https AIA OCSP URLs.
};

// One certificate of a chain and what identifies it.
struct PeerVerifier::Link {
  std::shared_ptr<const ParsedCertificate> parsed;  // Owns cert.
  X509* cert = nullptr;
  X509* issuer = nullptr;  // Borrowed from the next link; null for the last.
  std::string subject;
  std::string issuer_name;
  std::string fingerprint;         // CacheKey of the certificate.
  std::string issuer_fingerprint;  // CacheKey of the issuer; empty for the last link.
  std::vector<std::string> urls;   // http/https AIA OCSP URLs; empty for the last link.
  std::string MemoKey() const { return absl::StrCat(fingerprint, "|", issuer_fingerprint); }
};

struct PeerVerifier::LinkOutcome {
  v1::OcspStatus status = v1::NOT_CHECKED;
  v1::Source source = v1::NONE;
  bool valid = false;
  std::string failure;
};

struct PeerVerifier::Flight {
  absl::Notification done;
  absl::StatusOr<Fetched> result = absl::UnknownError("unset");
};

WriteCountingOcspCache::WriteCountingOcspCache(std::shared_ptr<cache::OcspCache> inner)
    : inner_(std::move(inner)), none_(inner_->Stats().cache_type == "none") {}

absl::StatusOr<std::optional<CachedResponse>> WriteCountingOcspCache::Get(const std::string& key) {
  return inner_->Get(key);
}

absl::Status WriteCountingOcspCache::Put(const CachedResponse& response) {
  absl::Status status = inner_->Put(response);
  writes_.fetch_add(1, std::memory_order_acq_rel);
  return status;
}

absl::Status WriteCountingOcspCache::Delete(const std::string& key) {
  absl::Status status = inner_->Delete(key);
  writes_.fetch_add(1, std::memory_order_acq_rel);
  return status;
}

absl::StatusOr<int64_t> WriteCountingOcspCache::Purge(const cache::PurgeFilter& filter) {
  absl::StatusOr<int64_t> removed = inner_->Purge(filter);
  writes_.fetch_add(1, std::memory_order_acq_rel);
  return removed;
}

absl::StatusOr<std::optional<CachedResponse>> WriteCountingOcspCache::Peek(const std::string& key) {
  return inner_->Peek(key);
}

absl::StatusOr<std::vector<CachedResponse>> WriteCountingOcspCache::List(size_t max_entries) {
  return inner_->List(max_entries);
}

cache::CacheStats WriteCountingOcspCache::Stats() {
  cache::CacheStats stats = inner_->Stats();
  (none_ ? stats.cache_misses : stats.cache_hits) += memory_lookups_.load(std::memory_order_relaxed);
  return stats;
}

absl::Status WriteCountingOcspCache::Flush() { return inner_->Flush(); }

PeerVerifier::PeerVerifier(std::map<std::string, OcspPeerOptions> profiles,
                           std::shared_ptr<cache::OcspCache> cache, std::shared_ptr<ocsp::HttpFetcher> fetcher,
                           std::shared_ptr<const cache::Clock> clock,
                           std::shared_ptr<advisories::AdvisorySink> advisories)
    : profiles_(std::move(profiles)),
      cache_(cache == nullptr ? nullptr : std::make_shared<WriteCountingOcspCache>(std::move(cache))),
      fetcher_(std::move(fetcher)),
      clock_(std::move(clock)),
      advisories_(std::move(advisories)) {}

absl::StatusOr<std::unique_ptr<PeerVerifier>> PeerVerifier::Create(std::map<std::string, OcspPeerOptions> profiles,
                                                                   std::shared_ptr<cache::OcspCache> cache,
                                                                   std::shared_ptr<ocsp::HttpFetcher> fetcher,
                                                                   std::shared_ptr<const cache::Clock> clock,
                                                                   std::shared_ptr<advisories::AdvisorySink> advisories) {
  if (clock == nullptr) return absl::InvalidArgumentError("PeerVerifier: a clock is required");
  for (const auto& [name, options] : profiles) {
    if (options.verify && (cache == nullptr || fetcher == nullptr)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "PeerVerifier: profile \"", name, "\" enables ocsp_peer but no response cache or fetcher was given"));
    }
  }
  return std::unique_ptr<PeerVerifier>(new PeerVerifier(std::move(profiles), std::move(cache), std::move(fetcher),
                                                        std::move(clock), std::move(advisories)));
}

absl::StatusOr<v1::VerifyPeerResponse> PeerVerifier::Verify(const v1::VerifyPeerRequest& request,
                                                            const v1::ServerInfo& caller) {
  SIGIL_ASSIGN_OR_RETURN(std::optional<v1::VerifyPeerResponse> response,
                         VerifyImpl(request, caller, /*memory_only=*/false));
  return *std::move(response);  // Always set when not memory_only.
}

std::optional<v1::VerifyPeerResponse> PeerVerifier::VerifyFromMemory(const v1::VerifyPeerRequest& request) {
  absl::StatusOr<std::optional<v1::VerifyPeerResponse>> response =
      VerifyImpl(request, v1::ServerInfo::default_instance(), /*memory_only=*/true);
  if (!response.ok()) return std::nullopt;  // Verify reports it.
  return *std::move(response);
}

absl::StatusOr<std::shared_ptr<const PeerVerifier::ParsedCertificate>> PeerVerifier::Certificate(
    absl::string_view der, bool memory_only) {
  {
    absl::ReaderMutexLock lock(&certs_mu_);
    auto it = certs_.find(der);  // By the DER itself: no SHA-256 per certificate on a hit.
    if (it != certs_.end()) return it->second;
  }
  if (memory_only) return nullptr;
  std::string fingerprint = cache::CacheKey(der);
  SIGIL_ASSIGN_OR_RETURN(X509Ptr cert, ParseDerCertificate(der));
  auto parsed = std::make_shared<ParsedCertificate>();
  // Fills the certificate's cached extensions now, so that concurrent readers later only read it.
  X509_check_purpose(cert.get(), -1, 0);
  ClearOpenSslErrors();
  parsed->subject = NameToString(X509_get_subject_name(cert.get()));
  parsed->issuer_name = NameToString(X509_get_issuer_name(cert.get()));
  parsed->urls = ocsp::WebOcspUrls(cert.get());
  parsed->fingerprint = std::move(fingerprint);
  parsed->cert = std::move(cert);
  absl::MutexLock lock(&certs_mu_);
  if (certs_.size() >= kMaxParsedCertificates) {
    certs_.clear();
    issued_.clear();
  }
  return certs_.emplace(std::string(der), parsed).first->second;
}

absl::StatusOr<std::optional<v1::VerifyPeerResponse>> PeerVerifier::VerifyImpl(const v1::VerifyPeerRequest& request,
                                                                               const v1::ServerInfo& caller,
                                                                               bool memory_only) {
  if (request.peer_role() != v1::CLIENT && request.peer_role() != v1::SERVER) {
    return absl::InvalidArgumentError("peer_role must be CLIENT or SERVER");
  }
  const std::string profile_name = request.profile().empty() ? "default" : request.profile();
  auto profile = profiles_.find(profile_name);
  if (profile == profiles_.end()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown profile \"", profile_name, "\""));
  }
  const OcspPeerOptions& options = profile->second;
  if (request.chains_size() == 0) return absl::InvalidArgumentError("no chains: the peer's verified chains are required");
  if (request.chains_size() > kMaxChains) {
    return absl::InvalidArgumentError(absl::StrCat("more than ", kMaxChains, " chains"));
  }

  // Parse everything first: a bad request fails as a whole, before any network traffic.
  std::vector<std::vector<Link>> chains(request.chains_size());
  for (int c = 0; c < request.chains_size(); ++c) {
    const v1::Chain& chain = request.chains(c);
    if (chain.certificates_size() == 0) return absl::InvalidArgumentError(absl::StrCat("chain [", c, "] is empty"));
    if (chain.certificates_size() > kMaxLinks) {
      return absl::InvalidArgumentError(absl::StrCat("chain [", c, "] has more than ", kMaxLinks, " links"));
    }
    std::vector<Link>& links = chains[c];
    links.resize(chain.certificates_size());
    for (int i = 0; i < chain.certificates_size(); ++i) {
      auto cert = Certificate(chain.certificates(i), memory_only);
      if (!cert.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("chain [", c, "] link [", i, "]: ", cert.status().message()));
      }
      if (*cert == nullptr) return std::nullopt;  // memory_only: never seen.
      Link& link = links[i];
      link.parsed = *std::move(cert);
      link.cert = link.parsed->cert.get();
      link.subject = link.parsed->subject;
      link.issuer_name = link.parsed->issuer_name;
      link.fingerprint = link.parsed->fingerprint;
    }
    for (size_t i = 0; i + 1 < links.size(); ++i) {
      links[i].issuer = links[i + 1].cert;
      links[i].issuer_fingerprint = links[i + 1].fingerprint;
      const std::string key = links[i].MemoKey();
      bool checked = false;
      {
        absl::ReaderMutexLock lock(&certs_mu_);
        checked = issued_.contains(key);
      }
      if (!checked) {
        if (memory_only) return std::nullopt;
        if (X509_check_issued(links[i].issuer, links[i].cert) != X509_V_OK) {
          ClearOpenSslErrors();
          return absl::InvalidArgumentError(
              absl::StrCat("chain [", c, "] link [", i, "] is not issued by link [", i + 1, "]"));
        }
        absl::MutexLock lock(&certs_mu_);
        issued_.insert(key);
      }
      links[i].urls = links[i].parsed->urls;
    }
  }

  v1::VerifyPeerResponse response;
  for (const auto& links : chains) {
    v1::ChainResult* result = response.add_chains();
    for (const Link& link : links) {
      v1::Link* out = result->add_links();
      out->set_subject(link.subject);
      out->set_issuer(link.issuer_name);
      out->set_fingerprint(link.fingerprint);
      out->set_status(v1::NOT_CHECKED);
      out->set_source(v1::NONE);
    }
  }
  if (!options.verify) {
    response.set_allowed(true);
    return response;
  }

  const bool client = request.peer_role() == v1::CLIENT;
  int64_t memory_lookups = 0;  // memory_only: the cache Gets answered from memory.
  Debug(absl::StrCat("Peer OCSP enabled: ", chains.size(), " TLS ", client ? "client" : "server",
                     " chain(s) will be evaluated"));
  bool allowed = false;
  std::vector<InvalidLink> invalid;
  for (size_t c = 0; c < chains.size() && !allowed; ++c) {
    const std::vector<Link>& links = chains[c];
    v1::ChainResult* result = response.mutable_chains(static_cast<int>(c));
    Debug(absl::StrCat("Chain [", c, "]: ", links.size(), " total link(s)"));
    if (links.size() == 1) {
      Debug(absl::StrCat("Chain [", c, "] is self-signed, thus peer is valid"));
      result->mutable_links(0)->set_valid(true);
      result->set_valid(true);
      allowed = true;
      break;
    }
    int eligible = 0;
    for (size_t i = 0; i + 1 < links.size(); ++i) eligible += links[i].urls.empty() ? 0 : 1;
    if (eligible == 0) {
      Debug(absl::StrCat("Chain [", c, "] has no OCSP eligible links, thus peer is valid"));
      for (v1::Link& link : *result->mutable_links()) link.set_valid(true);
      result->set_valid(true);
      allowed = true;
      break;
    }
    Debug(absl::StrCat("Chain [", c, "] has ", eligible, " OCSP eligible link(s)"));
    bool chain_valid = true;
    for (size_t i = 0; i < links.size(); ++i) {
      v1::Link* out = result->mutable_links(static_cast<int>(i));
      if (i + 1 == links.size() || links[i].urls.empty()) {
        out->set_valid(true);  // Not eligible, or the trust anchor: nothing to check.
        continue;
      }
      LinkOutcome outcome;
      if (memory_only) {
        std::optional<LinkOutcome> remembered = EvaluateLinkFromMemory(links[i], options);
        if (!remembered.has_value()) return std::nullopt;  // Needs the cache or a fetch, or is invalid.
        outcome = *std::move(remembered);
        ++memory_lookups;
      } else {
        outcome = EvaluateLink(links[i], options);
      }
      out->set_status(outcome.status);
      out->set_source(outcome.source);
      out->set_valid(outcome.valid);
      out->set_failure(outcome.failure);
      if (!outcome.valid) {
        Debug(outcome.failure);
        invalid.push_back(InvalidLink{static_cast<int>(c), static_cast<int>(i), outcome.failure, clock_->Now()});
        if (options.warn_only) {
          LogWarning(absl::StrCat("OCSP verify fail for [", links[i].subject, "] but WarnOnly is true so allowing"));
        }
        chain_valid = false;
        break;
      }
    }
    if (chain_valid) {
      Debug(absl::StrCat("Chain [", c, "] is OCSP valid for all eligible links, thus peer is valid"));
      result->set_valid(true);
      allowed = true;
    }
  }
  if (!allowed && memory_only) return std::nullopt;  // Rejections (and warn_only) are Verify's.
  if (!allowed) {
    Debug("No OCSP valid chains, thus peer is invalid");
    const absl::string_view reason = client ? kClientReject : kServerReject;
    response.set_reason(std::string(reason));
    LogError(absl::StrCat(request.kind().empty() ? "Peer" : request.kind(), " [", chains[0][0].subject,
                          "] - TLS handshake error: ", reason, options.warn_only ? " (allowed: warn_only)" : ""));
    allowed = options.warn_only;
    if (advisories_ != nullptr) {
      EmitAdvisories(request, request.has_server() ? request.server() : caller, invalid, !allowed, allowed, reason);
    }
  } else if (advisories_ != nullptr && !invalid.empty()) {
    // Allowed by a later chain: the invalid links of earlier chains are still reported (as the reference).
    EmitAdvisories(request, request.has_server() ? request.server() : caller, invalid, false, false, "");
  }
  response.set_allowed(allowed);
  if (memory_only && cache_ != nullptr) cache_->CountMemoryLookups(memory_lookups);
  return response;
}

void PeerVerifier::EmitAdvisories(const v1::VerifyPeerRequest& request, const v1::ServerInfo& server,
                                  const std::vector<InvalidLink>& invalid, bool rejected, bool allowed_by_warn_only,
                                  absl::string_view reason) {
  // The certificates parsed before evaluation, so describing them cannot fail; a failure skips the event.
  auto describe = [&](int c, int i) { return advisories::DescribeCertificate(request.chains(c).certificates(i)); };
  for (const InvalidLink& link : invalid) {
    auto cert = describe(link.chain, link.link);
    auto peer = describe(link.chain, 0);
    if (!cert.ok() || !peer.ok()) continue;
    advisories_->Emit(advisories::BuildLinkInvalid(
        {*std::move(cert), *std::move(peer), server, link.failure, link.time, allowed_by_warn_only}));
  }
  if (!rejected) return;
  auto peer = describe(0, 0);
  if (!peer.ok()) return;
  advisories_->Emit(advisories::BuildPeerReject({*std::move(peer), request.kind(), server, std::string(reason), clock_->Now()}));
}

PeerVerifier::LinkOutcome PeerVerifier::EvaluateLink(const Link& link, const OcspPeerOptions& options) {
  LinkOutcome outcome;
  const absl::Time now = clock_->Now();
  bool cached_revocation = false;
  std::optional<ocsp::ValidatedResponse> current;

  // What answered (the DER `current` came from), to confirm the memo entry when the link turns out good.
  const std::string* answer_der = nullptr;
  std::optional<Fetched> fetched_answer;
  const uint64_t writes_before = cache_->writes();

  // 1. The cache.
  Debug(absl::StrCat("Checking OCSP peer cache for [", link.subject, "], key [", link.fingerprint, "]"));
  absl::StatusOr<std::optional<CachedResponse>> cached = cache_->Get(link.fingerprint);
  if (!cached.ok()) {
    LogWarning(absl::StrCat("OCSP peer cache lookup for key [", link.fingerprint, "] failed: ",
                            cached.status().ToString()));
  } else if (!cached->has_value()) {
    Debug(absl::StrCat("OCSP peer cache miss for key [", link.fingerprint, "]"));
  } else {
    const CachedResponse& entry = **cached;
    Debug(absl::StrCat("OCSP peer cache hit for key [", link.fingerprint, "]"));
    absl::StatusOr<ocsp::ValidatedResponse> v = Validate(link, entry.response_der, now, options);
    if (v.ok()) {
      Debug(absl::StrCat("Cached OCSP response is current, status [", cache::ResponseStatusName(v->status), "]"));
      current = *v;
      answer_der = &entry.response_der;
      cached_revocation = v->status == CachedResponse::Status::kRevoked;
    } else if (v.status().code() == absl::StatusCode::kFailedPrecondition) {
      // Out of its window. Was it a genuine revocation when it was cached? Then it is remembered.
      ocsp::ValidationOptions then = ValidationOptionsFor(options);
      then.check_effectivity = false;
      auto genuine = ocsp::ValidateResponse(entry.response_der, link.cert, link.issuer, entry.cached_at, then);
      const bool revoked = genuine.ok() && genuine->status == CachedResponse::Status::kRevoked;
      cached_revocation = revoked;
      Debug(absl::StrCat("Cached OCSP response is expired, status [",
                         genuine.ok() ? cache::ResponseStatusName(genuine->status) : "invalid", "]"));
    } else {
      Debug(absl::StrCat("Invalid cached OCSP response for [", link.subject, "] with fingerprint [",
                         link.fingerprint, "]: ", v.status().message()));
    }
  }

  // 2. The responder, when the cache had nothing current.
  outcome.source = v1::CACHE;
  if (!current.has_value()) {
    absl::StatusOr<Fetched> fetched = SharedFetch(link, options);
    if (!fetched.ok()) {
      LogWarning(absl::StrCat("Attempt to obtain OCSP response from CA responder for [", link.subject,
                              "] failed: ", fetched.status().message()));
      if (options.allow_when_ca_unreachable && !cached_revocation) {
        LogWarning(absl::StrCat("Failed to obtain OCSP CA response for [", link.subject,
                                "] but AllowWhenCAUnreachable set; no cached revocation so allowing"));
        outcome.status = v1::NO_RESPONSE;
        outcome.source = v1::NONE;
        outcome.valid = true;
        return outcome;
      }
      if (options.allow_when_ca_unreachable) {
        LogWarning(absl::StrCat("Failed to obtain OCSP CA response for [", link.subject,
                                "] but AllowWhenCAUnreachable set; cached revocation exists so rejecting"));
        outcome.status = v1::REVOKED;
        outcome.source = v1::CACHE;
        outcome.failure = absl::StrCat(ocsp::kResponseInvalidStatus, ": revoked");
        return outcome;
      }
      outcome.status = v1::NO_RESPONSE;
      outcome.source = v1::NONE;
      outcome.failure = std::string(ocsp::kFailedResponseFetch);
      return outcome;
    }
    outcome.source = fetched->from_memory ? v1::CACHE : v1::RESPONDER;
    absl::StatusOr<ocsp::ValidatedResponse> v = Validate(link, fetched->der, now, options);
    if (!v.ok()) {
      if (v.status().code() == absl::StatusCode::kFailedPrecondition) {
        LogWarning(absl::StrCat("New OCSP CA response obtained for [", link.subject, "] but not current"));
      } else if (absl::StartsWith(v.status().message(), ocsp::kResponseDelegationInvalid)) {
        LogWarning(absl::StrCat(v.status().message(), " for [", link.subject, "]"));
      } else {
        LogError(absl::StrCat("Could not parse OCSP CA response for [", link.subject, "]: ", v.status().message()));
      }
      outcome.status = v1::NO_RESPONSE;
      outcome.failure = std::string(v.status().message());
      return outcome;
    }
    current = *v;
    fetched_answer = *std::move(fetched);
    answer_der = &fetched_answer->der;
  }

  // 3. The status.
  outcome.status = ToProto(current->status);
  const bool good = current->status == CachedResponse::Status::kGood ||
                    (current->status == CachedResponse::Status::kUnknown && options.unknown_is_good);
  if (!good) {
    const absl::string_view name = cache::ResponseStatusName(current->status);
    LogWarning(absl::StrCat("OCSP verify fail for [", link.subject, "] with CA status [", name, "]"));
    outcome.failure = absl::StrCat(ocsp::kResponseInvalidStatus, ": ", name);
    return outcome;
  }
  Debug(absl::StrCat("OCSP verify pass for [", link.subject, "]"));
  outcome.valid = true;
  // A fetched response was just Put (a write after writes_before): only a later verification confirms it.
  if (answer_der != nullptr) MemoConfirm(link, *answer_der, writes_before);
  return outcome;
}

std::optional<PeerVerifier::LinkOutcome> PeerVerifier::EvaluateLinkFromMemory(const Link& link,
                                                                              const OcspPeerOptions& options) {
  const uint64_t writes = cache_->writes();
  const absl::Time now = clock_->Now();
  const std::string key = link.MemoKey();
  ocsp::ValidatedResponse v;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = memo_.find(key);
    if (it == memo_.end() || it->second.confirmed_at_writes != writes) return std::nullopt;
    v = it->second.validated;
  }
  // MemoLookup's window test, and no later than the cache would keep the response (it evicts at expiry,
  // without skew): then Verify would read the same bytes from the cache and reach the same verdict.
  const absl::Duration skew = options.allowed_clockskew;
  v.expires = v.next_update.value_or(v.this_update + options.cache_ttl_when_next_update_unset);
  if (v.expires < now - skew || v.this_update > now + skew || now > v.signer_not_after) return std::nullopt;
  if (now > v.expires) return std::nullopt;
  const bool good = v.status == CachedResponse::Status::kGood ||
                    (v.status == CachedResponse::Status::kUnknown && options.unknown_is_good);
  if (!good) return std::nullopt;  // Verify logs the failure.
  // The lines Verify logs for a current cached response.
  Debug(absl::StrCat("Checking OCSP peer cache for [", link.subject, "], key [", link.fingerprint, "]"));
  Debug(absl::StrCat("OCSP peer cache hit for key [", link.fingerprint, "]"));
  Debug(absl::StrCat("Cached OCSP response is current, status [", cache::ResponseStatusName(v.status), "]"));
  Debug(absl::StrCat("OCSP verify pass for [", link.subject, "]"));
  LinkOutcome outcome;
  outcome.status = ToProto(v.status);
  outcome.source = v1::CACHE;
  outcome.valid = true;
  return outcome;
}

void PeerVerifier::MemoConfirm(const Link& link, const std::string& der, uint64_t writes) {
  absl::MutexLock lock(&mu_);
  auto it = memo_.find(link.MemoKey());
  if (it != memo_.end() && it->second.response_der == der) it->second.confirmed_at_writes = writes;
}

absl::StatusOr<ocsp::ValidatedResponse> PeerVerifier::Validate(const Link& link, const std::string& der,
                                                               absl::Time now, const OcspPeerOptions& options) {
  const std::string key = link.MemoKey();
  if (std::optional<ocsp::ValidatedResponse> hit = MemoLookup(key, der, now, options); hit.has_value()) return *hit;
  absl::StatusOr<ocsp::ValidatedResponse> v =
      ocsp::ValidateResponse(der, link.cert, link.issuer, now, ValidationOptionsFor(options));
  if (v.ok()) MemoStore(key, der, *v);
  return v;
}

std::optional<ocsp::ValidatedResponse> PeerVerifier::MemoLookup(const std::string& memo_key, const std::string& der,
                                                                absl::Time now, const OcspPeerOptions& options) {
  ocsp::ValidatedResponse v;
  {
    absl::MutexLock lock(&mu_);
    auto it = memo_.find(memo_key);
    if (it == memo_.end() || it->second.response_der != der) return std::nullopt;
    v = it->second.validated;
  }
  // The same window test as ValidateResponse, with this profile's skew and TTL.
  const absl::Duration skew = options.allowed_clockskew;
  v.expires = v.next_update.value_or(v.this_update + options.cache_ttl_when_next_update_unset);
  if (v.expires < now - skew || v.this_update > now + skew || now > v.signer_not_after) return std::nullopt;
  return v;
}

void PeerVerifier::MemoStore(const std::string& memo_key, const std::string& der, const ocsp::ValidatedResponse& v) {
  absl::MutexLock lock(&mu_);
  if (memo_.size() >= kMaxMemoEntries && memo_.find(memo_key) == memo_.end()) memo_.clear();
  memo_[memo_key] = MemoEntry{der, v};
}

absl::StatusOr<PeerVerifier::Fetched> PeerVerifier::SharedFetch(const Link& link, const OcspPeerOptions& options) {
  const std::string key = link.MemoKey();
  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    absl::MutexLock lock(&mu_);
    std::shared_ptr<Flight>& slot = flights_[key];
    if (slot == nullptr) {
      slot = std::make_shared<Flight>();
      leader = true;
    }
    flight = slot;
  }
  if (!leader) {
    // Bounded: the leader's fetch ends within its ca_timeout.
    flight->done.WaitForNotification();
    return flight->result;
  }
  flight->result = LeaderFetch(link, options);
  {
    absl::MutexLock lock(&mu_);
    flights_.erase(key);
  }
  flight->done.Notify();
  return flight->result;
}

absl::StatusOr<PeerVerifier::Fetched> PeerVerifier::LeaderFetch(const Link& link, const OcspPeerOptions& options) {
  const absl::Time now = clock_->Now();
  // A flight that ended between our cache miss and now has left its verdict in memory: use it.
  {
    std::string der;
    {
      absl::MutexLock lock(&mu_);
      auto it = memo_.find(link.MemoKey());
      if (it != memo_.end()) der = it->second.response_der;
    }
    if (!der.empty() && MemoLookup(link.MemoKey(), der, now, options).has_value()) {
      return Fetched{std::move(der), /*from_memory=*/true};
    }
  }
  SIGIL_ASSIGN_OR_RETURN(std::string request, ocsp::BuildRequestDer(link.cert, link.issuer, options.cert_id_digest));
  SIGIL_ASSIGN_OR_RETURN(std::string der, ocsp::FetchOcspResponse(*fetcher_, link.urls, request, options.ca_timeout,
                                                                  options.max_response_bytes));
  // Store a valid answer (validation errors are reported by each caller's own Validate).
  absl::StatusOr<ocsp::ValidatedResponse> v = Validate(link, der, now, options);
  if (v.ok()) {
    CachedResponse entry;
    entry.key = link.fingerprint;
    entry.response_der = der;
    entry.subject = link.subject;
    entry.cached_at = now;
    entry.resp_status = v->status;
    entry.resp_expires = v->expires;
    entry.issuer_fingerprint = link.issuer_fingerprint;
    entry.issuer_subject = link.issuer_name;
    entry.cert_not_after = NotAfter(link.cert);
    Debug(absl::StrCat("Caching OCSP response for [", link.subject, "], key [", link.fingerprint, "]"));
    if (absl::Status put = cache_->Put(entry); !put.ok()) {
      LogWarning(absl::StrCat("Unable to cache OCSP response for key [", link.fingerprint, "]: ", put.ToString()));
    }
  }
  return Fetched{std::move(der), /*from_memory=*/false};
}

}  // namespace sigil::verifier
