// The `sigil` OpenSSL 3 provider's per-load state: configuration (openssl.cnf parameters, else SIGIL_*
// environment variables), the core's error upcalls, a child library context for local hashing and key
// parsing, and the SignerClient, created on first use (never inside OSSL_provider_init).
//
// Thread-safety: every method may be called from any thread. Client() holds the context's own mutex only
// while creating the client, never during an RPC, and no OpenSSL lock is held by this code across an RPC.
#ifndef SIGIL_CLIENT_PROVIDER_PROVIDER_CONTEXT_H_
#define SIGIL_CLIENT_PROVIDER_PROVIDER_CONTEXT_H_

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/types.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "client/signer_client.h"

namespace sigil::provider {

// Reason codes of the errors this provider raises (ERR_GET_REASON); texts in kReasonStrings.
enum Reason : int {
  kReasonConfig = 1,          // Bad or missing configuration.
  kReasonRpc = 2,             // A Signer RPC failed (signerd down, deadline, refused).
  kReasonUnsupported = 3,     // The remote key cannot make what was asked (scheme, padding, salt length).
  kReasonBadUri = 4,          // A store URI this provider cannot parse.
  kReasonNoPrivateKey = 5,    // The key has no remote identity (a public key only) or export of private parts.
  kReasonBadSignature = 6,    // signerd answered with a signature of the wrong shape.
  kReasonInternal = 7,
};

// { reason, text } pairs for OSSL_FUNC_PROVIDER_GET_REASON_STRINGS; terminated by { 0, nullptr }.
extern const OSSL_ITEM kReasonStrings[];

struct ProviderConfig {
  // host:port of signerd.
  std::string signer;
  std::string ca_file, cert_file, key_file;
  // Deadline of each Signer call, retries included.
  int timeout_ms = 5000;
  // Load OpenSSL's default provider ahead of this one (see ProviderContext::Create). Default true.
  bool load_default = true;
};

// Reads `signer`, `ca_file`, `cert_file`, `key_file`, `timeout_ms`, `load_default` through `get_params`
// (the provider's openssl.cnf section; may be null) and falls back to SIGIL_SIGNER, SIGIL_CA_FILE,
// SIGIL_CERT_FILE, SIGIL_KEY_FILE, SIGIL_TIMEOUT_MS, SIGIL_LOAD_DEFAULT for each one absent. INVALID_ARGUMENT
// for a timeout that is not an integer in [1, 600000] or a load_default other than 0 or 1. A missing signer
// is reported later, by Client().
absl::StatusOr<ProviderConfig> ReadProviderConfig(const OSSL_CORE_HANDLE* handle,
                                                  OSSL_FUNC_core_get_params_fn* get_params);

class ProviderContext {
 public:
  // `in` is the core's dispatch table from OSSL_provider_init. Does no I/O beyond reading parameters and
  // the environment. nullptr (after raising nothing: the core has no error upcalls yet) on failure.
  static std::unique_ptr<ProviderContext> Create(const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in);
  ~ProviderContext();

  ProviderContext(const ProviderContext&) = delete;
  ProviderContext& operator=(const ProviderContext&) = delete;

  // The library context for this provider's own use of libcrypto (digests, certificate parsing): a
  // child of the application's context, so it sees the application's providers.
  OSSL_LIB_CTX* libctx() const { return libctx_; }

  // The SignerClient, created on the first call from the configuration. On failure raises kReasonConfig
  // with the reason and returns nullptr (and tries again on the next call).
  const client::SignerClient* Client();

  // Raises an OpenSSL error with `reason` and a printf-style detail, through the core's upcalls.
  void RaiseError(int reason, const char* format, ...) const __attribute__((format(printf, 3, 4)));
  // Raises `status` as kReasonRpc with `context`: "<context>: <code>: <message>".
  void RaiseRpcError(const absl::Status& status, const std::string& context) const;

  const ProviderConfig& config() const { return config_; }

 private:
  ProviderContext() = default;

  const OSSL_CORE_HANDLE* handle_ = nullptr;
  OSSL_FUNC_core_new_error_fn* new_error_ = nullptr;
  OSSL_FUNC_core_set_error_debug_fn* set_error_debug_ = nullptr;
  OSSL_FUNC_core_vset_error_fn* vset_error_ = nullptr;
  OSSL_LIB_CTX* libctx_ = nullptr;
  // The reference taken on the application's default provider; deliberately never released (the core
  // frees every provider of a context when it goes away, and teardown runs inside that).
  OSSL_PROVIDER* default_provider_ = nullptr;
  ProviderConfig config_;

  // Guards members below.
  absl::Mutex mu_;
  std::unique_ptr<client::SignerClient> client_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sigil::provider

#endif  // SIGIL_CLIENT_PROVIDER_PROVIDER_CONTEXT_H_
