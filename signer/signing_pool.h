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

#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/blocking_pool.h"

namespace sigil::signer {

// A BlockingPool (common/blocking_pool.h) that tells each task its queue time and words refusals for Sign.
class SigningPool {
 public:
  // A task receives the time it spent queued.
  using Task = std::function<void(absl::Duration queued)>;

  // `threads` below 1 counts as 1.
  SigningPool(int threads, size_t max_queued);
  SigningPool(const SigningPool&) = delete;
  SigningPool& operator=(const SigningPool&) = delete;

  // Queues `task`. RESOURCE_EXHAUSTED when max_queued tasks already wait (the task is not run).
  absl::Status Submit(Task task);

  // How many tasks can run at once.
  int threads() const { return static_cast<int>(pool_.threads()); }

 private:
  BlockingPool pool_;
};

}  // namespace sigil::signer

#endif  // SIGIL_SIGNER_SIGNING_POOL_H_
