#include "client/provider/store.h"

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/params.h>
#include <openssl/store.h>

#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "client/provider/key.h"

namespace sigil::provider {
namespace {

struct StoreCtx {
  ProviderContext* provider = nullptr;
  SigilKey key;
  int expect = 0;  // OSSL_STORE_INFO_* or 0 for everything.
  int next = 0;    // 0: key, 1: certificate, 2: end.
};

void* StoreOpen(void* provctx, const char* uri) {
  auto* provider = static_cast<ProviderContext*>(provctx);
  absl::StatusOr<std::string> identity = ParseStoreUri(uri == nullptr ? "" : uri);
  if (!identity.ok()) {
    provider->RaiseError(kReasonBadUri, "%s", std::string(identity.status().message()).c_str());
    return nullptr;
  }
  const client::SignerClient* client = provider->Client();
  if (client == nullptr) return nullptr;
  absl::StatusOr<client::CertificateChain> chain = client->GetCertificateChain(*identity);
  if (!chain.ok()) {
    provider->RaiseRpcError(chain.status(), "GetCertificateChain(" + *identity + ")");
    return nullptr;
  }
  auto ctx = std::make_unique<StoreCtx>();
  ctx->provider = provider;
  ctx->key.provider = provider;
  ctx->key.identity = *identity;
  ctx->key.schemes = chain->schemes;
  ctx->key.chain = chain->certificates;
  absl::Status status = SetPublicKeyFromCertificate(provider->libctx(), chain->certificates.front(), &ctx->key);
  if (!status.ok()) {
    provider->RaiseError(kReasonRpc, "identity %s: %s", identity->c_str(), std::string(status.message()).c_str());
    return nullptr;
  }
  return ctx.release();
}

const OSSL_PARAM kSettable[] = {
    OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, nullptr),
    OSSL_PARAM_END,
};

const OSSL_PARAM* StoreSettableCtxParams(void*) { return kSettable; }

int StoreSetCtxParams(void* vctx, const OSSL_PARAM params[]) {
  auto* ctx = static_cast<StoreCtx*>(vctx);
  const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT);
  if (p != nullptr && !OSSL_PARAM_get_int(p, &ctx->expect)) return 0;
  return 1;
}

int StoreLoad(void* vctx, OSSL_CALLBACK* object_cb, void* object_cbarg, OSSL_PASSPHRASE_CALLBACK*, void*) {
  auto* ctx = static_cast<StoreCtx*>(vctx);
  while (ctx->next < 2) {
    int which = ctx->next++;
    if (which == 0 && (ctx->expect == 0 || ctx->expect == OSSL_STORE_INFO_PKEY)) {
      int type = OSSL_OBJECT_PKEY;
      SigilKey* reference = &ctx->key;
      const char* data_type = ctx->key.type == KeyType::kRsa ? "RSA" : "EC";
      OSSL_PARAM params[] = {
          OSSL_PARAM_int(OSSL_OBJECT_PARAM_TYPE, &type),
          OSSL_PARAM_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE, const_cast<char*>(data_type), 0),
          OSSL_PARAM_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &reference, sizeof(reference)),
          OSSL_PARAM_END,
      };
      return object_cb(params, object_cbarg);
    }
    if (which == 1 && (ctx->expect == 0 || ctx->expect == OSSL_STORE_INFO_CERT)) {
      int type = OSSL_OBJECT_CERT;
      std::string& der = ctx->key.chain.front();
      OSSL_PARAM params[] = {
          OSSL_PARAM_int(OSSL_OBJECT_PARAM_TYPE, &type),
          OSSL_PARAM_octet_string(OSSL_OBJECT_PARAM_DATA, der.data(), der.size()),
          OSSL_PARAM_END,
      };
      return object_cb(params, object_cbarg);
    }
  }
  return 0;
}

int StoreEof(void* vctx) { return static_cast<StoreCtx*>(vctx)->next >= 2 ? 1 : 0; }

int StoreClose(void* vctx) {
  delete static_cast<StoreCtx*>(vctx);
  return 1;
}

using Fn = void (*)();

}  // namespace

absl::StatusOr<std::string> ParseStoreUri(const std::string& uri) {
  absl::string_view rest = uri;
  if (!absl::ConsumePrefix(&rest, "sigil:")) {
    return absl::InvalidArgumentError(absl::StrCat("not a sigil: URI: \"", absl::CEscape(uri.substr(0, 64)), "\""));
  }
  if (!absl::ConsumePrefix(&rest, "identity=")) {
    return absl::InvalidArgumentError("a sigil URI has the form sigil:identity=<name>");
  }
  if (rest.empty() || rest.size() > 256) {
    return absl::InvalidArgumentError("the identity name in a sigil URI must have 1 to 256 characters");
  }
  for (char c : rest) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return absl::InvalidArgumentError(
          "the identity name in a sigil URI may contain only letters, digits, '.', '_' and '-'");
    }
  }
  return std::string(rest);
}

// No OSSL_FUNC_STORE_EXPORT_OBJECT: OpenSSL then loads the key with this provider's own key management
// instead of exporting it to another provider (which could not sign with it).
const OSSL_DISPATCH kStoreFunctions[] = {
    {OSSL_FUNC_STORE_OPEN, reinterpret_cast<Fn>(StoreOpen)},
    {OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS, reinterpret_cast<Fn>(StoreSettableCtxParams)},
    {OSSL_FUNC_STORE_SET_CTX_PARAMS, reinterpret_cast<Fn>(StoreSetCtxParams)},
    {OSSL_FUNC_STORE_LOAD, reinterpret_cast<Fn>(StoreLoad)},
    {OSSL_FUNC_STORE_EOF, reinterpret_cast<Fn>(StoreEof)},
    {OSSL_FUNC_STORE_CLOSE, reinterpret_cast<Fn>(StoreClose)},
    {0, nullptr},
};

}  // namespace sigil::provider
