#include "signer/stores/pkcs11/pkcs11_module.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "signer/stores/pkcs11/pkcs11_error.h"

namespace sigil::signer::pkcs11 {
namespace {

// Modules this thread holds a Use on (a thread rarely holds more than one).
thread_local std::vector<const Pkcs11Module*> held_modules;

// The process-wide registry: real path -> live module. Guards its map and every module's load and
// unload, so a module is never initialised while its previous instance is still finalising.
absl::Mutex& RegistryMutex() {
  static absl::Mutex* mu = new absl::Mutex();
  return *mu;
}
std::map<std::string, std::weak_ptr<Pkcs11Module>>& Registry() ABSL_EXCLUSIVE_LOCKS_REQUIRED(RegistryMutex()) {
  static auto* registry = new std::map<std::string, std::weak_ptr<Pkcs11Module>>();
  return *registry;
}

CK_RV InitializeModule(CK_FUNCTION_LIST* functions) {
  CK_C_INITIALIZE_ARGS args;
  std::memset(&args, 0, sizeof(args));
  args.flags = CKF_OS_LOCKING_OK;
  return functions->C_Initialize(&args);
}

}  // namespace

absl::StatusOr<std::shared_ptr<Pkcs11Module>> Pkcs11Module::Load(const std::string& path) {
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("PKCS#11 module '", path, "' cannot be loaded: ", std::strerror(errno)));
  }
  std::string real_path = resolved;

  absl::MutexLock lock(&RegistryMutex());
  auto& registry = Registry();
  if (auto it = registry.find(real_path); it != registry.end()) {
    if (std::shared_ptr<Pkcs11Module> live = it->second.lock()) return live;
  }

  dlerror();
  void* handle = dlopen(real_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* error = dlerror();
    return absl::FailedPreconditionError(absl::StrCat("PKCS#11 module '", path, "' cannot be loaded: ",
                                                      error != nullptr ? error : "dlopen failed"));
  }
  auto get_function_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(handle, "C_GetFunctionList"));
  CK_FUNCTION_LIST* functions = nullptr;
  if (get_function_list == nullptr) {
    dlclose(handle);
    return absl::FailedPreconditionError(
        absl::StrCat("PKCS#11 module '", path, "' is not a PKCS#11 module (no C_GetFunctionList)"));
  }
  if (CK_RV rv = get_function_list(&functions); rv != CKR_OK || functions == nullptr) {
    dlclose(handle);
    absl::Status error = Pkcs11Error(rv != CKR_OK ? rv : CKR_GENERAL_ERROR, "C_GetFunctionList",
                                     absl::StrCat("PKCS#11 module '", path, "'"));
    return absl::FailedPreconditionError(error.message());
  }
  CK_RV rv = InitializeModule(functions);
  bool owns_initialize = true;
  if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    owns_initialize = false;
    LogWarning(absl::StrCat("PKCS#11 module ", real_path,
                            " was already initialised by another library in this process; sharing it"));
  } else if (rv != CKR_OK) {
    dlclose(handle);
    absl::Status error = Pkcs11Error(rv, "C_Initialize", absl::StrCat("PKCS#11 module '", path, "'"));
    return absl::FailedPreconditionError(error.message());
  }

  // The deleter takes the registry lock so that a Load of the same path waits for C_Finalize.
  std::shared_ptr<Pkcs11Module> module(
      new Pkcs11Module(real_path, handle, functions, owns_initialize), [](Pkcs11Module* m) {
        absl::MutexLock lock(&RegistryMutex());
        auto& registry = Registry();
        if (auto it = registry.find(m->path()); it != registry.end() && it->second.expired()) {
          registry.erase(it);
        }
        delete m;
      });
  registry[real_path] = module;
  CK_INFO info;
  std::string description;
  if (functions->C_GetInfo(&info) == CKR_OK) {
    // PKCS#11 pads fixed-size text fields with blanks.
    description = absl::StrCat(" (",
                               absl::StripTrailingAsciiWhitespace(absl::string_view(
                                   reinterpret_cast<const char*>(info.manufacturerID), sizeof(info.manufacturerID))),
                               ")");
  }
  LogInfo(absl::StrCat("PKCS#11 module ", real_path, " loaded and initialised", description));
  return module;
}

Pkcs11Module::~Pkcs11Module() {
  if (owns_initialize_) functions_->C_Finalize(nullptr);
  dlclose(handle_);
}

