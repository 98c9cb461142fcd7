// BlockingPool: a fixed set of threads for work that blocks (OCSP fetches), so that gRPC reactions never
// do. Tasks run in FIFO order; at most `max_queued` wait at once, beyond which TrySchedule refuses.
//
// Thread-safety: TrySchedule may be called from any thread. The destructor runs every queued task, then
// joins the threads; destroy the pool only after nothing can schedule any more (after server shutdown).
#ifndef SIGIL_VERIFIER_BLOCKING_POOL_H_
#define SIGIL_VERIFIER_BLOCKING_POOL_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace sigil::verifier {

class BlockingPool {
 public:
  BlockingPool(size_t threads, size_t max_queued);
  ~BlockingPool();

  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Queues `task`; false (task not run) when max_queued tasks are already waiting.
  bool TrySchedule(std::function<void()> task);

 private:
  void Run();

  const size_t max_queued_;
  // Guards members below.
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace sigil::verifier

#endif  // SIGIL_VERIFIER_BLOCKING_POOL_H_
