// SigningPool: the bounded set of threads that run work which may block on a credential store (PKCS#11,
// CNG), so gRPC's callback threads never wait on a token.
//
// Tasks run in submission order on `threads` threads. At most `max_queued` tasks wait; Submit refuses
// more (RESOURCE_EXHAUSTED) so a stuck token turns into fast errors instead of unbounded memory. Each
// task learns how long it waited in the queue.
//
// Thread-safety: Submit may be called from any thread. The destructor stops accepting work, runs what is
// queued, and joins the threads.
#ifndef SIGIL_SIGNER_SIGNING_POOL_H_
#define SIGIL_SIGNER_SIGNING_POOL_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace sigil::signer {

class SigningPool {
 public:
  // A task receives the time it spent queued.
  using Task = std::function<void(absl::Duration queued)>;

  SigningPool(int threads, size_t max_queued);
  ~SigningPool();
  SigningPool(const SigningPool&) = delete;
  SigningPool& operator=(const SigningPool&) = delete;

  // Queues `task`. RESOURCE_EXHAUSTED when max_queued tasks already wait (the task is not run).
  absl::Status Submit(Task task) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    Task task;
    absl::Time queued_at;
  };
  void Run() ABSL_LOCKS_EXCLUDED(mu_);

  const size_t max_queued_;
  // Guards members below.
  absl::Mutex mu_;
  std::deque<Entry> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::vector<std::thread> threads_;
};

}  // namespace sigil::signer

#endif  // SIGIL_SIGNER_SIGNING_POOL_H_
