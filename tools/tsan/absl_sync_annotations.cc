// ThreadSanitizer happens-before annotations for Debian's (uninstrumented) Abseil synchronization library.
//
// Why this exists: libabsl_synchronization.so from Debian is not built with -fsanitize=thread, so its
// ABSL_TSAN_MUTEX_* annotations are compiled out and its lock word and futex waits are invisible to TSan. Every
// member that Sigil guards with an absl::Mutex (ABSL_GUARDED_BY) then looks like a data race to TSan, although
// the code is correctly locked (first seen: RocksDbOcspCache::stopping_ read by FlushLoop under flush_mu_ and
// written by the destructor under flush_mu_). A suppression cannot fix that (it would have to name Sigil's own
// frames and would hide real races in them too), and rebuilding Abseil is not possible offline.
//
// Instead, --config=tsan links this file into every binary and test (through --custom_malloc, the one Bazel
// option that adds a library to every cc_binary/cc_test; it defines no allocator, so the system malloc that TSan
// intercepts stays in use). It interposes the exported absl::Mutex / CondVar / Notification / Barrier /
// BlockingCounter entry points: each calls the real function (found with dlsym(RTLD_NEXT)) and tells TSan about
// the synchronisation it performs, with __tsan_release(object) before an operation that releases and
// __tsan_acquire(object) after one that acquires. That is exactly the happens-before that the lock provides,
// so real races (an access without the lock) are still reported. Calls from gRPC (grpc_core::Mutex wraps
// absl::Mutex) go through the same entry points.
//
// Never built outside --config=tsan. The TSan entry points are weak so a non-TSan link (a host tool) still
// links; they are then no-ops.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/barrier.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

extern "C" {
void __tsan_acquire(void* addr) __attribute__((weak));
void __tsan_release(void* addr) __attribute__((weak));
}

namespace {

void Acquire(const void* object) {
  if (__tsan_acquire != nullptr) __tsan_acquire(const_cast<void*>(object));
}
void Release(const void* object) {
  if (__tsan_release != nullptr) __tsan_release(const_cast<void*>(object));
}

// The next definition of `mangled` after this object (libabsl_synchronization.so). Aborts if there is none: a
// silently missing lock would be worse than no annotation.
void* Next(const char* mangled) {
  void* fn = dlsym(RTLD_NEXT, mangled);
  if (fn == nullptr) {
    std::fprintf(stderr, "absl_sync_annotations: %s not found: %s\n", mangled, dlerror());
    std::abort();
  }
  return fn;
}

// A Condition is evaluated inside the real Mutex code with the mutex held, possibly before the real LockWhen /
// Await returns (and possibly by the thread that unlocks). The wrapper tells TSan the evaluating thread holds
// the mutex: acquire before evaluating and release after. The release is needed whichever thread evaluates:
// when the condition is false the waiter goes on waiting (gives the mutex up), and when Unlock evaluates a
// waiter's condition the unlocking thread has already passed its own release (in Mutex::Unlock below) and the
// waiter will acquire next. An extra release by a thread that keeps the mutex adds no ordering that the lock
// does not provide.
struct AnnotatedCondition {
  AnnotatedCondition(const absl::Condition& inner, absl::Mutex* mu)
      : inner(&inner), mu(mu), condition(&AnnotatedCondition::Eval, this) {}
  static bool Eval(void* arg) {
    auto* self = static_cast<AnnotatedCondition*>(arg);
    Acquire(self->mu);
    bool result = self->inner->Eval();
    Release(self->mu);
    return result;
  }
  const absl::Condition* inner;
  absl::Mutex* mu;
  absl::Condition condition;
};

// Resolves once per entry point (function-local static: thread-safe initialisation).
#define SIGIL_REAL(type, mangled) static const auto real = reinterpret_cast<type>(Next(mangled))

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  SIGIL_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex4LockEv");
  real(this);
  Acquire(this);
}

void Mutex::ReaderLock() {
  SIGIL_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex10ReaderLockEv");
  real(this);
  Acquire(this);
}

bool Mutex::TryLock() {
  SIGIL_REAL(bool (*)(Mutex*), "_ZN4absl7debian35Mutex7TryLockEv");
  bool locked = real(this);
  if (locked) Acquire(this);
  return locked;
}

bool Mutex::ReaderTryLock() {
  SIGIL_REAL(bool (*)(Mutex*), "_ZN4absl7debian35Mutex13ReaderTryLockEv");
  bool locked = real(this);
  if (locked) Acquire(this);
  return locked;
}

void Mutex::Unlock() {
  SIGIL_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex6UnlockEv");
  Release(this);
  real(this);
}

void Mutex::ReaderUnlock() {
  SIGIL_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex12ReaderUnlockEv");
  Release(this);
  real(this);
}

