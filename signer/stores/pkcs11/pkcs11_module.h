// Pkcs11Module: one PKCS#11 module (a shared library) loaded with dlopen() and initialised once per
// process, shared by every store and key that uses it; and Pkcs11Session, the RAII owner of one session.
//
// PKCS#11 allows one C_Initialize per module per process, so modules are kept in a process-wide registry
// keyed by the library's real path: Load() returns the live instance when there is one. The last owner's
// release runs C_Finalize and dlclose().
//
// Initialisation asks for CKF_OS_LOCKING_OK (the module may be called from several threads at once).
// Opening and closing sessions, logging in and out are serialised here, per module, whatever the module
// promises: tpm2-pkcs11 1.9.0 hands out the same session handle to two threads that open sessions at
// the same time.
//
// Some modules never notice a token that comes back after it was lost without being initialised again
// (SoftHSM2 keeps a token whose directory disappeared as broken until C_Finalize; network HSM clients
// behave alike). Reinitialize() runs C_Finalize + C_Initialize for that, under an exclusive hold: every
// call into the module is made under a Use (a shared hold), so Reinitialize waits for calls in flight
// and new calls wait for it. generation() changes on each re-initialisation; sessions and object
// handles of an older generation are dead and must not be used (Pkcs11Session knows its generation).
//
// Thread-safety: all methods are thread-safe.
#ifndef SIGIL_SIGNER_STORES_PKCS11_PKCS11_MODULE_H_
#define SIGIL_SIGNER_STORES_PKCS11_PKCS11_MODULE_H_

#include <p11-kit/pkcs11.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace sigil::signer::pkcs11 {

class Pkcs11Module {
 public:
  // The module at `path`, loaded and initialised, shared with every other user in the process.
  // FAILED_PRECONDITION when the library cannot be loaded, is not a PKCS#11 module, or C_Initialize
  // fails (the message names `path` and dlerror() or the CK_RV).
  static absl::StatusOr<std::shared_ptr<Pkcs11Module>> Load(const std::string& path);

  Pkcs11Module(const Pkcs11Module&) = delete;
  Pkcs11Module& operator=(const Pkcs11Module&) = delete;
  // C_Finalize (unless another library in the process had initialised the module first), dlclose().
  ~Pkcs11Module();

  // The real path of the library (symlinks resolved).
  const std::string& path() const { return path_; }

  // A shared hold on the initialised module: calls into functions() are made while one is alive.
  // Reentrant on one thread (a thread that holds a Use may make another). Take one per operation and
  // never wait for other threads while holding it.
  class Use {
   public:
    explicit Use(Pkcs11Module& module);
    ~Use();
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;

    CK_FUNCTION_LIST* operator->() const { return module_.functions_; }
    CK_FUNCTION_LIST* functions() const { return module_.functions_; }
    // The module's generation while this hold lasts (it cannot change under a Use).
    uint64_t generation() const { return generation_; }

   private:
    Pkcs11Module& module_;
    bool locked_ = false;
    uint64_t generation_ = 0;
  };

  // Current generation (see the header comment). Starts at 1.
  uint64_t generation() const;

  // C_OpenSession on `slot` with CKF_SERIAL_SESSION | `flags`, serialised with every other session
  // open/close/login/logout on this module. Caller holds a Use.
  CK_RV OpenSession(const Use& use, CK_SLOT_ID slot, CK_FLAGS flags, CK_SESSION_HANDLE* session);
  // C_CloseSession, serialised likewise. Caller holds a Use.
  CK_RV CloseSession(const Use& use, CK_SESSION_HANDLE session);
  // C_Login as CKU_USER, serialised likewise; CKR_USER_ALREADY_LOGGED_IN counts as success. The PIN is
  // only passed to the module. Caller holds a Use.
  CK_RV Login(const Use& use, CK_SESSION_HANDLE session, const std::string& pin);

  // C_Finalize + C_Initialize, unless the module was already re-initialised since `seen_generation`
  // (another caller did it) or less than `min_interval` has passed since the last re-initialisation (OK
  // then, nothing done). Must be called without holding a Use; waits for every Use to end. Returns
  // whether it re-initialised in `*done` (may be null).
  absl::Status Reinitialize(uint64_t seen_generation, absl::Duration min_interval, bool* done);

 private:
  Pkcs11Module(std::string path, void* handle, CK_FUNCTION_LIST* functions, bool owns_initialize)
      : path_(std::move(path)), handle_(handle), functions_(functions), owns_initialize_(owns_initialize) {}

  // Whether the calling thread holds a Use on this module.
  bool HeldByThisThread() const;

  const std::string path_;
  // dlopen() handle; dlclose()d by the destructor.
  void* const handle_;
  // Owned by the module; valid until dlclose().
  CK_FUNCTION_LIST* const functions_;
  // False when C_Initialize said CKR_CRYPTOKI_ALREADY_INITIALIZED: someone else in the process owns it.
  const bool owns_initialize_;

  // Shared by Use, exclusive for Reinitialize. Guards members below.
  mutable absl::Mutex init_mu_;
  uint64_t generation_ ABSL_GUARDED_BY(init_mu_) = 1;
  absl::Time last_reinitialize_ ABSL_GUARDED_BY(init_mu_) = absl::InfinitePast();

  // Serialises C_OpenSession, C_CloseSession, C_Login, C_Logout (see the header comment).
  absl::Mutex session_mu_;
};

// One open session; closes it on destruction (unless its module generation is gone, when the handle is
// already dead). Move-only. The module must outlive it.
class Pkcs11Session {
 public:
  Pkcs11Session() = default;
  // Opens a session on `slot` (CKF_SERIAL_SESSION | `flags`). Caller holds `use`.
  static absl::StatusOr<Pkcs11Session> Open(Pkcs11Module& module, const Pkcs11Module::Use& use,
                                            CK_SLOT_ID slot, CK_FLAGS flags);
  Pkcs11Session(Pkcs11Session&& other) noexcept { *this = std::move(other); }
  Pkcs11Session& operator=(Pkcs11Session&& other) noexcept;
  ~Pkcs11Session() { Close(); }

  bool valid() const { return module_ != nullptr; }
  CK_SESSION_HANDLE handle() const { return handle_; }
  // The module generation the session was opened in.
  uint64_t generation() const { return generation_; }

  // Closes now (C_CloseSession when the module generation still matches; errors ignored).
  void Close();
  // Forgets the handle without calling the module (for a session the module already dropped).
  void Abandon() { module_ = nullptr; }

 private:
  Pkcs11Module* module_ = nullptr;
  CK_SESSION_HANDLE handle_ = CK_INVALID_HANDLE;
  uint64_t generation_ = 0;
};

}  // namespace sigil::signer::pkcs11

#endif  // SIGIL_SIGNER_STORES_PKCS11_PKCS11_MODULE_H_
