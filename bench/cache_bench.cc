// cache_bench: verifierd's OCSP response cache (RocksDbOcspCache, the real "local" store) at a large size,
// against the reference server's cache.json of the same responses.
//
//   cache_bench --entries=1000000 --dir=/tmp/x [--lookups=100000] [--distinct_responses=4096]
//
// Steps: writes --entries entries through OcspCache::Put (real DER OCSPResponses made with OpenSSL, signed by
// an EC issuer, each about its own certificate), compacts and closes; re-opens the database (open time: RocksDB
// open plus the per-status count scan verifierd does at start); makes --lookups Get calls of random present
// keys (p50/p99); measures the directory's bytes; lists every entry and writes the reference cache.json
// (SerializeNatsCacheJson: resp = base64 of S2 of the DER, as the NATS server writes it), measures its size
// and how long Sigil's own parser (ParseNatsCacheJson, the import path) takes to load it back.
//
// What it does not do: the responses are --distinct_responses real responses reused round-robin under distinct
// keys (signing a million responses would dominate the run). Keys are random, so equal responses rarely share
// a RocksDB block, and cache.json compresses each response on its own: sizes are those of distinct responses.
//
// Prints one JSON line to stdout. Exit status 1 when a step fails.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cache/clock.h"
#include "cache/nats_cache_json.h"
#include "cache/ocsp_cache.h"
#include "cache/ocsp_test_util.h"
#include "cache/rocksdb_cache.h"
#include "tests/pki/test_pki.h"

ABSL_FLAG(int64_t, entries, 1000000, "entries to write");
ABSL_FLAG(std::string, dir, "", "scratch directory (created; the database and cache.json go there)");
ABSL_FLAG(int64_t, lookups, 100000, "Get calls of random present keys after re-opening");
ABSL_FLAG(int, distinct_responses, 4096, "real OCSP responses made and reused round-robin");

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(absl::string_view what, const absl::Status& status) {
  std::cerr << "cache_bench: " << what << ": " << status << "\n";
  std::exit(1);
}

double Seconds(Clock::time_point from) { return std::chrono::duration<double>(Clock::now() - from).count(); }

int64_t DirectoryBytes(const std::string& dir) {
  int64_t total = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) total += static_cast<int64_t>(entry.file_size());
  }
  return total;
}

