#include "verifier/stapling/staple_manager.h"

#include <fcntl.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cache/ocsp_cache.h"
#include "common/logging.h"
#include "verifier/ocsp/ocsp_request.h"
#include "verifier/stapling/certificates.h"

namespace sigil::verifier::stapling {
namespace {

using cache::CachedResponse;

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

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t nanos = absl::ToUnixNanos(t);
  int64_t seconds = nanos / 1000000000;
  int64_t rest = nanos % 1000000000;
  if (rest < 0) rest += 1000000000, seconds -= 1;
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rest));
}

absl::Status MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("cannot create [", path, "]: ", strerror(errno)));
}

// Writes `data` to `path` atomically: a temporary file in the same directory, fsync, rename, fsync of the
// directory. A crash leaves either the old file or the new one, never a torn one.
absl::Status WriteAtomically(const std::string& dir, const std::string& path, absl::string_view data) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("open [", tmp, "]: ", strerror(errno)));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      close(fd);
      unlink(tmp.c_str());
      return absl::InternalError(absl::StrCat("write [", tmp, "]: ", strerror(e)));
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("fsync [", tmp, "]: ", strerror(errno)));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("rename to [", path, "]: ", strerror(e)));
  }
  const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return absl::OkStatus();
}

}  // namespace

// One registered (leaf, issuer, responder URLs). Fields after `urls` are guarded by StapleManager::mu_.
struct StapleManager::Entry {
  X509Ptr leaf;
  X509Ptr issuer;
  std::string subject;
  std::vector<std::string> urls;
  std::string file;  // Persistence path; empty when not persisted.

  std::string der;                                // Current staple; empty when none.
  std::optional<ocsp::ValidatedResponse> current;  // Its validation.
  absl::Time next_refresh = absl::InfinitePast();
  int failures = 0;
  bool refreshing = false;
};

StapleManager::StapleManager(StapleManagerOptions options, std::shared_ptr<ocsp::HttpFetcher> fetcher,
                             std::shared_ptr<const cache::Clock> clock)
    : options_(std::move(options)),
      fetcher_(std::move(fetcher)),
      clock_(std::move(clock)),
      staples_dir_(options_.store_dir.empty() ? "" : options_.store_dir + "/staples") {}

absl::StatusOr<std::unique_ptr<StapleManager>> StapleManager::Create(StapleManagerOptions options,
                                                                     std::shared_ptr<ocsp::HttpFetcher> fetcher,
                                                                     std::shared_ptr<const cache::Clock> clock) {
  if (fetcher == nullptr || clock == nullptr) {
    return absl::InvalidArgumentError("StapleManager: a fetcher and a clock are required");
  }
  if (options.profiles.count("default") == 0) options.profiles["default"] = StapleProfile{};
  if (!options.store_dir.empty()) {
    if (absl::Status s = MakeDir(options.store_dir); !s.ok()) return s;
    if (absl::Status s = MakeDir(options.store_dir + "/staples"); !s.ok()) return s;
  }
  const bool start = options.start_refresh_thread;
  auto manager = std::unique_ptr<StapleManager>(new StapleManager(std::move(options), std::move(fetcher), std::move(clock)));
  if (start) manager->refresher_ = std::thread([m = manager.get()] { m->RefreshLoop(); });
  return manager;
}

StapleManager::~StapleManager() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (refresher_.joinable()) refresher_.join();
}

