#include "cache/rocksdb_cache.h"

#include <rocksdb/compaction_filter.h>
#include <rocksdb/convenience.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cache/rocksdb_status.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "google/protobuf/timestamp.pb.h"
#include "sigil/cache/v1/record.pb.h"

namespace sigil::cache {
namespace {

using Status = CachedResponse::Status;

void ToTimestamp(absl::Time t, google::protobuf::Timestamp* ts) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts->set_seconds(seconds);
  ts->set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

v1::RecordStatus ToRecordStatus(Status status) {
  switch (status) {
    case Status::kGood:
      return v1::RECORD_STATUS_GOOD;
    case Status::kRevoked:
      return v1::RECORD_STATUS_REVOKED;
    case Status::kUnknown:
      return v1::RECORD_STATUS_UNKNOWN;
  }
  return v1::RECORD_STATUS_UNSPECIFIED;
}

std::string Encode(const CachedResponse& r) {
  v1::CacheRecord record;
  record.set_resp(r.response_der);
  record.set_subject(r.subject);
  ToTimestamp(r.cached_at, record.mutable_cached_at());
  record.set_resp_status(ToRecordStatus(r.resp_status));
  ToTimestamp(r.resp_expires, record.mutable_resp_expires());
  record.set_issuer_fingerprint(r.issuer_fingerprint);
  record.set_issuer_subject(r.issuer_subject);
  if (r.cert_not_after != absl::InfiniteFuture()) ToTimestamp(r.cert_not_after, record.mutable_cert_not_after());
  return record.SerializeAsString();
}

// Decodes a stored value. DATA_LOSS when it is not a CacheRecord with a known status.
absl::StatusOr<CachedResponse> Decode(const std::string& key, absl::string_view value) {
  v1::CacheRecord record;
  if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError(absl::StrCat("OCSP cache entry ", key, " is not a valid CacheRecord"));
  }
  CachedResponse r;
  switch (record.resp_status()) {
    case v1::RECORD_STATUS_GOOD:
      r.resp_status = Status::kGood;
      break;
    case v1::RECORD_STATUS_REVOKED:
      r.resp_status = Status::kRevoked;
      break;
    case v1::RECORD_STATUS_UNKNOWN:
      r.resp_status = Status::kUnknown;
      break;
    default:
      return absl::DataLossError(absl::StrCat("OCSP cache entry ", key, " has no valid resp_status"));
  }
  r.key = key;
  r.response_der = record.resp();
  r.subject = record.subject();
  r.cached_at = FromTimestamp(record.cached_at());
  r.resp_expires = FromTimestamp(record.resp_expires());
  r.issuer_fingerprint = record.issuer_fingerprint();
  r.issuer_subject = record.issuer_subject();
  r.cert_not_after = record.has_cert_not_after() ? FromTimestamp(record.cert_not_after()) : absl::InfiniteFuture();
  return r;
}

bool IsExpiredNonRevoked(const CachedResponse& r, absl::Time now) {
  return r.resp_status != Status::kRevoked && now > r.resp_expires;
}

rocksdb::CompressionType ChooseCompression() {
  const std::vector<rocksdb::CompressionType> supported = rocksdb::GetSupportedCompressions();
  for (rocksdb::CompressionType wanted : {rocksdb::kLZ4Compression, rocksdb::kSnappyCompression}) {
    if (std::find(supported.begin(), supported.end(), wanted) != supported.end()) return wanted;
  }
  return rocksdb::kNoCompression;
}

}  // namespace

// Drops expired non-revoked entries, and revoked entries whose certificate has expired. Undecodable
// values are kept (Get reports them as DATA_LOSS). Called on RocksDB's background threads.
class RocksDbOcspCache::ExpiryFilter final : public rocksdb::CompactionFilter {
 public:
  explicit ExpiryFilter(std::shared_ptr<const Clock> clock) : clock_(std::move(clock)) {}

