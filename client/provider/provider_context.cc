#include "client/provider/provider_context.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include <cstdarg>
#include <cstdlib>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sigil::provider {

const OSSL_ITEM kReasonStrings[] = {
    {kReasonConfig, const_cast<char*>("sigil provider configuration error")},
    {kReasonRpc, const_cast<char*>("sigil signer call failed")},
    {kReasonUnsupported, const_cast<char*>("not supported by the remote sigil key")},
    {kReasonBadUri, const_cast<char*>("bad sigil store URI")},
    {kReasonNoPrivateKey, const_cast<char*>("sigil key has no remote private key or it cannot be exported")},
    {kReasonBadSignature, const_cast<char*>("sigil signer returned a malformed signature")},
    {kReasonInternal, const_cast<char*>("sigil provider internal error")},
    {0, nullptr},
};

absl::StatusOr<ProviderConfig> ReadProviderConfig(const OSSL_CORE_HANDLE* handle,
                                                  OSSL_FUNC_core_get_params_fn* get_params) {
  // Pointers into the core's configuration (valid while the provider is loaded); copied at once.
  char* signer = nullptr;
  char* ca_file = nullptr;
  char* cert_file = nullptr;
  char* key_file = nullptr;
  char* timeout_ms = nullptr;
  char* load_default = nullptr;
  OSSL_PARAM params[] = {
      OSSL_PARAM_utf8_ptr("signer", &signer, 0),       OSSL_PARAM_utf8_ptr("ca_file", &ca_file, 0),
      OSSL_PARAM_utf8_ptr("cert_file", &cert_file, 0), OSSL_PARAM_utf8_ptr("key_file", &key_file, 0),
      OSSL_PARAM_utf8_ptr("timeout_ms", &timeout_ms, 0), OSSL_PARAM_utf8_ptr("load_default", &load_default, 0),
      OSSL_PARAM_END,
  };
  if (get_params != nullptr) get_params(handle, params);
  auto pick = [](const char* configured, const char* env) -> std::string {
    if (configured != nullptr && *configured != '\0') return configured;
    const char* value = std::getenv(env);
    return value != nullptr ? value : "";
  };
  ProviderConfig config;
  config.signer = pick(signer, "SIGIL_SIGNER");
  config.ca_file = pick(ca_file, "SIGIL_CA_FILE");
  config.cert_file = pick(cert_file, "SIGIL_CERT_FILE");
  config.key_file = pick(key_file, "SIGIL_KEY_FILE");
  std::string load_default_value = pick(load_default, "SIGIL_LOAD_DEFAULT");
  if (!load_default_value.empty()) {
    if (load_default_value != "0" && load_default_value != "1") {
      return absl::InvalidArgumentError(
          absl::StrCat("load_default / SIGIL_LOAD_DEFAULT must be 0 or 1, got \"", load_default_value, "\""));
    }
    config.load_default = load_default_value == "1";
  }
  std::string timeout = pick(timeout_ms, "SIGIL_TIMEOUT_MS");
  if (!timeout.empty()) {
    int value = 0;
    if (!absl::SimpleAtoi(timeout, &value) || value < 1 || value > 600000) {
      return absl::InvalidArgumentError(
          absl::StrCat("timeout_ms / SIGIL_TIMEOUT_MS must be an integer in [1, 600000], got \"", timeout, "\""));
    }
    config.timeout_ms = value;
  }
  return config;
}

