// crash_writer (testonly): a process for crash_test.cc that owns a RocksDbOcspCache.
//
//   crash_writer --store DIR --acks FILE [--prefix P] [--pause_us N]   writes entries P-0, P-1, ... (key =
//       CacheKey of that name) with save_interval 1 s, N µs apart, and after each acknowledged Put appends
//       "<index> <unix nanos>\n" to FILE with one write(2), until killed.
//   crash_writer --store DIR --hold                      opens the store, prints "ready\n" and sleeps until
//       killed (holds the directory's LOCK).
// Exits 2 when the store cannot be opened (the error on stderr).
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cache/rocksdb_cache.h"

ABSL_FLAG(std::string, store, "", "local_store directory");
ABSL_FLAG(std::string, acks, "", "file to append acknowledged writes to");
ABSL_FLAG(std::string, prefix, "entry", "name prefix of the written entries");
ABSL_FLAG(bool, hold, false, "open the store and wait to be killed");
ABSL_FLAG(int, pause_us, 0, "pause between writes, microseconds");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  sigil::cache::RocksDbOcspCacheOptions options;
  options.local_store = absl::GetFlag(FLAGS_store);
  options.save_interval = absl::Seconds(1);
  auto cache = sigil::cache::RocksDbOcspCache::Create(options, std::make_shared<sigil::cache::SystemClock>());
  if (!cache.ok()) {
    std::cerr << cache.status() << "\n";
    return 2;
  }
  if (absl::GetFlag(FLAGS_hold)) {
    std::cout << "ready" << std::endl;
    for (;;) pause();
  }
  const int acks = open(absl::GetFlag(FLAGS_acks).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0644);
  if (acks < 0) {
    std::perror("open acks");
    return 2;
  }
  const std::string prefix = absl::GetFlag(FLAGS_prefix);
  for (int64_t i = 0;; ++i) {
    const std::string name = absl::StrCat(prefix, "-", i);
    sigil::cache::CachedResponse r;
    r.key = sigil::cache::CacheKey(name);
    r.response_der = absl::StrCat("response-of-", name);
    r.subject = absl::StrCat("CN=", name);
    r.cached_at = absl::Now();
    r.resp_expires = r.cached_at + absl::Hours(1);
    absl::Status put = (*cache)->Put(r);
    if (!put.ok()) {
      std::cerr << put << "\n";
      return 3;
    }
    const std::string line = absl::StrCat(i, " ", absl::ToUnixNanos(absl::Now()), "\n");
    if (write(acks, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 4;
    if (absl::GetFlag(FLAGS_pause_us) > 0) absl::SleepFor(absl::Microseconds(absl::GetFlag(FLAGS_pause_us)));
  }
}