absl::StatusOr<v1::GetStapleResponse> StapleManager::GetStaple(const v1::GetStapleRequest& request) {
  absl::StatusOr<std::vector<X509Ptr>> chain = ParseChain(request.certificates());
  if (!chain.ok()) return chain.status();
  const std::string profile_name = request.profile().empty() ? "default" : request.profile();
  auto profile = options_.profiles.find(profile_name);
  if (profile == options_.profiles.end()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown profile \"", profile_name, "\""));
  }
  const v1::StapleMode mode = request.mode() != v1::STAPLE_MODE_UNSPECIFIED ? request.mode() : profile->second.mode;
  if (!v1::StapleMode_IsValid(mode)) return absl::InvalidArgumentError("unknown staple mode");
  X509* leaf = (*chain)[0].get();
  v1::GetStapleResponse none;
  none.set_status(v1::NOT_CHECKED);
  if (!ModeStaples(mode, HasMustStaple(leaf))) return none;

  absl::StatusOr<X509*> issuer = FindIssuer(*chain);
  if (!issuer.ok()) return issuer.status();
  const std::string subject = NameToString(X509_get_subject_name(leaf));
  std::vector<std::string> urls;
  const std::string& override_url = request.url().empty() ? profile->second.url : request.url();
  if (!override_url.empty()) {
    urls.push_back(override_url);
  } else {
    urls = ocsp::WebOcspUrls(leaf);
  }
  if (urls.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no OCSP responder for [", subject, "]: the certificate has no http(s) AIA OCSP URL and no ocsp.url is set"));
  }
  const std::string leaf_der = CertificateDer(leaf);
  const std::string issuer_der = CertificateDer(*issuer);
  const std::string key = absl::StrCat(cache::CacheKey(leaf_der), "|", cache::CacheKey(issuer_der), "|",
                                       absl::StrJoin(urls, " "));

  std::shared_ptr<Entry> entry;
  bool created = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      entry = it->second;
    } else {
      if (entries_.size() >= options_.max_entries) {
        return absl::ResourceExhaustedError(
            absl::StrCat("more than ", options_.max_entries, " certificates registered for stapling"));
      }
      entry = std::make_shared<Entry>();
      entry->leaf = X509Ptr(X509_dup(leaf));
      entry->issuer = X509Ptr(X509_dup(*issuer));
      entry->subject = subject;
      entry->urls = urls;
      if (!staples_dir_.empty()) {
        // The file name is a digest of the registration key: stable across restarts, safe as a path.
        unsigned char digest[SHA256_DIGEST_LENGTH];
        SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
        entry->file = absl::StrCat(
            staples_dir_, "/", absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), sizeof(digest))),
            ".der");
      }
      entry->refreshing = true;  // This caller loads or fetches before anyone else looks.
      entries_[key] = entry;
      created = true;
    }
  }
  if (created) {
    LogInfo(absl::StrCat("Registered [", subject, "] for OCSP stapling from [", absl::StrJoin(urls, ", "), "]"));
    std::string der;
    std::optional<ocsp::ValidatedResponse> persisted = LoadPersisted(*entry, &der);
    if (persisted.has_value()) {
      absl::MutexLock lock(&mu_);
      entry->der = std::move(der);
      entry->current = persisted;
      const absl::Time now = clock_->Now();
      entry->next_refresh = now + std::max(options_.min_refresh_delay, Jittered((persisted->expires - now) / 2));
      entry->refreshing = false;
      wake_ = true;
    } else {
      Refresh(*entry);
    }
  }
  absl::MutexLock lock(&mu_);
  // A concurrent first call is loading or fetching: its result is ours (bounded by fetch_timeout).
  auto settled = [&entry]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !entry->refreshing || entry->current.has_value(); };
  mu_.Await(absl::Condition(&settled));
  return Answer(*entry, mode, clock_->Now());
}

v1::GetStapleResponse StapleManager::Answer(const Entry& entry, v1::StapleMode mode, absl::Time now) const {
  v1::GetStapleResponse response;
  if (entry.next_refresh != absl::InfinitePast() && entry.next_refresh != absl::InfiniteFuture()) {
    SetTimestamp(entry.next_refresh, response.mutable_next_refresh());
  }
  const bool valid = entry.current.has_value() && entry.current->expires + options_.allowed_clockskew >= now &&
                     entry.current->this_update <= now + options_.allowed_clockskew;
  if (!valid) {
    response.set_status(v1::NO_RESPONSE);
    return response;
  }
  const ocsp::ValidatedResponse& v = *entry.current;
  response.set_staple(entry.der);
  response.set_status(ToProto(v.status));
  SetTimestamp(v.this_update, response.mutable_this_update());
  if (v.next_update.has_value()) SetTimestamp(*v.next_update, response.mutable_next_update());
  response.set_must_stop_serving(ModeStopsServing(mode) && v.status != CachedResponse::Status::kGood);
  return response;
}

void StapleManager::Refresh(Entry& entry) {
  ocsp::ValidationOptions validation;
  validation.allowed_clockskew = options_.allowed_clockskew;
  validation.ttl_when_next_update_unset = options_.ttl_when_next_update_unset;
  absl::StatusOr<ocsp::ValidatedResponse> validated = absl::UnknownError("not fetched");
  std::string der;
  absl::StatusOr<std::string> request = ocsp::BuildRequestDer(entry.leaf.get(), entry.issuer.get(), EVP_sha1());
  if (!request.ok()) {
    validated = request.status();
  } else {
    absl::StatusOr<std::string> fetched =
        ocsp::FetchOcspResponse(*fetcher_, entry.urls, *request, options_.fetch_timeout, options_.max_response_bytes,
                                ocsp::FetchOrder::kPostFirst);
    if (!fetched.ok()) {
      validated = absl::Status(fetched.status().code(),
                               absl::StrCat(ocsp::kFailedResponseFetch, ": ", fetched.status().message()));
    } else {
      der = *std::move(fetched);
      validated = ocsp::ValidateResponse(der, entry.leaf.get(), entry.issuer.get(), clock_->Now(), validation);
    }
  }

  bool adopted = false;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    if (validated.ok()) {
      // A valid answer older than the staple we have (a responder's stale pre-signed copy) is not adopted.
      const bool older = entry.current.has_value() && validated->this_update < entry.current->this_update &&
                         entry.current->expires + options_.allowed_clockskew >= now;
      if (!older) {
        entry.der = der;
        entry.current = *validated;
        adopted = true;
      }
      entry.failures = 0;
      const absl::Time expires = entry.current->expires;
      entry.next_refresh = now + std::max(options_.min_refresh_delay, Jittered((expires - now) / 2));
    } else {
      ++entry.failures;
      absl::Duration backoff = options_.min_backoff;
      for (int i = 1; i < entry.failures && backoff < options_.max_backoff; ++i) backoff *= 2;
      backoff = std::min(backoff, options_.max_backoff);
      entry.next_refresh = now + Jittered(backoff);
    }
    entry.refreshing = false;
    wake_ = true;
  }
  if (validated.ok()) {
    LogInfo(absl::StrCat("OCSP staple for [", entry.subject, "] ", adopted ? "refreshed" : "kept (newer than the answer)",
                         ", status [", cache::ResponseStatusName(validated->status), "]"));
    if (validated->status == CachedResponse::Status::kRevoked) {
      LogError(absl::StrCat("OCSP staple for [", entry.subject, "] says the certificate is revoked"));
    }
    if (adopted) Persist(entry, der);
  } else {
    LogWarning(absl::StrCat("OCSP staple refresh for [", entry.subject, "] failed (attempt ", entry.failures,
                            "; keeping the current staple): ", validated.status().message()));
  }
}

