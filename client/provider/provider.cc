// Entry point of the `sigil` OpenSSL 3 provider module (sigil.so): OSSL_provider_init and the algorithm
// tables. The only exported symbol (see sigil.lds).
#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "client/provider/key.h"
#include "client/provider/provider_context.h"
#include "client/provider/signature.h"
#include "client/provider/store.h"

namespace sigil::provider {
namespace {

#define SIGIL_PROPS "provider=sigil"

const OSSL_ALGORITHM kKeymgmt[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", SIGIL_PROPS, kRsaKeymgmtFunctions, "sigil remote RSA key"},
    {"EC:id-ecPublicKey:1.2.840.10045.2.1", SIGIL_PROPS, kEcKeymgmtFunctions, "sigil remote EC key"},
    {nullptr, nullptr, nullptr, nullptr},
};
const OSSL_ALGORITHM kSignature[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", SIGIL_PROPS, kRsaSignatureFunctions, "sigil remote RSA signature"},
    {"ECDSA", SIGIL_PROPS, kEcdsaSignatureFunctions, "sigil remote ECDSA signature"},
    {nullptr, nullptr, nullptr, nullptr},
};
const OSSL_ALGORITHM kStore[] = {
    {"sigil", SIGIL_PROPS, kStoreFunctions, "sigil:identity=<name> keys held by signerd"},
    {nullptr, nullptr, nullptr, nullptr},
};

const OSSL_ALGORITHM* Query(void*, int operation_id, int* no_cache) {
  *no_cache = 0;
  switch (operation_id) {
    case OSSL_OP_KEYMGMT:
      return kKeymgmt;
    case OSSL_OP_SIGNATURE:
      return kSignature;
    case OSSL_OP_STORE:
      return kStore;
    default:
      return nullptr;
  }
}

const OSSL_PARAM kGettable[] = {
    OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_NAME, nullptr, 0),
    OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_VERSION, nullptr, 0),
    OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_BUILDINFO, nullptr, 0),
    OSSL_PARAM_int(OSSL_PROV_PARAM_STATUS, nullptr),
    OSSL_PARAM_END,
};

const OSSL_PARAM* GettableParams(void*) { return kGettable; }

int GetParams(void*, OSSL_PARAM params[]) {
  OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME)) != nullptr &&
      !OSSL_PARAM_set_utf8_ptr(p, "Sigil remote-key provider")) {
    return 0;
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION)) != nullptr && !OSSL_PARAM_set_utf8_ptr(p, "1")) {
    return 0;
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO)) != nullptr &&
      !OSSL_PARAM_set_utf8_ptr(p, "sigil")) {
    return 0;
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS)) != nullptr && !OSSL_PARAM_set_int(p, 1)) return 0;
  return 1;
}

const OSSL_ITEM* GetReasonStrings(void*) { return kReasonStrings; }

void Teardown(void* provctx) { delete static_cast<ProviderContext*>(provctx); }

using Fn = void (*)();

const OSSL_DISPATCH kProviderFunctions[] = {
    {OSSL_FUNC_PROVIDER_TEARDOWN, reinterpret_cast<Fn>(Teardown)},
    {OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, reinterpret_cast<Fn>(GettableParams)},
    {OSSL_FUNC_PROVIDER_GET_PARAMS, reinterpret_cast<Fn>(GetParams)},
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, reinterpret_cast<Fn>(Query)},
    {OSSL_FUNC_PROVIDER_GET_REASON_STRINGS, reinterpret_cast<Fn>(GetReasonStrings)},
    {0, nullptr},
};

}  // namespace
}  // namespace sigil::provider

// Reads the configuration (no network I/O: the channel is created on first use).
extern "C" int OSSL_provider_init(const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in,
                                  const OSSL_DISPATCH** out, void** provctx) {
  std::unique_ptr<sigil::provider::ProviderContext> ctx = sigil::provider::ProviderContext::Create(handle, in);
  if (ctx == nullptr) return 0;
  *provctx = ctx.release();
  *out = sigil::provider::kProviderFunctions;
  return 1;
}