bool Pkcs11Module::HeldByThisThread() const {
  return std::find(held_modules.begin(), held_modules.end(), this) != held_modules.end();
}

Pkcs11Module::Use::Use(Pkcs11Module& module) ABSL_NO_THREAD_SAFETY_ANALYSIS : module_(module) {
  if (!module.HeldByThisThread()) {
    module.init_mu_.ReaderLock();
    held_modules.push_back(&module);
    locked_ = true;
  }
  generation_ = module.generation_;
}

Pkcs11Module::Use::~Use() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (!locked_) return;
  held_modules.erase(std::find(held_modules.begin(), held_modules.end(), &module_));
  module_.init_mu_.ReaderUnlock();
}

uint64_t Pkcs11Module::generation() const {
  absl::ReaderMutexLock lock(&init_mu_);
  return generation_;
}

CK_RV Pkcs11Module::OpenSession(const Use& use, CK_SLOT_ID slot, CK_FLAGS flags, CK_SESSION_HANDLE* session) {
  absl::MutexLock lock(&session_mu_);
  return use->C_OpenSession(slot, CKF_SERIAL_SESSION | flags, nullptr, nullptr, session);
}

CK_RV Pkcs11Module::CloseSession(const Use& use, CK_SESSION_HANDLE session) {
  absl::MutexLock lock(&session_mu_);
  return use->C_CloseSession(session);
}

CK_RV Pkcs11Module::Login(const Use& use, CK_SESSION_HANDLE session, const std::string& pin) {
  absl::MutexLock lock(&session_mu_);
  CK_RV rv = use->C_Login(session, CKU_USER,
                          reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(pin.data())), pin.size());
  return rv == CKR_USER_ALREADY_LOGGED_IN ? CKR_OK : rv;
}

absl::Status Pkcs11Module::Reinitialize(uint64_t seen_generation, absl::Duration min_interval, bool* done) {
  if (done != nullptr) *done = false;
  if (HeldByThisThread()) {
    return absl::InternalError("Pkcs11Module::Reinitialize called while holding a Use");
  }
  absl::MutexLock lock(&init_mu_);
  if (generation_ != seen_generation) return absl::OkStatus();
  absl::Time now = absl::Now();
  if (now - last_reinitialize_ < min_interval) return absl::OkStatus();
  last_reinitialize_ = now;
  ++generation_;  // Even if C_Initialize fails below: every old session is dead after C_Finalize.
  if (done != nullptr) *done = true;
  if (owns_initialize_) functions_->C_Finalize(nullptr);
  CK_RV rv = InitializeModule(functions_);
  if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) rv = CKR_OK;
  LogInfo(absl::StrCat("PKCS#11 module ", path_, " re-initialised to find a lost token again",
                       rv == CKR_OK ? "" : absl::StrCat(" (C_Initialize: ", CkrName(rv), ")")));
  if (rv != CKR_OK) return Pkcs11Error(rv, "C_Initialize", absl::StrCat("PKCS#11 module '", path_, "'"));
  return absl::OkStatus();
}

absl::StatusOr<Pkcs11Session> Pkcs11Session::Open(Pkcs11Module& module, const Pkcs11Module::Use& use,
                                                  CK_SLOT_ID slot, CK_FLAGS flags) {
  CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
  CK_RV rv = module.OpenSession(use, slot, flags, &handle);
  if (rv != CKR_OK) return Pkcs11Error(rv, "C_OpenSession", absl::StrCat("slot ", slot));
  Pkcs11Session session;
  session.module_ = &module;
  session.handle_ = handle;
  session.generation_ = use.generation();
  return session;
}

Pkcs11Session& Pkcs11Session::operator=(Pkcs11Session&& other) noexcept {
  if (this != &other) {
    Close();
    module_ = std::exchange(other.module_, nullptr);
    handle_ = std::exchange(other.handle_, CK_INVALID_HANDLE);
    generation_ = other.generation_;
  }
  return *this;
}

void Pkcs11Session::Close() {
  if (module_ == nullptr) return;
  Pkcs11Module::Use use(*module_);
  if (use.generation() == generation_) module_->CloseSession(use, handle_);
  module_ = nullptr;
  handle_ = CK_INVALID_HANDLE;
}

}  // namespace sigil::signer::pkcs11