  bool Filter(int /*level*/, const rocksdb::Slice& key, const rocksdb::Slice& existing_value,
              std::string* /*new_value*/, bool* /*value_changed*/) const override {
    absl::StatusOr<CachedResponse> r =
        Decode(key.ToString(), absl::string_view(existing_value.data(), existing_value.size()));
    if (!r.ok()) return false;
    const absl::Time now = clock_->Now();
    if (r->resp_status == Status::kRevoked) return now > r->cert_not_after;
    return now > r->resp_expires;
  }

  const char* Name() const override { return "sigil.OcspExpiryFilter"; }

 private:
  const std::shared_ptr<const Clock> clock_;
};

// Marks the in-memory counts stale after every compaction (the filter may have dropped entries).
class RocksDbOcspCache::CompactionListener final : public rocksdb::EventListener {
 public:
  explicit CompactionListener(std::atomic<bool>* stale) : stale_(stale) {}
  void OnCompactionCompleted(rocksdb::DB* /*db*/, const rocksdb::CompactionJobInfo& /*info*/) override {
    stale_->store(true);
  }

 private:
  std::atomic<bool>* const stale_;  // Owned by the cache, which outlives the DB.
};

RocksDbOcspCache::RocksDbOcspCache(const RocksDbOcspCacheOptions& options, std::shared_ptr<const Clock> clock)
    : options_(options),
      clock_(std::move(clock)),
      filter_(std::make_unique<ExpiryFilter>(clock_)),
      listener_(std::make_shared<CompactionListener>(&counts_stale_)) {}

absl::StatusOr<std::unique_ptr<RocksDbOcspCache>> RocksDbOcspCache::Create(const RocksDbOcspCacheOptions& options,
                                                                           std::shared_ptr<const Clock> clock) {
  if (options.save_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError("save_interval must be at least 1 second");
  }
  if (options.local_store.empty()) return absl::InvalidArgumentError("local_store must not be empty");
  if (clock == nullptr) return absl::InvalidArgumentError("RocksDbOcspCache needs a clock");

  std::unique_ptr<RocksDbOcspCache> cache(new RocksDbOcspCache(options, std::move(clock)));
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.compression = ChooseCompression();
  db_options.compaction_filter = cache->filter_.get();
  db_options.listeners.push_back(cache->listener_);
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.local_store, &raw);
  if (s.IsIOError() && absl::StrContains(s.ToString(), "LOCK")) {
    return absl::FailedPreconditionError(
        absl::StrCat("OCSP cache directory ", options.local_store,
                     " is already in use by another open cache (RocksDB: ", s.ToString(), ")"));
  }
  SIGIL_RETURN_IF_ERROR(FromRocksDbStatus(s, absl::StrCat("opening OCSP cache ", options.local_store)));
  cache->db_.reset(raw);
  {
    absl::MutexLock lock(&cache->mu_);
    SIGIL_RETURN_IF_ERROR(cache->RecountLocked());
  }
  cache->flusher_ = std::thread([c = cache.get()] { c->FlushLoop(); });
  return cache;
}

RocksDbOcspCache::~RocksDbOcspCache() {
  {
    absl::MutexLock lock(&flush_mu_);
    stopping_ = true;
    flush_cv_.SignalAll();
  }
  if (flusher_.joinable()) flusher_.join();
  if (db_ != nullptr) {
    absl::Status flushed = Flush();
    if (!flushed.ok()) LogError(absl::StrCat("Saving OCSP cache at close failed: ", flushed.message()));
    rocksdb::Status closed = db_->Close();
    if (!closed.ok()) LogError(absl::StrCat("Closing OCSP cache failed: ", closed.ToString()));
    db_.reset();
  }
}

void RocksDbOcspCache::FlushLoop() {
  absl::MutexLock lock(&flush_mu_);
  while (!stopping_) {
    const absl::Time deadline = absl::Now() + options_.save_interval;
    while (!stopping_ && absl::Now() < deadline) flush_cv_.WaitWithDeadline(&flush_mu_, deadline);
    if (stopping_) break;
    flush_mu_.Unlock();
    absl::Status flushed = Flush();
    if (!flushed.ok()) LogError(absl::StrCat("Saving OCSP cache failed: ", flushed.message()));
    flush_mu_.Lock();
  }
}

