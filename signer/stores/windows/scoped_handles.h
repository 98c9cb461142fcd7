// RAII owners for the Windows handles the store core uses (Chromium crypto/scoped_cng_types.h style):
// each wrapper owns one handle, closes it in its destructor, is move-only, and never closes a null handle.
//
//   ScopedCertStore        HCERTSTORE             CertCloseStore
//   ScopedCertContext      PCCERT_CONTEXT         CertFreeCertificateContext
//   ScopedChainContext     PCCERT_CHAIN_CONTEXT   CertFreeCertificateChain
//   ScopedNCryptHandle     NCRYPT_PROV_HANDLE / NCRYPT_KEY_HANDLE   NCryptFreeObject
//   ScopedBCryptAlgorithm  BCRYPT_ALG_HANDLE      BCryptCloseAlgorithmProvider
//   ScopedBCryptKey        BCRYPT_KEY_HANDLE      BCryptDestroyKey
//   ScopedLocalMemory      memory from LocalAlloc (CRYPT_DECODE_ALLOC_FLAG)   LocalFree
#ifndef SIGIL_SIGNER_STORES_WINDOWS_SCOPED_HANDLES_H_
#define SIGIL_SIGNER_STORES_WINDOWS_SCOPED_HANDLES_H_

// clang-format off
#include <windows.h>
#include <wincrypt.h>
#include <bcrypt.h>
#include <ncrypt.h>
// clang-format on

#include <utility>

namespace sigil::winstore {

// Owns a handle of type T; Traits::Close(T) releases it and Traits::Null() is the empty value.
template <typename T, typename Traits>
class ScopedHandle {
 public:
  ScopedHandle() = default;
  explicit ScopedHandle(T handle) : handle_(handle) {}
  ScopedHandle(const ScopedHandle&) = delete;
  ScopedHandle& operator=(const ScopedHandle&) = delete;
  ScopedHandle(ScopedHandle&& other) noexcept : handle_(other.release()) {}
  ScopedHandle& operator=(ScopedHandle&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  ~ScopedHandle() { reset(); }

  T get() const { return handle_; }
  explicit operator bool() const { return handle_ != Traits::Null(); }
  // For out-parameters: closes the current handle and returns the slot to fill.
  T* receive() {
    reset();
    return &handle_;
  }
  T release() { return std::exchange(handle_, Traits::Null()); }
  void reset(T handle = Traits::Null()) {
    if (handle_ != Traits::Null()) Traits::Close(handle_);
    handle_ = handle;
  }

 private:
  T handle_ = Traits::Null();
};

struct CertStoreTraits {
  static HCERTSTORE Null() { return nullptr; }
  static void Close(HCERTSTORE h) { CertCloseStore(h, 0); }
};
struct CertContextTraits {
  static PCCERT_CONTEXT Null() { return nullptr; }
  static void Close(PCCERT_CONTEXT h) { CertFreeCertificateContext(h); }
};
struct ChainContextTraits {
  static PCCERT_CHAIN_CONTEXT Null() { return nullptr; }
  static void Close(PCCERT_CHAIN_CONTEXT h) { CertFreeCertificateChain(h); }
};
struct NCryptTraits {
  static NCRYPT_HANDLE Null() { return 0; }
  static void Close(NCRYPT_HANDLE h) { NCryptFreeObject(h); }
};
struct BCryptAlgorithmTraits {
  static BCRYPT_ALG_HANDLE Null() { return nullptr; }
  static void Close(BCRYPT_ALG_HANDLE h) { BCryptCloseAlgorithmProvider(h, 0); }
};
struct BCryptKeyTraits {
  static BCRYPT_KEY_HANDLE Null() { return nullptr; }
  static void Close(BCRYPT_KEY_HANDLE h) { BCryptDestroyKey(h); }
};
struct LocalMemoryTraits {
  static void* Null() { return nullptr; }
  static void Close(void* p) { LocalFree(p); }
};

using ScopedCertStore = ScopedHandle<HCERTSTORE, CertStoreTraits>;
using ScopedCertContext = ScopedHandle<PCCERT_CONTEXT, CertContextTraits>;
using ScopedChainContext = ScopedHandle<PCCERT_CHAIN_CONTEXT, ChainContextTraits>;
using ScopedNCryptHandle = ScopedHandle<NCRYPT_HANDLE, NCryptTraits>;
using ScopedBCryptAlgorithm = ScopedHandle<BCRYPT_ALG_HANDLE, BCryptAlgorithmTraits>;
using ScopedBCryptKey = ScopedHandle<BCRYPT_KEY_HANDLE, BCryptKeyTraits>;
using ScopedLocalMemory = ScopedHandle<void*, LocalMemoryTraits>;

}  // namespace sigil::winstore

#endif  // SIGIL_SIGNER_STORES_WINDOWS_SCOPED_HANDLES_H_
