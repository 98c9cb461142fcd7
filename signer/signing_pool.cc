#include "signer/signing_pool.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace sigil::signer {

SigningPool::SigningPool(int threads, size_t max_queued) : max_queued_(max_queued) {
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

SigningPool::~SigningPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& thread : threads_) thread.join();
}

absl::Status SigningPool::Submit(Task task) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("signerd is shutting down");
  if (queue_.size() >= max_queued_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("too many signatures are waiting for the credential store (", max_queued_, ")"));
  }
  queue_.push_back(Entry{std::move(task), absl::Now()});
  return absl::OkStatus();
}

void SigningPool::Run() {
  while (true) {
    Entry entry;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](SigningPool* pool) ABSL_EXCLUSIVE_LOCKS_REQUIRED(pool->mu_) {
            return pool->stopping_ || !pool->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // stopping, and nothing left to run
      entry = std::move(queue_.front());
      queue_.pop_front();
    }
    entry.task(absl::Now() - entry.queued_at);
  }
}

}  // namespace sigil::signer
