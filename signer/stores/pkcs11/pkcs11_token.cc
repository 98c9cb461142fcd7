#include "signer/stores/pkcs11/pkcs11_token.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "signer/stores/pkcs11/pkcs11_error.h"

namespace sigil::signer::pkcs11 {
namespace {

// Attempts per Run: a re-login or a recovery, then the retried operation, with one spare.
constexpr int kMaxAttempts = 3;

// The mechanisms Sigil signs with.
constexpr CK_MECHANISM_TYPE kSignMechanisms[] = {CKM_RSA_PKCS, CKM_RSA_PKCS_PSS, CKM_ECDSA};

// A fixed-width, blank-padded CK_TOKEN_INFO field without its padding.
std::string Trimmed(const CK_UTF8CHAR* field, size_t size) {
  absl::string_view s(reinterpret_cast<const char*>(field), size);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.remove_suffix(1);
  return std::string(s);
}

bool IsPinError(CK_RV rv) {
  return rv == CKR_PIN_INCORRECT || rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE ||
         rv == CKR_PIN_EXPIRED || rv == CKR_PIN_LOCKED || rv == CKR_USER_PIN_NOT_INITIALIZED;
}

bool IsHandleInvalid(CK_RV rv) { return rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID; }

}  // namespace

absl::StatusOr<std::shared_ptr<Pkcs11Token>> Pkcs11Token::Open(std::shared_ptr<Pkcs11Module> module,
                                                               TokenOptions options) {
  std::shared_ptr<Pkcs11Token> token(new Pkcs11Token(std::move(module), std::move(options)));
  Pkcs11Module::Use use(*token->module_);
  SIGIL_ASSIGN_OR_RETURN(CK_SLOT_ID slot, token->FindSlot(use));

  CK_ULONG count = 0;
  std::vector<CK_MECHANISM_TYPE> mechanisms;
  CK_RV rv = use->C_GetMechanismList(slot, nullptr, &count);
  if (rv == CKR_OK) {
    mechanisms.resize(count);
    rv = use->C_GetMechanismList(slot, mechanisms.data(), &count);
    mechanisms.resize(count);
  }
  if (rv != CKR_OK) return Pkcs11Error(rv, "C_GetMechanismList", token->Context("probing mechanisms"));
  for (CK_MECHANISM_TYPE wanted : kSignMechanisms) {
    if (std::find(mechanisms.begin(), mechanisms.end(), wanted) == mechanisms.end()) continue;
    CK_MECHANISM_INFO info{};
    if (use->C_GetMechanismInfo(slot, wanted, &info) == CKR_OK) token->mechanisms_[wanted] = info;
  }

  absl::StatusOr<Pkcs11Session> session = Pkcs11Session::Open(*token->module_, use, slot, 0);
  if (!session.ok()) {
    return absl::Status(session.status().code(), token->Context(session.status().message()));
  }
  CkCall login = token->EnsureLoggedIn(use, session->handle());
  if (!login.ok()) {
    absl::Status error = Pkcs11Error(login.rv, login.function, token->Context("logging in"));
    if (IsPinError(login.rv)) {
      return absl::FailedPreconditionError(
          absl::StrCat(error.message(), " (PIN from ", token->options_.pin_source, ")"));
    }
    return error;
  }

  CK_TOKEN_INFO info{};
  use->C_GetTokenInfo(slot, &info);
  std::vector<std::string> names;
  for (const auto& [mechanism, mech_info] : token->mechanisms_) {
    names.push_back(mechanism == CKM_RSA_PKCS ? "RSA-PKCS" : mechanism == CKM_RSA_PKCS_PSS ? "RSA-PKCS-PSS" : "ECDSA");
  }
  {
    absl::MutexLock lock(&token->mu_);
    token->present_ = true;
    token->slot_ = slot;
    token->module_generation_ = use.generation();
    token->idle_.push_back(Lease{*std::move(session), token->epoch_});
    ++token->stats_.sessions_opened;
  }
  LogInfo(absl::StrCat("PKCS#11 token '", token->label(), "' found in slot ", slot, " of ",
                       token->module_->path(), " (", Trimmed(info.manufacturerID, sizeof(info.manufacturerID)),
                       " ", Trimmed(info.model, sizeof(info.model)), "); sign mechanisms: ",
                       names.empty() ? "none" : absl::StrJoin(names, ", "), "; sessions ",
                       token->options_.sessions, ", max_concurrent_ops ", token->options_.max_concurrent_ops));
  return token;
}

Pkcs11Token::~Pkcs11Token() {
  if (!options_.pin.empty()) OPENSSL_cleanse(options_.pin.data(), options_.pin.size());
}

std::string Pkcs11Token::Context(absl::string_view what) const {
  return absl::StrCat("PKCS#11 token '", options_.label, "': ", what);
}

bool Pkcs11Token::CanSign(CK_MECHANISM_TYPE mechanism, CK_ULONG key_bits) const {
  auto it = mechanisms_.find(mechanism);
  if (it == mechanisms_.end()) return false;
  const CK_MECHANISM_INFO& info = it->second;
  if ((info.flags & CKF_SIGN) == 0) return false;
  if (key_bits == 0 || info.ulMaxKeySize == 0 || info.ulMaxKeySize < info.ulMinKeySize) return true;
  CK_ULONG min = info.ulMinKeySize, max = info.ulMaxKeySize;
  // A few RSA modules report sizes in bytes; no RSA key Sigil accepts is under 256 bytes.
  if (mechanism != CKM_ECDSA && max < 256) {
    min *= 8;
    max *= 8;
  }
  return key_bits >= min && key_bits <= max;
}

absl::StatusOr<CK_SLOT_ID> Pkcs11Token::FindSlot(const Pkcs11Module::Use& use) const {
  CK_ULONG count = 0;
  std::vector<CK_SLOT_ID> slots;
  CK_RV rv = use->C_GetSlotList(CK_TRUE, nullptr, &count);
  if (rv == CKR_OK) {
    slots.resize(count);
    rv = use->C_GetSlotList(CK_TRUE, slots.data(), &count);
    slots.resize(count);
  }
  if (rv != CKR_OK) return Pkcs11Error(rv, "C_GetSlotList", Context("looking for the token"));
  std::vector<std::string> labels;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    if (use->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    if ((info.flags & CKF_TOKEN_INITIALIZED) == 0) continue;
    std::string label = Trimmed(info.label, sizeof(info.label));
    if (label == options_.label) return slot;
    labels.push_back(absl::StrCat("'", label, "'"));
  }
  return absl::NotFoundError(absl::StrCat("no PKCS#11 token labelled '", options_.label, "' in ",
                                          module_->path(), " (tokens found: ",
                                          labels.empty() ? "none" : absl::StrJoin(labels, ", "), ")"));
}

bool Pkcs11Token::StillPresent(const Pkcs11Module::Use& use) const {
  CK_SLOT_ID slot;
  {
    absl::MutexLock lock(&mu_);
    slot = slot_;
  }
  CK_TOKEN_INFO info{};
  return use->C_GetTokenInfo(slot, &info) == CKR_OK && Trimmed(info.label, sizeof(info.label)) == options_.label;
}

CkCall Pkcs11Token::EnsureLoggedIn(const Pkcs11Module::Use& use, CK_SESSION_HANDLE session) {
  CK_SESSION_INFO info{};
  CK_RV rv = use->C_GetSessionInfo(session, &info);
  if (rv != CKR_OK) return {rv, "C_GetSessionInfo"};
  if (info.state == CKS_RO_USER_FUNCTIONS || info.state == CKS_RW_USER_FUNCTIONS) return {};
  rv = module_->Login(use, session, options_.pin);
  if (rv != CKR_OK) return {rv, "C_Login"};
  absl::MutexLock lock(&mu_);
  ++stats_.logins;
  return {};
}

void Pkcs11Token::MarkLost(uint64_t epoch, absl::string_view why) {
  std::vector<Lease> dropped;
  {
    absl::MutexLock lock(&mu_);
    if (!present_ || epoch != epoch_) return;  // Another thread saw it first.
    present_ = false;
    ++epoch_;
    ++stats_.losses;
    dropped.swap(idle_);
  }
  LogWarning(absl::StrCat(Context("lost ("), why, "); signing is UNAVAILABLE until it is back"));
  // `dropped` closes its sessions here, outside mu_ (best effort: the token may not answer).
}

absl::StatusOr<Pkcs11Token::Lease> Pkcs11Token::Acquire(const Pkcs11Module::Use& use, bool* reinitialize) {
  *reinitialize = false;
  CK_SLOT_ID slot = 0;
  uint64_t epoch = 0;
  std::vector<Lease> dead;
  bool need_recovery = false;
  {
    absl::MutexLock lock(&mu_);
    if (present_ && module_generation_ != use.generation()) {
      // The module was re-initialised: every session is gone already.
      present_ = false;
      ++epoch_;
      ++stats_.losses;
      dead.swap(idle_);
    }
    if (present_) {
      if (!idle_.empty()) {
        Lease lease = std::move(idle_.back());
        idle_.pop_back();
        return lease;
      }
      slot = slot_;
      epoch = epoch_;
    } else {
      need_recovery = true;
    }
  }
  for (Lease& lease : dead) lease.session.Abandon();

  if (need_recovery) {
    absl::MutexLock recover_lock(&recover_mu_);
    {
      absl::MutexLock lock(&mu_);
      need_recovery = !(present_ && module_generation_ == use.generation());
      slot = slot_;
      epoch = epoch_;
    }
    if (need_recovery) {
      absl::StatusOr<CK_SLOT_ID> found = FindSlot(use);
      if (!found.ok()) {
        *reinitialize = true;
        return absl::UnavailableError(Context(absl::StrCat("not present: ", found.status().message())));
      }
      absl::StatusOr<Pkcs11Session> session = Pkcs11Session::Open(*module_, use, *found, 0);
      if (!session.ok()) {
        return absl::UnavailableError(Context(absl::StrCat("found again but ", session.status().message())));
      }
      CkCall login = EnsureLoggedIn(use, session->handle());
      if (!login.ok()) {
        absl::Status error = Pkcs11Error(login.rv, login.function, Context("logging in again"));
        if (IsPinError(login.rv)) {
          return absl::FailedPreconditionError(absl::StrCat(error.message(), " (PIN from ", options_.pin_source, ")"));
        }
        return absl::UnavailableError(error.message());
      }
      absl::MutexLock lock(&mu_);
      present_ = true;
      slot_ = *found;
      module_generation_ = use.generation();
      ++epoch_;
      ++stats_.recoveries;
      LogInfo(Context(absl::StrCat("found again in slot ", *found, "; signing resumes")));
      return Lease{*std::move(session), epoch_};
    }
  }

  absl::StatusOr<Pkcs11Session> session = Pkcs11Session::Open(*module_, use, slot, 0);
  if (!session.ok()) {
    if (session.status().code() == absl::StatusCode::kUnavailable) MarkLost(epoch, session.status().message());
    return absl::Status(session.status().code(), Context(session.status().message()));
  }
  {
    absl::MutexLock lock(&mu_);
    ++stats_.sessions_opened;
  }
  CkCall login = EnsureLoggedIn(use, session->handle());
  if (!login.ok()) {
    if (IsTokenGone(login.rv)) MarkLost(epoch, CkrName(login.rv));
    absl::Status error = Pkcs11Error(login.rv, login.function, Context("logging in"));
    if (IsPinError(login.rv)) {
      return absl::FailedPreconditionError(absl::StrCat(error.message(), " (PIN from ", options_.pin_source, ")"));
    }
    return error;
  }
  return Lease{*std::move(session), epoch};
}

void Pkcs11Token::Release(Lease lease) {
  {
    absl::MutexLock lock(&mu_);
    if (present_ && lease.epoch == epoch_ && lease.session.generation() == module_generation_ &&
        idle_.size() < options_.sessions) {
      idle_.push_back(std::move(lease));
      return;
    }
  }
  lease.session.Close();  // Outside mu_: closing calls into the module.
}

absl::Status Pkcs11Token::Run(absl::string_view what, absl::FunctionRef<CkCall(const SessionRef&)> op) {
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &Pkcs11Token::OpsBelowCap));
    ++ops_in_flight_;
    stats_.peak_ops_in_flight = std::max(stats_.peak_ops_in_flight, ops_in_flight_);
  }
  absl::Cleanup done = [this] {
    absl::MutexLock lock(&mu_);
    --ops_in_flight_;
  };

  absl::Status last = absl::UnavailableError(Context(absl::StrCat(what, ": token not reachable")));
  bool reinitialized = false;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    bool reinitialize = false;
    uint64_t generation = 0;
    {
      Pkcs11Module::Use use(*module_);
      generation = use.generation();
      absl::StatusOr<Lease> lease = Acquire(use, &reinitialize);
      if (!lease.ok()) {
        last = lease.status();
        if (!reinitialize) {
          if (last.code() == absl::StatusCode::kUnavailable) continue;
          return last;
        }
      } else {
        CkCall call = op(SessionRef{use.functions(), lease->session.handle(), lease->epoch});
        if (call.ok()) {
          Release(*std::move(lease));
          return absl::OkStatus();
        }
        last = Pkcs11Error(call.rv, call.function, Context(what));
        if (call.rv == CKR_USER_NOT_LOGGED_IN) {
          // The application was logged out (by another user of the module, or the token forgot):
          // log in again and retry.
          CkCall login = EnsureLoggedIn(use, lease->session.handle());
          if (!login.ok()) {
            absl::Status error = Pkcs11Error(login.rv, login.function, Context("logging in again"));
            if (IsTokenGone(login.rv)) {
              MarkLost(lease->epoch, CkrName(login.rv));
              last = error;
              continue;
            }
            Release(*std::move(lease));
            return IsPinError(login.rv) ? absl::FailedPreconditionError(absl::StrCat(
                                              error.message(), " (PIN from ", options_.pin_source, ")"))
                                        : error;
          }
          Release(*std::move(lease));
          continue;
        }
        // A module whose token vanishes mid-call may say so with a vague code (an invalid handle, or a
        // CKR_GENERAL_ERROR / CKR_FUNCTION_FAILED that would otherwise be INTERNAL): when the token is no
        // longer there, that is a lost token (UNAVAILABLE, retry), whatever the code.
        const bool vague = IsHandleInvalid(call.rv) || CkrStatusCode(call.rv) == absl::StatusCode::kInternal;
        if (IsTokenGone(call.rv) || (vague && !StillPresent(use))) {
          if (call.rv == CKR_SESSION_HANDLE_INVALID || call.rv == CKR_SESSION_CLOSED) {
            lease->session.Abandon();  // Not ours any more: never close a handle the module may reuse.
          }
          MarkLost(lease->epoch, CkrName(call.rv));
          last = absl::UnavailableError(last.message());
          continue;
        }
        if (IsHandleInvalid(call.rv) && attempt == 0) {
          // A handle that went invalid on a token that is still there. Modules that hide private
          // objects from a logged-out application say so (SoftHSM2) instead of CKR_USER_NOT_LOGGED_IN:
          // log in again if needed; the operation looks its object up again on the next attempt.
          CkCall login = EnsureLoggedIn(use, lease->session.handle());
          Release(*std::move(lease));
          if (!login.ok() && IsPinError(login.rv)) {
            return absl::FailedPreconditionError(absl::StrCat(
                Pkcs11Error(login.rv, login.function, Context("logging in again")).message(), " (PIN from ",
                options_.pin_source, ")"));
          }
          continue;
        }
        Release(*std::move(lease));
        return last;
      }
    }
    // The token is not in any slot. Some modules only see a token that came back after C_Initialize.
    if (reinitialized) return last;
    bool done = false;
    absl::Status reinit = module_->Reinitialize(generation, options_.reinitialize_interval, &done);
    if (!reinit.ok()) return absl::UnavailableError(Context(reinit.message()));
    if (done) {
      absl::MutexLock lock(&mu_);
      ++stats_.module_reinitializations;
    } else if (module_->generation() == generation) {
      return last;  // Re-initialised too recently; nothing new to try now.
    }
    reinitialized = true;
  }
  return last;
}

TokenStats Pkcs11Token::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

std::vector<CK_SESSION_HANDLE> Pkcs11Token::IdleSessionsForTesting() const {
  absl::MutexLock lock(&mu_);
  std::vector<CK_SESSION_HANDLE> handles;
  for (const Lease& lease : idle_) handles.push_back(lease.session.handle());
  return handles;
}

}  // namespace sigil::signer::pkcs11
