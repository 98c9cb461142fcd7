// IdentityRefresher: the background thread that looks store-backed identities up again, every identity at
// its own refresh_interval and all of them at once when RequestNow() is called (signerd's SIGHUP), so a
// certificate rotated in the store is served without a restart.
//
// Thread-safety: RequestNow may be called from any thread and never blocks. The destructor stops and
// joins the thread (waiting for a refresh in progress).
#ifndef SIGIL_SIGNER_IDENTITY_REFRESHER_H_
#define SIGIL_SIGNER_IDENTITY_REFRESHER_H_

#include <map>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "signer/identity.h"

namespace sigil::signer {

class IdentityRefresher {
 public:
  // Borrows `identities`, which must outlive the refresher. Starts the thread.
  explicit IdentityRefresher(const IdentitySet& identities);
  ~IdentityRefresher();
  IdentityRefresher(const IdentityRefresher&) = delete;
  IdentityRefresher& operator=(const IdentityRefresher&) = delete;

  // Asks for a re-lookup of every identity as soon as possible.
  void RequestNow() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Run() ABSL_LOCKS_EXCLUDED(mu_);

  const IdentitySet& identities_;
  // Guards members below.
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool requested_ ABSL_GUARDED_BY(mu_) = false;

  std::thread thread_;
};

}  // namespace sigil::signer

#endif  // SIGIL_SIGNER_IDENTITY_REFRESHER_H_
