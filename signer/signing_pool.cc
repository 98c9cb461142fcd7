#include "signer/signing_pool.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace sigil::signer {

SigningPool::SigningPool(int threads, size_t max_queued) : pool_(std::max(threads, 1), max_queued) {}

absl::Status SigningPool::Submit(Task task) {
  absl::Status queued = pool_.TrySchedule([task = std::move(task), queued_at = absl::Now()] {
    task(absl::Now() - queued_at);
  });
  if (absl::IsUnavailable(queued)) return absl::UnavailableError("signerd is shutting down");
  if (absl::IsResourceExhausted(queued)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "too many signing tasks are waiting for the credential store (", pool_.max_queued(), ")"));
  }
  return queued;
}

}  // namespace sigil::signer
