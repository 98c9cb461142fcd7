// FakeClock: a Clock for tests that only moves when told to. Thread-safe.
#ifndef SIGIL_CACHE_FAKE_CLOCK_H_
#define SIGIL_CACHE_FAKE_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cache/clock.h"

namespace sigil::cache {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start) : now_(start) {}

  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }

 private:
  // Guards members below.
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sigil::cache

#endif  // SIGIL_CACHE_FAKE_CLOCK_H_