void Mutex::LockWhen(const Condition& cond) {
  SIGIL_REAL(void (*)(Mutex*, const Condition&), "_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE");
  AnnotatedCondition annotated(cond, this);
  real(this, annotated.condition);
  Acquire(this);
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  SIGIL_REAL(void (*)(Mutex*, const Condition&), "_ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE");
  AnnotatedCondition annotated(cond, this);
  real(this, annotated.condition);
  Acquire(this);
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, absl::Duration timeout) {
  SIGIL_REAL(bool (*)(Mutex*, const Condition&, absl::Duration),
             "_ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  bool result = real(this, AnnotatedCondition(cond, this).condition, timeout);
  Acquire(this);  // Held on return either way.
  return result;
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, absl::Time deadline) {
  SIGIL_REAL(bool (*)(Mutex*, const Condition&, absl::Time),
             "_ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  bool result = real(this, AnnotatedCondition(cond, this).condition, deadline);
  Acquire(this);
  return result;
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond, absl::Duration timeout) {
  SIGIL_REAL(bool (*)(Mutex*, const Condition&, absl::Duration),
             "_ZN4absl7debian35Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  bool result = real(this, AnnotatedCondition(cond, this).condition, timeout);
  Acquire(this);
  return result;
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, absl::Time deadline) {
  SIGIL_REAL(bool (*)(Mutex*, const Condition&, absl::Time),
             "_ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  bool result = real(this, AnnotatedCondition(cond, this).condition, deadline);
  Acquire(this);
  return result;
}

// Await* and CondVar::Wait* release the mutex while they wait and hold it again on return.
void Mutex::Await(const Condition& cond) {
  SIGIL_REAL(void (*)(Mutex*, const Condition&), "_ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE");
  Release(this);
  AnnotatedCondition annotated(cond, this);
  real(this, annotated.condition);
  Acquire(this);
}

bool Mutex::AwaitWithTimeout(const Condition& cond, absl::Duration timeout) {
  SIGIL_REAL(bool (*)(Mutex*, const Condition&, absl::Duration),
             "_ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  Release(this);
  bool result = real(this, AnnotatedCondition(cond, this).condition, timeout);
  Acquire(this);
  return result;
}

bool Mutex::AwaitWithDeadline(const Condition& cond, absl::Time deadline) {
  SIGIL_REAL(bool (*)(Mutex*, const Condition&, absl::Time),
             "_ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  Release(this);
  bool result = real(this, AnnotatedCondition(cond, this).condition, deadline);
  Acquire(this);
  return result;
}

void CondVar::Wait(Mutex* mu) {
  SIGIL_REAL(void (*)(CondVar*, Mutex*), "_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE");
  Release(mu);
  real(this, mu);
  Acquire(mu);
}

bool CondVar::WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
  SIGIL_REAL(bool (*)(CondVar*, Mutex*, absl::Duration),
             "_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  Release(mu);
  bool result = real(this, mu, timeout);
  Acquire(mu);
  return result;
}

bool CondVar::WaitWithDeadline(Mutex* mu, absl::Time deadline) {
  SIGIL_REAL(bool (*)(CondVar*, Mutex*, absl::Time),
             "_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  Release(mu);
  bool result = real(this, mu, deadline);
  Acquire(mu);
  return result;
}

void Notification::Notify() {
  SIGIL_REAL(void (*)(Notification*), "_ZN4absl7debian312Notification6NotifyEv");
  Release(this);
  real(this);
}

void Notification::WaitForNotification() const {
  SIGIL_REAL(void (*)(const Notification*), "_ZNK4absl7debian312Notification19WaitForNotificationEv");
  real(this);
  Acquire(this);
}

bool Notification::WaitForNotificationWithTimeout(absl::Duration timeout) const {
  SIGIL_REAL(bool (*)(const Notification*, absl::Duration),
             "_ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  bool notified = real(this, timeout);
  if (notified) Acquire(this);
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(absl::Time deadline) const {
  SIGIL_REAL(bool (*)(const Notification*, absl::Time),
             "_ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE");
  bool notified = real(this, deadline);
  if (notified) Acquire(this);
  return notified;
}

bool Barrier::Block() {
  SIGIL_REAL(bool (*)(Barrier*), "_ZN4absl7debian37Barrier5BlockEv");
  Release(this);
  bool last = real(this);
  Acquire(this);
  return last;
}

bool BlockingCounter::DecrementCount() {
  SIGIL_REAL(bool (*)(BlockingCounter*), "_ZN4absl7debian315BlockingCounter14DecrementCountEv");
  Release(this);
  bool zero = real(this);
  if (zero) Acquire(this);
  return zero;
}

void BlockingCounter::Wait() {
  SIGIL_REAL(void (*)(BlockingCounter*), "_ZN4absl7debian315BlockingCounter4WaitEv");
  real(this);
  Acquire(this);
}

ABSL_NAMESPACE_END
}  // namespace absl