// Key i: a distinct, well-formed cache key (base64 of a SHA-256), as CacheKey makes from a certificate.
std::string KeyOf(int64_t i) { return sigil::cache::CacheKey(absl::StrCat("bench certificate ", i)); }

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int64_t entries = absl::GetFlag(FLAGS_entries);
  const std::string dir = absl::GetFlag(FLAGS_dir);
  const int distinct = std::max(1, absl::GetFlag(FLAGS_distinct_responses));
  if (entries < 1 || dir.empty()) {
    std::cerr << "cache_bench: --entries >= 1 and --dir are required\n";
    return 2;
  }
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string db = dir + "/rc";

  // Real responses: an EC issuer, one leaf per distinct response.
  sigil::testing::CertSpec ca_spec;
  ca_spec.subject = {{"CN", "Bench Cache CA"}};
  ca_spec.is_ca = true;
  auto ca = sigil::testing::SelfSigned(ca_spec, sigil::testing::KeySpec::Ec());
  if (!ca.ok()) Die("CA", ca.status());
  const absl::Time now = absl::Now();
  std::vector<sigil::cache::CachedResponse> templates;
  for (int i = 0; i < distinct; ++i) {
    sigil::testing::CertSpec spec;
    spec.subject = {{"CN", absl::StrCat("peer-", i, ".bench.sigil")}};
    auto leaf = sigil::testing::IssueCert(spec, sigil::testing::KeySpec::Ec(), *ca);
    if (!leaf.ok()) Die("leaf", leaf.status());
    sigil::cache::testing::OcspResponseSpec response_spec;
    response_spec.this_update = now - absl::Minutes(i % 60);
    response_spec.next_update = now + absl::Hours(24 * 7);
    auto der = sigil::cache::testing::MakeOcspResponse(leaf->cert.get(), ca->cert.get(), *ca, response_spec);
    if (!der.ok()) Die("response", der.status());
    sigil::cache::CachedResponse r;
    r.response_der = *der;
    r.subject = absl::StrCat("CN=peer-", i, ".bench.sigil");
    r.cached_at = now;
    r.resp_status = sigil::cache::CachedResponse::Status::kGood;
    r.resp_expires = *response_spec.next_update;
    r.issuer_fingerprint = sigil::cache::CacheKey(ca->CertDer());
    r.issuer_subject = "CN=Bench Cache CA";
    r.cert_not_after = now + absl::Hours(24 * 365);
    templates.push_back(std::move(r));
  }
  size_t der_bytes = 0;
  for (const auto& t : templates) der_bytes += t.response_der.size();

  auto clock = std::make_shared<sigil::cache::SystemClock>();
  sigil::cache::RocksDbOcspCacheOptions options;
  options.local_store = db;
  double write_s = 0, compact_s = 0;
  {
    auto cache = sigil::cache::RocksDbOcspCache::Create(options, clock);
    if (!cache.ok()) Die("open (empty)", cache.status());
    const auto start = Clock::now();
    for (int64_t i = 0; i < entries; ++i) {
      sigil::cache::CachedResponse r = templates[static_cast<size_t>(i % distinct)];
      r.key = KeyOf(i);
      absl::Status s = (*cache)->Put(r);
      if (!s.ok()) Die("Put", s);
    }
    absl::Status s = (*cache)->Flush();
    if (!s.ok()) Die("Flush", s);
    write_s = Seconds(start);
    const auto compact_start = Clock::now();
    s = (*cache)->CompactRange();
    if (!s.ok()) Die("CompactRange", s);
    compact_s = Seconds(compact_start);
  }
  const int64_t db_bytes = DirectoryBytes(db);

  // Re-open: what verifierd pays at start with this cache.
  auto open_start = Clock::now();
  auto cache = sigil::cache::RocksDbOcspCache::Create(options, clock);
  if (!cache.ok()) Die("re-open", cache.status());
  const double open_s = Seconds(open_start);
  const int64_t counted = (*cache)->Stats().cached_responses;
  if (counted != entries) {
    Die("re-open", absl::InternalError(absl::StrCat("counted ", counted, " entries, wrote ", entries)));
  }

  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int64_t> pick(0, entries - 1);
  const int64_t lookups = absl::GetFlag(FLAGS_lookups);
  std::vector<int64_t> latencies;
  latencies.reserve(static_cast<size_t>(lookups));
  for (int64_t n = 0; n < lookups; ++n) {
    const std::string key = KeyOf(pick(rng));
    const auto start = Clock::now();
    auto got = (*cache)->Get(key);
    const auto end = Clock::now();
    if (!got.ok() || !got->has_value()) Die("Get", got.ok() ? absl::NotFoundError(key) : got.status());
    latencies.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count());
  }
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    if (latencies.empty()) return 0.0;
    size_t rank = std::min(latencies.size() - 1, static_cast<size_t>(p / 100.0 * latencies.size()));
    return static_cast<double>(latencies[rank]) / 1000.0;
  };

  // The reference format of the same responses.
  const auto export_start = Clock::now();
  auto all = (*cache)->List(static_cast<size_t>(entries));
  if (!all.ok()) Die("List", all.status());
  auto json = sigil::cache::SerializeNatsCacheJson(*all);
  if (!json.ok()) Die("SerializeNatsCacheJson", json.status());
  const double export_s = Seconds(export_start);
  all->clear();
  all->shrink_to_fit();
  const std::string json_file = dir + "/cache.json";
  {
    std::ofstream f(json_file, std::ios::binary);
    f << *json;
  }
  sigil::cache::NatsCacheLimits limits;
  limits.max_file_bytes = json->size() + 1;
  limits.max_entries = static_cast<size_t>(entries);
  const auto parse_start = Clock::now();
  auto parsed = sigil::cache::ParseNatsCacheJson(*json, limits);
  const double parse_s = Seconds(parse_start);
  if (!parsed.ok()) Die("ParseNatsCacheJson", parsed.status());
  if (static_cast<int64_t>(parsed->entries.size()) != entries) {
    Die("ParseNatsCacheJson", absl::InternalError(absl::StrCat(parsed->entries.size(), " entries parsed")));
  }

  char line[2048];
  std::snprintf(line, sizeof(line),
                "{\"label\":\"cache\",\"entries\":%lld,\"distinct_responses\":%d,\"mean_response_der_bytes\":%.0f,"
                "\"write_s\":%.2f,\"puts_per_s\":%.0f,\"compact_s\":%.2f,\"rocksdb_bytes\":%lld,\"open_s\":%.3f,"
                "\"lookups\":%lld,\"lookup_us\":{\"p50\":%.1f,\"p99\":%.1f,\"p999\":%.1f},"
                "\"cache_json_bytes\":%zu,\"export_s\":%.2f,\"cache_json_parse_s\":%.2f}",
                static_cast<long long>(entries), distinct, static_cast<double>(der_bytes) / distinct, write_s,
                static_cast<double>(entries) / write_s, compact_s, static_cast<long long>(db_bytes), open_s,
                static_cast<long long>(lookups), pct(50), pct(99), pct(99.9), json->size(), export_s, parse_s);
  std::cout << line << std::endl;
  return 0;
}