absl::Status RocksDbOcspCache::RecountLocked() {
  counts_stale_.store(false);
  int64_t good = 0, revoked = 0, unknown = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    absl::StatusOr<CachedResponse> r =
        Decode(it->key().ToString(), absl::string_view(it->value().data(), it->value().size()));
    if (!r.ok()) {
      LogWarning(r.status().message());
      continue;
    }
    switch (r->resp_status) {
      case Status::kGood:
        ++good;
        break;
      case Status::kRevoked:
        ++revoked;
        break;
      case Status::kUnknown:
        ++unknown;
        break;
    }
  }
  SIGIL_RETURN_IF_ERROR(FromRocksDbStatus(it->status(), "scanning OCSP cache"));
  good_ = good;
  revoked_ = revoked;
  unknown_ = unknown;
  return absl::OkStatus();
}

void RocksDbOcspCache::CountLocked(Status status, int64_t delta) {
  switch (status) {
    case Status::kGood:
      good_ += delta;
      break;
    case Status::kRevoked:
      revoked_ += delta;
      break;
    case Status::kUnknown:
      unknown_ += delta;
      break;
  }
}

absl::StatusOr<std::optional<CachedResponse>> RocksDbOcspCache::Get(const std::string& key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
  if (s.IsNotFound()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  SIGIL_RETURN_IF_ERROR(FromRocksDbStatus(s, "reading OCSP cache"));
  SIGIL_ASSIGN_OR_RETURN(CachedResponse r, Decode(key, value));
  if (IsExpiredNonRevoked(r, clock_->Now())) {
    SIGIL_RETURN_IF_ERROR(EvictIfUnchanged(key, value));
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  hits_.fetch_add(1, std::memory_order_relaxed);
  return r;
}

absl::Status RocksDbOcspCache::EvictIfUnchanged(const std::string& key, const std::string& expected) {
  absl::MutexLock lock(&mu_);
  std::string current;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &current);
  if (s.IsNotFound() || (s.ok() && current != expected)) return absl::OkStatus();  // Replaced meanwhile.
  SIGIL_RETURN_IF_ERROR(FromRocksDbStatus(s, "reading OCSP cache"));
  SIGIL_ASSIGN_OR_RETURN(CachedResponse r, Decode(key, current));
  SIGIL_RETURN_IF_ERROR(FromRocksDbStatus(db_->Delete(rocksdb::WriteOptions(), key), "evicting from OCSP cache"));
  CountLocked(r.resp_status, -1);
  return absl::OkStatus();
}

absl::Status RocksDbOcspCache::Put(const CachedResponse& response) {
  if (response.key.empty()) return absl::InvalidArgumentError("cache entry has an empty key");
  const std::string value = Encode(response);
  absl::MutexLock lock(&mu_);
  std::string old;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), response.key, &old);
  if (!s.IsNotFound()) SIGIL_RETURN_IF_ERROR(FromRocksDbStatus(s, "reading OCSP cache"));
  std::optional<Status> old_status;
  if (s.ok()) {
    absl::StatusOr<CachedResponse> r = Decode(response.key, old);
    if (r.ok()) old_status = r->resp_status;
  }
  SIGIL_RETURN_IF_ERROR(
      FromRocksDbStatus(db_->Put(rocksdb::WriteOptions(), response.key, value), "writing OCSP cache"));
  if (old_status.has_value()) CountLocked(*old_status, -1);
  CountLocked(response.resp_status, +1);
  return absl::OkStatus();
}

absl::Status RocksDbOcspCache::Delete(const std::string& key) {
  SIGIL_ASSIGN_OR_RETURN(int64_t purged, Purge(PurgeFilter::ByKey(key)));
  (void)purged;
  return absl::OkStatus();
}

