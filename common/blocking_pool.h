// BlockingPool: a fixed set of threads for work that may block (OCSP fetches, credential-store signatures,
// cache import/export), so that gRPC reactions never do. Tasks run in FIFO order; at most `max_queued` wait at
// once, beyond which TrySchedule refuses. Used by verifierd's service, signerd's SigningPool and the Cache
// service's import/export worker.
//
// Thread-safety: TrySchedule may be called from any thread. The destructor stops accepting work, runs every
// queued task, then joins the threads; destroy the pool only after nothing can schedule any more (after server
// shutdown).
#ifndef SIGIL_COMMON_BLOCKING_POOL_H_
#define SIGIL_COMMON_BLOCKING_POOL_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace sigil {

class BlockingPool {
 public:
  BlockingPool(size_t threads, size_t max_queued);
  ~BlockingPool();

  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Queues `task`. When it is refused, `task` is not run: RESOURCE_EXHAUSTED when max_queued tasks are already
  // waiting, UNAVAILABLE once the destructor has started.
  absl::Status TrySchedule(std::function<void()> task) ABSL_LOCKS_EXCLUDED(mu_);

  size_t max_queued() const { return max_queued_; }
  // How many threads run tasks (fixed at construction).
  size_t threads() const { return threads_.size(); }

 private:
  void Run() ABSL_LOCKS_EXCLUDED(mu_);

  const size_t max_queued_;
  // Guards members below.
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace sigil

#endif  // SIGIL_COMMON_BLOCKING_POOL_H_
