// Clock: the source of "now" for the OCSP cache (expiry checks, cached_at, the compaction filter), so
// that tests inject a fake clock instead of sleeping.
//
// Thread-safety: implementations must be safe to call from any thread (the RocksDB compaction filter
// calls Now() on RocksDB's background threads).
#ifndef SIGIL_CACHE_CLOCK_H_
#define SIGIL_CACHE_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sigil::cache {

class Clock {
 public:
  virtual ~Clock() = default;
  // The current time. Never blocks.
  virtual absl::Time Now() const = 0;
};

// Wall-clock time (absl::Now()).
class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace sigil::cache

#endif  // SIGIL_CACHE_CLOCK_H_
