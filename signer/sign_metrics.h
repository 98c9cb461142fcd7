// Signature latency metrics: sigil_sign_seconds{store,phase}, a histogram per credential store ("PEM",
// "PKCS11", "WindowsCurrentUser", ...) split into the time a signature waited for the signing pool
// (phase="queue"; only signatures of stores that may block go through the pool) and the time the store
// took to sign (phase="exec"). Recorded into common/metrics.h MetricsRegistry().
//
// Thread-safety: may be called from any thread.
#ifndef SIGIL_SIGNER_SIGN_METRICS_H_
#define SIGIL_SIGNER_SIGN_METRICS_H_

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sigil::signer {

enum class SignPhase { kQueue, kExec };

// Observes `duration` for `store` (the identity's store name) and `phase`.
void RecordSignLatency(absl::string_view store, SignPhase phase, absl::Duration duration);

}  // namespace sigil::signer

#endif  // SIGIL_SIGNER_SIGN_METRICS_H_