std::optional<ocsp::ValidatedResponse> StapleManager::LoadPersisted(Entry& entry, std::string* der) {
  if (entry.file.empty()) return std::nullopt;
  absl::StatusOr<std::string> data = ReadFileToString(entry.file, options_.max_response_bytes);
  if (!data.ok()) {
    if (data.status().code() != absl::StatusCode::kNotFound) {
      LogWarning(absl::StrCat("Unable to read persisted OCSP staple [", entry.file, "]: ", data.status().message()));
    }
    return std::nullopt;
  }
  ocsp::ValidationOptions validation;
  validation.allowed_clockskew = options_.allowed_clockskew;
  validation.ttl_when_next_update_unset = options_.ttl_when_next_update_unset;
  absl::StatusOr<ocsp::ValidatedResponse> v =
      ocsp::ValidateResponse(*data, entry.leaf.get(), entry.issuer.get(), clock_->Now(), validation);
  if (!v.ok()) {
    LogInfo(absl::StrCat("Persisted OCSP staple for [", entry.subject, "] not usable: ", v.status().message()));
    return std::nullopt;
  }
  LogInfo(absl::StrCat("Loaded persisted OCSP staple for [", entry.subject, "], status [",
                       cache::ResponseStatusName(v->status), "]"));
  *der = *std::move(data);
  return *v;
}

void StapleManager::Persist(const Entry& entry, const std::string& der) {
  if (entry.file.empty()) return;
  if (absl::Status s = WriteAtomically(staples_dir_, entry.file, der); !s.ok()) {
    LogWarning(absl::StrCat("Unable to persist OCSP staple for [", entry.subject, "]: ", s.message()));
  }
}

absl::Duration StapleManager::Jittered(absl::Duration d) {
  if (options_.jitter <= 0) return d;
  const double factor = absl::Uniform(random_, 1.0 - options_.jitter, 1.0 + options_.jitter);
  return d * factor;
}

int StapleManager::RefreshDue() {
  std::vector<std::shared_ptr<Entry>> due;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_->Now();
    for (auto& [key, entry] : entries_) {
      if (!entry->refreshing && entry->next_refresh <= now) {
        entry->refreshing = true;
        due.push_back(entry);
      }
    }
  }
  for (const auto& entry : due) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        entry->refreshing = false;
        continue;
      }
    }
    Refresh(*entry);
  }
  return static_cast<int>(due.size());
}

absl::Time StapleManager::NextRefresh() const {
  absl::MutexLock lock(&mu_);
  absl::Time next = absl::InfiniteFuture();
  for (const auto& [key, entry] : entries_) next = std::min(next, entry->next_refresh);
  return next;
}

size_t StapleManager::registered() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

std::vector<StapleManager::StapleState> StapleManager::Snapshot() const {
  absl::MutexLock lock(&mu_);
  std::vector<StapleState> out;
  out.reserve(entries_.size());
  for (const auto& [key, entry] : entries_) {
    StapleState state;
    state.subject = entry->subject;
    BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(entry->leaf.get()), nullptr));
    char* hex = serial == nullptr ? nullptr : BN_bn2hex(serial.get());
    if (hex != nullptr) {
      state.serial = hex;
      OPENSSL_free(hex);
    }
    state.has_staple = entry->current.has_value();
    if (state.has_staple) state.this_update = entry->current->this_update;
    state.next_refresh = entry->next_refresh;
    out.push_back(std::move(state));
  }
  return out;
}

void StapleManager::RefreshLoop() {
  while (true) {
    RefreshDue();
    const absl::Duration until = NextRefresh() - clock_->Now();
    // Sleep until the next refresh is due, a registration changes it, or stop; at most 30 s, so a clock
    // that jumps is noticed.
    const absl::Duration wait = std::clamp(until, absl::Milliseconds(50), absl::Seconds(30));
    absl::MutexLock lock(&mu_);
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || wake_; };
    mu_.AwaitWithTimeout(absl::Condition(&woken), wait);
    if (stopping_) return;
    wake_ = false;
  }
}

}  // namespace sigil::verifier::stapling