absl::StatusOr<int64_t> RocksDbOcspCache::Purge(const PurgeFilter& filter) {
  absl::MutexLock lock(&mu_);
  rocksdb::WriteBatch batch;
  std::vector<std::optional<Status>> removed;  // status of each removed entry (nullopt: undecodable)
  auto consider = [&](const std::string& key, absl::string_view value) {
    absl::StatusOr<CachedResponse> r = Decode(key, value);
    if (r.ok()) {
      if (options_.preserve_revoked && r->resp_status == Status::kRevoked) return;
      if (filter.kind == PurgeFilter::Kind::kStatus && r->resp_status != filter.status) return;
    } else if (filter.kind == PurgeFilter::Kind::kStatus) {
      return;
    }
    batch.Delete(key);
    removed.push_back(r.ok() ? std::optional<Status>(r->resp_status) : std::nullopt);
  };
  if (filter.kind == PurgeFilter::Kind::kKey) {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), filter.key, &value);
    if (s.IsNotFound()) return 0;
    SIGIL_RETURN_IF_ERROR(FromRocksDbStatus(s, "reading OCSP cache"));
    consider(filter.key, value);
  } else {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      consider(it->key().ToString(), absl::string_view(it->value().data(), it->value().size()));
    }
    SIGIL_RETURN_IF_ERROR(FromRocksDbStatus(it->status(), "scanning OCSP cache"));
  }
  if (removed.empty()) return 0;
  SIGIL_RETURN_IF_ERROR(FromRocksDbStatus(db_->Write(rocksdb::WriteOptions(), &batch), "purging OCSP cache"));
  for (const std::optional<Status>& status : removed) {
    if (status.has_value()) CountLocked(*status, -1);
  }
  return static_cast<int64_t>(removed.size());
}

absl::StatusOr<std::optional<CachedResponse>> RocksDbOcspCache::Peek(const std::string& key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
  if (s.IsNotFound()) return std::nullopt;
  SIGIL_RETURN_IF_ERROR(FromRocksDbStatus(s, "reading OCSP cache"));
  SIGIL_ASSIGN_OR_RETURN(CachedResponse r, Decode(key, value));
  return r;
}

absl::StatusOr<std::vector<CachedResponse>> RocksDbOcspCache::List(size_t max_entries) {
  std::vector<CachedResponse> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    absl::StatusOr<CachedResponse> r =
        Decode(it->key().ToString(), absl::string_view(it->value().data(), it->value().size()));
    if (!r.ok()) {
      LogWarning(r.status().message());
      continue;
    }
    if (out.size() >= max_entries) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the OCSP cache holds more than ", max_entries, " entries"));
    }
    out.push_back(*std::move(r));
  }
  SIGIL_RETURN_IF_ERROR(FromRocksDbStatus(it->status(), "scanning OCSP cache"));
  return out;
}

CacheStats RocksDbOcspCache::Stats() {
  CacheStats stats;
  stats.cache_type = "local";
  stats.cache_hits = hits_.load(std::memory_order_relaxed);
  stats.cache_misses = misses_.load(std::memory_order_relaxed);
  absl::MutexLock lock(&mu_);
  if (counts_stale_.load()) {
    absl::Status recounted = RecountLocked();
    if (!recounted.ok()) LogWarning(absl::StrCat("Recounting OCSP cache failed: ", recounted.message()));
  }
  stats.cached_good_responses = good_;
  stats.cached_revoked_responses = revoked_;
  stats.cached_unknown_responses = unknown_;
  stats.cached_responses = good_ + revoked_ + unknown_;
  return stats;
}

absl::Status RocksDbOcspCache::Flush() {
  return FromRocksDbStatus(db_->FlushWAL(/*sync=*/true), "saving OCSP cache");
}

absl::Status RocksDbOcspCache::CompactRange() {
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  return FromRocksDbStatus(db_->CompactRange(options, nullptr, nullptr), "compacting OCSP cache");
}

}  // namespace sigil::cache
