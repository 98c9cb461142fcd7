// Pkcs11Token: one token, found by its label in one PKCS#11 module, logged in with the user PIN, with a
// pool of sessions and a cap on operations in flight. Everything Pkcs11KeyStore and its keys do on the
// token goes through Run(), which hands the operation a logged-in session and recovers from what tokens
// do to long-lived sessions:
//
//   - CKR_USER_NOT_LOGGED_IN (someone logged the application out): log in again, retry;
//   - CKR_SESSION_HANDLE_INVALID, CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT, ... (see IsTokenGone), or an
//     object handle that went invalid while the token itself no longer answers: every session is
//     dropped, the token is looked up again by label (a re-inserted token may sit in another slot), and
//     the operation retried on a fresh session. While the token stays away Run returns UNAVAILABLE;
//     when no slot shows the label, the module is re-initialised (at most once per
//     `reinitialize_interval`), because some modules (SoftHSM2, network HSM clients) only notice a token
//     that came back after C_Finalize + C_Initialize. Re-initialising drops every session of the module,
//     also other stores', which recover the same way.
//
// epoch() changes whenever the token's sessions were re-established after a loss: object handles
// found in an older epoch must be looked up again (the caller's job; Run passes the epoch).
//
// The PIN is held in memory only, passed to C_Login and wiped on destruction; it never appears in a
// message or log line.
//
// Thread-safety: thread-safe. Operations beyond `max_concurrent_ops` wait in Run for one to finish.
// Sessions beyond `sessions` are opened for an operation and closed after it.
#ifndef SIGIL_SIGNER_STORES_PKCS11_PKCS11_TOKEN_H_
#define SIGIL_SIGNER_STORES_PKCS11_PKCS11_TOKEN_H_

#include <p11-kit/pkcs11.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "signer/stores/pkcs11/pkcs11_module.h"
#include "signer/stores/pkcs11/pkcs11_objects.h"

namespace sigil::signer::pkcs11 {

struct TokenOptions {
  // CK_TOKEN_INFO label to look for (at most 32 bytes; compared without the blank padding).
  std::string label;
  // The user PIN. Secret.
  std::string pin;
  // Where the PIN came from, for messages ("pin_file '/etc/sigil/pin'").
  std::string pin_source;
  // Sessions kept open for reuse (>= 1).
  uint32_t sessions = 4;
  // Operations in flight at once (>= 1).
  uint32_t max_concurrent_ops = 4;
  // Least time between two module re-initialisations made to find a lost token.
  absl::Duration reinitialize_interval = absl::Seconds(5);
};

// Counters for logs, metrics and tests. Never reset.
struct TokenStats {
  // Successful C_Login calls, the first one included.
  uint64_t logins = 0;
  uint64_t sessions_opened = 0;
  // Times the token was lost (sessions dropped) and times it was found again afterwards.
  uint64_t losses = 0;
  uint64_t recoveries = 0;
  // Module re-initialisations this token asked for and got.
  uint64_t module_reinitializations = 0;
  // Most operations seen in flight at once.
  uint32_t peak_ops_in_flight = 0;
};

class Pkcs11Token {
 public:
  // What an operation sees: the module's functions, a logged-in session and the token's epoch.
  struct SessionRef {
    CK_FUNCTION_LIST* functions;
    CK_SESSION_HANDLE session;
    uint64_t epoch;
  };

  // Finds the token labelled `options.label` in `module`, probes its mechanisms, opens a session and logs
  // in (so a wrong PIN fails here). NOT_FOUND naming the labels present when no token has the label;
  // FAILED_PRECONDITION for a wrong or locked PIN (the message names the PIN's source, never the PIN).
  static absl::StatusOr<std::shared_ptr<Pkcs11Token>> Open(std::shared_ptr<Pkcs11Module> module,
                                                           TokenOptions options);
  ~Pkcs11Token();
  Pkcs11Token(const Pkcs11Token&) = delete;
  Pkcs11Token& operator=(const Pkcs11Token&) = delete;

  const std::string& label() const { return options_.label; }
  Pkcs11Module& module() const { return *module_; }

  // Whether the token offers `mechanism` for signing (C_GetMechanismList at Open, CKF_SIGN in its
  // C_GetMechanismInfo) for a key of `key_bits` bits (checked against the mechanism's key size range
  // when the module reports one).
  bool CanSign(CK_MECHANISM_TYPE mechanism, CK_ULONG key_bits) const;

  // Runs `op` on a logged-in session; `op` returns the first failing PKCS#11 call or CKR_OK. Retries
  // as described in the header comment. Errors come from Pkcs11Error with "token '<label>': <what>" as
  // context; UNAVAILABLE while the token is away.
  absl::Status Run(absl::string_view what, absl::FunctionRef<CkCall(const SessionRef&)> op);

  TokenStats stats() const;

  // Handles of the sessions now idle in the pool (tests check they are distinct).
  std::vector<CK_SESSION_HANDLE> IdleSessionsForTesting() const;

 private:
  struct Lease {
    Pkcs11Session session;
    uint64_t epoch = 0;
  };

  Pkcs11Token(std::shared_ptr<Pkcs11Module> module, TokenOptions options)
      : module_(std::move(module)), options_(std::move(options)) {}

  // The slot holding a token with our label. NOT_FOUND listing the labels seen otherwise.
  absl::StatusOr<CK_SLOT_ID> FindSlot(const Pkcs11Module::Use& use) const;
  // A logged-in session for an operation: an idle one or a new one; finds the token again first when it
  // was lost. `*reinitialize` is set when the token was not found and re-initialising the module may
  // bring it back.
  absl::StatusOr<Lease> Acquire(const Pkcs11Module::Use& use, bool* reinitialize);
  // Returns a session to the pool, or closes it when the pool is full or it belongs to an old epoch.
  void Release(Lease lease);
  // Logs in on `session` unless the application already is. Counts logins.
  CkCall EnsureLoggedIn(const Pkcs11Module::Use& use, CK_SESSION_HANDLE session);
  // Drops every session and marks the token lost (when `epoch` is still current).
  void MarkLost(uint64_t epoch, absl::string_view why);
  // Whether C_GetTokenInfo on the current slot still answers with our label.
  bool StillPresent(const Pkcs11Module::Use& use) const;
  // "PKCS#11 token '<label>'" plus `what`.
  std::string Context(absl::string_view what) const;

  bool OpsBelowCap() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return ops_in_flight_ < options_.max_concurrent_ops;
  }

  const std::shared_ptr<Pkcs11Module> module_;
  // Never changes after Open; `pin` is wiped by the destructor.
  TokenOptions options_;
  // Sign mechanisms found at Open (written before the token is shared, then read-only).
  std::map<CK_MECHANISM_TYPE, CK_MECHANISM_INFO> mechanisms_;

  // Serialises finding the token again, so one thread scans the slots while the others wait for it.
  absl::Mutex recover_mu_ ABSL_ACQUIRED_BEFORE(mu_);

  // Guards members below.
  mutable absl::Mutex mu_;
  // Whether slot_ holds our token as far as we know; false after a loss until found again.
  bool present_ ABSL_GUARDED_BY(mu_) = false;
  CK_SLOT_ID slot_ ABSL_GUARDED_BY(mu_) = 0;
  // The module generation slot_ and the sessions belong to.
  uint64_t module_generation_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 1;
  std::vector<Lease> idle_ ABSL_GUARDED_BY(mu_);
  uint32_t ops_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  TokenStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sigil::signer::pkcs11

#endif  // SIGIL_SIGNER_STORES_PKCS11_PKCS11_TOKEN_H_