std::unique_ptr<ProviderContext> ProviderContext::Create(const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in) {
  std::unique_ptr<ProviderContext> ctx(new ProviderContext());
  ctx->handle_ = handle;
  OSSL_FUNC_core_get_params_fn* get_params = nullptr;
  OSSL_FUNC_core_get_libctx_fn* get_libctx = nullptr;
  for (const OSSL_DISPATCH* fn = in; fn != nullptr && fn->function_id != 0; ++fn) {
    switch (fn->function_id) {
      case OSSL_FUNC_CORE_GET_PARAMS:
        get_params = OSSL_FUNC_core_get_params(fn);
        break;
      case OSSL_FUNC_CORE_NEW_ERROR:
        ctx->new_error_ = OSSL_FUNC_core_new_error(fn);
        break;
      case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
        ctx->set_error_debug_ = OSSL_FUNC_core_set_error_debug(fn);
        break;
      case OSSL_FUNC_CORE_VSET_ERROR:
        ctx->vset_error_ = OSSL_FUNC_core_vset_error(fn);
        break;
      case OSSL_FUNC_CORE_GET_LIBCTX:
        get_libctx = OSSL_FUNC_core_get_libctx(fn);
        break;
      default:
        break;
    }
  }
  absl::StatusOr<ProviderConfig> config = ReadProviderConfig(handle, get_params);
  if (!config.ok()) {
    ctx->RaiseError(kReasonConfig, "%s", std::string(config.status().message()).c_str());
    return nullptr;
  }
  ctx->config_ = *std::move(config);
  // OpenSSL prefers, for a fetch without property query (EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL),
  // libssl's check of which provider implements a TLS group), the provider that was added to the library
  // context first. This provider's RSA and EC key management cannot generate or hold ordinary keys, so it
  // must not come first: `-provider sigil -provider default` would otherwise break ECDHE in the host and
  // in gRPC's own TLS. OSSL_provider_init runs before the core adds this provider to the context, so
  // loading the default provider here puts it ahead (a second load by the host only takes a reference).
  if (ctx->config_.load_default && get_libctx != nullptr) {
    // The core context handed to a provider living in the same libcrypto is the application's library
    // context (what OSSL_LIB_CTX_new_from_dispatch relies on too).
    auto* parent = reinterpret_cast<OSSL_LIB_CTX*>(get_libctx(handle));
    ctx->default_provider_ = OSSL_PROVIDER_load(parent, "default");
    if (ctx->default_provider_ == nullptr) {
      ctx->RaiseError(kReasonConfig, "cannot load the default provider ahead of sigil (set load_default = 0 "
                      "to skip)");
      return nullptr;
    }
  }
  // A child of the application's library context: sees the providers the application loaded (for
  // SHA-2 and X.509 decoding), created here because it needs the core handle.
  ctx->libctx_ = OSSL_LIB_CTX_new_child(handle, in);
  return ctx;
}

ProviderContext::~ProviderContext() {
  {
    absl::MutexLock lock(&mu_);
    client_.reset();
  }
  OSSL_LIB_CTX_free(libctx_);
}

const client::SignerClient* ProviderContext::Client() {
  absl::MutexLock lock(&mu_);
  if (client_ != nullptr) return client_.get();
  if (config_.signer.empty()) {
    RaiseError(kReasonConfig,
               "no signer configured: set `signer` in the provider's openssl.cnf section or SIGIL_SIGNER");
    return nullptr;
  }
  client::SignerClientOptions options;
  options.channel.target = config_.signer;
  options.channel.ca_file = config_.ca_file;
  options.channel.cert_file = config_.cert_file;
  options.channel.key_file = config_.key_file;
  options.timeout = absl::Milliseconds(config_.timeout_ms);
  absl::StatusOr<std::unique_ptr<client::SignerClient>> client = client::SignerClient::Create(options);
  if (!client.ok()) {
    RaiseError(kReasonConfig, "cannot set up the channel to signer %s: %s", config_.signer.c_str(),
               client.status().ToString().c_str());
    return nullptr;
  }
  client_ = *std::move(client);
  return client_.get();
}

void ProviderContext::RaiseError(int reason, const char* format, ...) const {
  if (new_error_ == nullptr || vset_error_ == nullptr) return;
  va_list args;
  va_start(args, format);
  new_error_(handle_);
  if (set_error_debug_ != nullptr) set_error_debug_(handle_, OPENSSL_FILE, OPENSSL_LINE, "sigil");
  vset_error_(handle_, reason, format, args);
  va_end(args);
}

void ProviderContext::RaiseRpcError(const absl::Status& status, const std::string& context) const {
  RaiseError(kReasonRpc, "%s: %s", context.c_str(), status.ToString().c_str());
}

}  // namespace sigil::provider
