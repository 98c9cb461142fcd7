#include "client/provider/signature.h"

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "client/provider/key.h"
#include "common/openssl_util.h"

namespace sigil::provider {
namespace {

using EvpMdPtr = std::unique_ptr<EVP_MD, internal::OpenSslDeleter<EVP_MD, EVP_MD_free>>;

// Salt length "digest" (RSA_PSS_SALTLEN_DIGEST), also what an unset salt length means here.
constexpr int kSaltDigest = RSA_PSS_SALTLEN_DIGEST;

struct SignCtx {
  ProviderContext* provider = nullptr;
  KeyType type = KeyType::kRsa;
  // Copy of the key (OpenSSL keeps the key alive during the operation, but a copy keeps dupctx simple).
  SigilKey key;
  bool has_key = false;
  EvpMdPtr md;
  EvpMdPtr mgf1_md;
  int padding = RSA_PKCS1_PADDING;
  int saltlen = kSaltDigest;
  EvpMdCtxPtr md_ctx;  // For digest_sign_update/final.
};

template <KeyType kType>
void* NewCtx(void* provctx, const char*) {
  auto* ctx = new SignCtx();
  ctx->provider = static_cast<ProviderContext*>(provctx);
  ctx->type = kType;
  return ctx;
}

void FreeCtx(void* vctx) { delete static_cast<SignCtx*>(vctx); }

void* DupCtx(void* vctx) {
  const auto* src = static_cast<SignCtx*>(vctx);
  auto* dst = new SignCtx();
  dst->provider = src->provider;
  dst->type = src->type;
  dst->key = src->key;
  dst->has_key = src->has_key;
  dst->padding = src->padding;
  dst->saltlen = src->saltlen;
  if ((src->md != nullptr && !EVP_MD_up_ref(src->md.get())) ||
      (src->mgf1_md != nullptr && !EVP_MD_up_ref(src->mgf1_md.get()))) {
    delete dst;
    return nullptr;
  }
  dst->md.reset(src->md.get());
  dst->mgf1_md.reset(src->mgf1_md.get());
  if (src->md_ctx != nullptr) {
    dst->md_ctx.reset(EVP_MD_CTX_new());
    if (dst->md_ctx == nullptr || !EVP_MD_CTX_copy_ex(dst->md_ctx.get(), src->md_ctx.get())) {
      delete dst;
      return nullptr;
    }
  }
  return dst;
}

bool FetchMd(SignCtx* ctx, const char* name, EvpMdPtr* out) {
  EvpMdPtr md(EVP_MD_fetch(ctx->provider->libctx(), name, nullptr));
  if (md == nullptr) {
    ctx->provider->RaiseError(kReasonUnsupported, "unknown digest %s", name);
    return false;
  }
  *out = std::move(md);
  return true;
}

int SetCtxParams(void* vctx, const OSSL_PARAM params[]) {
  auto* ctx = static_cast<SignCtx*>(vctx);
  if (ctx == nullptr) return 0;
  if (params == nullptr) return 1;
  const OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST)) != nullptr) {
    const char* name = nullptr;
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || !FetchMd(ctx, name, &ctx->md)) return 0;
  }
  if (ctx->type != KeyType::kRsa) return 1;
  if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) != nullptr) {
    int mode = 0;
    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
      const char* name = nullptr;
      if (!OSSL_PARAM_get_utf8_string_ptr(p, &name)) return 0;
      mode = std::strcmp(name, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0 ? RSA_PKCS1_PADDING
             : std::strcmp(name, OSSL_PKEY_RSA_PAD_MODE_PSS) == 0   ? RSA_PKCS1_PSS_PADDING
                                                                    : -1;
    } else if (!OSSL_PARAM_get_int(p, &mode)) {
      return 0;
    }
    if (mode != RSA_PKCS1_PADDING && mode != RSA_PKCS1_PSS_PADDING) {
      ctx->provider->RaiseError(kReasonUnsupported, "RSA padding mode %d: the remote key signs with PKCS#1 v1.5 "
                                "or PSS only", mode);
      return 0;
    }
    ctx->padding = mode;
  }
  if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN)) != nullptr) {
    int saltlen = 0;
    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
      const char* value = nullptr;
      if (!OSSL_PARAM_get_utf8_string_ptr(p, &value)) return 0;
      if (std::strcmp(value, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST) == 0) {
        saltlen = kSaltDigest;
      } else if (std::strcmp(value, OSSL_PKEY_RSA_PSS_SALT_LEN_MAX) == 0) {
        saltlen = RSA_PSS_SALTLEN_MAX;
      } else if (std::strcmp(value, OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO) == 0) {
        saltlen = RSA_PSS_SALTLEN_AUTO;
      } else if (!absl::SimpleAtoi(value, &saltlen)) {
        return 0;
      }
    } else if (!OSSL_PARAM_get_int(p, &saltlen)) {
      return 0;
    }
    ctx->saltlen = saltlen;
  }
  if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST)) != nullptr) {
    const char* name = nullptr;
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || !FetchMd(ctx, name, &ctx->mgf1_md)) return 0;
  }
  return 1;
}

const OSSL_PARAM kRsaSettable[] = {
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, nullptr, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, nullptr, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, nullptr, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, nullptr, 0),
    OSSL_PARAM_END,
};
const OSSL_PARAM kEcdsaSettable[] = {
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, nullptr, 0),
    OSSL_PARAM_END,
};

template <KeyType kType>
const OSSL_PARAM* SettableCtxParams(void*, void*) {
  return kType == KeyType::kRsa ? kRsaSettable : kEcdsaSettable;
}

int GetCtxParams(void* vctx, OSSL_PARAM params[]) {
  auto* ctx = static_cast<SignCtx*>(vctx);
  if (ctx == nullptr) return 0;
  OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST)) != nullptr && ctx->md != nullptr &&
      !OSSL_PARAM_set_utf8_string(p, EVP_MD_get0_name(ctx->md.get()))) {
    return 0;
  }
  if (ctx->type == KeyType::kRsa && (p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) != nullptr) {
    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
      return OSSL_PARAM_set_utf8_string(p, ctx->padding == RSA_PKCS1_PSS_PADDING ? OSSL_PKEY_RSA_PAD_MODE_PSS
                                                                                   : OSSL_PKEY_RSA_PAD_MODE_PKCSV15);
    }
    return OSSL_PARAM_set_int(p, ctx->padding);
  }
  return 1;
}

const OSSL_PARAM kGettable[] = {
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, nullptr, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, nullptr, 0),
    OSSL_PARAM_END,
};

const OSSL_PARAM* GettableCtxParams(void*, void*) { return kGettable; }

// Common part of sign_init and digest_sign_init.
int Init(SignCtx* ctx, void* provkey, const OSSL_PARAM params[]) {
  if (provkey != nullptr) {
    const auto* key = static_cast<const SigilKey*>(provkey);
    if (key->type != ctx->type) {
      ctx->provider->RaiseError(kReasonInternal, "key type does not match the signature algorithm");
      return 0;
    }
    if (key->identity.empty()) {
      ctx->provider->RaiseError(kReasonNoPrivateKey, "this key is a public key only: it names no signer identity");
      return 0;
    }
    ctx->key = *key;
    ctx->has_key = true;
  }
  if (!ctx->has_key) {
    ctx->provider->RaiseError(kReasonNoPrivateKey, "no key");
    return 0;
  }
  ctx->padding = RSA_PKCS1_PADDING;
  ctx->saltlen = kSaltDigest;
  ctx->mgf1_md.reset();
  return SetCtxParams(ctx, params);
}

int SignInit(void* vctx, void* provkey, const OSSL_PARAM params[]) {
  auto* ctx = static_cast<SignCtx*>(vctx);
  ctx->md.reset();
  ctx->md_ctx.reset();
  return Init(ctx, provkey, params);
}

// The TLS SignatureScheme for the context's key, padding and `md_nid`, or 0 after raising an error.
uint32_t ChooseScheme(const SignCtx& ctx, int md_nid, size_t md_size) {
  uint32_t code = 0;
  const char* what = "";
  if (ctx.type == KeyType::kRsa && ctx.padding == RSA_PKCS1_PSS_PADDING) {
    what = "RSA-PSS";
    code = md_nid == NID_sha256 ? 0x0804 : md_nid == NID_sha384 ? 0x0805 : md_nid == NID_sha512 ? 0x0806 : 0;
    if (code != 0 && ctx.mgf1_md != nullptr && EVP_MD_get_type(ctx.mgf1_md.get()) != md_nid) {
      ctx.provider->RaiseError(kReasonUnsupported, "RSA-PSS with an MGF1 digest other than the message digest");
      return 0;
    }
    if (code != 0 && ctx.saltlen != kSaltDigest && ctx.saltlen != static_cast<int>(md_size)) {
      ctx.provider->RaiseError(kReasonUnsupported,
                               "RSA-PSS salt length %d: the remote key uses salt length = hash length (%zu)",
                               ctx.saltlen, md_size);
      return 0;
    }
  } else if (ctx.type == KeyType::kRsa) {
    what = "RSA PKCS#1 v1.5";
    code = md_nid == NID_sha256   ? 0x0401
           : md_nid == NID_sha384 ? 0x0501
           : md_nid == NID_sha512 ? 0x0601
           : md_nid == NID_sha1   ? 0x0201
                                  : 0;
  } else {
    what = "ECDSA";
    if (md_nid == NID_sha256 && ctx.key.ec_nid == NID_X9_62_prime256v1) code = 0x0403;
    if (md_nid == NID_sha384 && ctx.key.ec_nid == NID_secp384r1) code = 0x0503;
    if (md_nid == NID_sha512 && ctx.key.ec_nid == NID_secp521r1) code = 0x0603;
  }
  if (code == 0) {
    ctx.provider->RaiseError(kReasonUnsupported, "%s with %s%s%s: signerd has no such TLS signature scheme", what,
                             OBJ_nid2sn(md_nid), ctx.type == KeyType::kEc ? " on " : "",
                             ctx.type == KeyType::kEc ? ctx.key.ec_group.c_str() : "");
    return 0;
  }
  if (std::find(ctx.key.schemes.begin(), ctx.key.schemes.end(), code) == ctx.key.schemes.end()) {
    ctx.provider->RaiseError(kReasonUnsupported, "identity %s cannot make signature scheme 0x%04x",
                             ctx.key.identity.c_str(), code);
    return 0;
  }
  return code;
}

// Signs `digest` (made with `md_nid`) remotely into sig/siglen. sig == nullptr asks for the maximum size.
int SignDigest(SignCtx* ctx, int md_nid, unsigned char* sig, size_t* siglen, size_t sigsize,
               const std::string& digest) {
  uint32_t scheme = ChooseScheme(*ctx, md_nid, digest.size());
  if (scheme == 0) return 0;
  const client::SignerClient* client = ctx->provider->Client();
  if (client == nullptr) return 0;
  absl::StatusOr<std::string> signature = client->Sign(ctx->key.identity, scheme, digest);
  if (!signature.ok()) {
    ctx->provider->RaiseRpcError(signature.status(), "Sign(" + ctx->key.identity + ")");
    return 0;
  }
  if ((ctx->type == KeyType::kRsa && signature->size() != static_cast<size_t>(ctx->key.max_size)) ||
      signature->size() > static_cast<size_t>(ctx->key.max_size)) {
    ctx->provider->RaiseError(kReasonBadSignature, "signature of %zu bytes for a key of %d bytes",
                              signature->size(), ctx->key.max_size);
    return 0;
  }
  if (signature->size() > sigsize) {
    ctx->provider->RaiseError(kReasonInternal, "signature buffer too small");
    return 0;
  }
  std::memcpy(sig, signature->data(), signature->size());
  *siglen = signature->size();
  return 1;
}

int Sign(void* vctx, unsigned char* sig, size_t* siglen, size_t sigsize, const unsigned char* tbs, size_t tbslen) {
  auto* ctx = static_cast<SignCtx*>(vctx);
  if (sig == nullptr) {
    *siglen = ctx->key.max_size;
    return 1;
  }
  int md_nid = NID_undef;
  if (ctx->md != nullptr) {
    md_nid = EVP_MD_get_type(ctx->md.get());
    if (static_cast<size_t>(EVP_MD_get_size(ctx->md.get())) != tbslen) {
      ctx->provider->RaiseError(kReasonUnsupported, "digest of %zu bytes for %s", tbslen,
                                EVP_MD_get0_name(ctx->md.get()));
      return 0;
    }
  } else {
    md_nid = tbslen == 32 ? NID_sha256 : tbslen == 48 ? NID_sha384 : tbslen == 64 ? NID_sha512
             : tbslen == 20 ? NID_sha1 : NID_undef;
    if (md_nid == NID_undef) {
      ctx->provider->RaiseError(kReasonUnsupported, "no digest of %zu bytes is supported", tbslen);
      return 0;
    }
  }
  return SignDigest(ctx, md_nid, sig, siglen, sigsize, std::string(reinterpret_cast<const char*>(tbs), tbslen));
}

int DigestSignInit(void* vctx, const char* mdname, void* provkey, const OSSL_PARAM params[]) {
  auto* ctx = static_cast<SignCtx*>(vctx);
  ctx->md.reset();
  if (!Init(ctx, provkey, params)) return 0;
  if (mdname != nullptr && *mdname != '\0') {
    if (!FetchMd(ctx, mdname, &ctx->md)) return 0;
  } else if (ctx->md == nullptr && !FetchMd(ctx, "SHA256", &ctx->md)) {
    return 0;
  }
  ctx->md_ctx.reset(EVP_MD_CTX_new());
  if (ctx->md_ctx == nullptr || !EVP_DigestInit_ex2(ctx->md_ctx.get(), ctx->md.get(), nullptr)) {
    ctx->provider->RaiseError(kReasonInternal, "cannot start digest %s", EVP_MD_get0_name(ctx->md.get()));
    return 0;
  }
  return 1;
}

int DigestSignUpdate(void* vctx, const unsigned char* data, size_t datalen) {
  auto* ctx = static_cast<SignCtx*>(vctx);
  return ctx->md_ctx != nullptr && EVP_DigestUpdate(ctx->md_ctx.get(), data, datalen) ? 1 : 0;
}

int DigestSignFinal(void* vctx, unsigned char* sig, size_t* siglen, size_t sigsize) {
  auto* ctx = static_cast<SignCtx*>(vctx);
  if (ctx->md_ctx == nullptr) return 0;
  if (sig == nullptr) {
    *siglen = ctx->key.max_size;
    return 1;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (!EVP_DigestFinal_ex(ctx->md_ctx.get(), digest, &digest_len)) return 0;
  return SignDigest(ctx, EVP_MD_get_type(ctx->md.get()), sig, siglen, sigsize,
                    std::string(reinterpret_cast<const char*>(digest), digest_len));
}

int DigestSign(void* vctx, unsigned char* sig, size_t* siglen, size_t sigsize, const unsigned char* tbs,
               size_t tbslen) {
  auto* ctx = static_cast<SignCtx*>(vctx);
  if (sig == nullptr) {
    *siglen = ctx->key.max_size;
    return 1;
  }
  return DigestSignUpdate(vctx, tbs, tbslen) && DigestSignFinal(vctx, sig, siglen, sigsize);
}

using Fn = void (*)();

}  // namespace

#define SIGIL_SIGNATURE_TABLE(kType)                                                              \
  {OSSL_FUNC_SIGNATURE_NEWCTX, reinterpret_cast<Fn>(NewCtx<kType>)},                              \
      {OSSL_FUNC_SIGNATURE_FREECTX, reinterpret_cast<Fn>(FreeCtx)},                               \
      {OSSL_FUNC_SIGNATURE_DUPCTX, reinterpret_cast<Fn>(DupCtx)},                                 \
      {OSSL_FUNC_SIGNATURE_SIGN_INIT, reinterpret_cast<Fn>(SignInit)},                            \
      {OSSL_FUNC_SIGNATURE_SIGN, reinterpret_cast<Fn>(Sign)},                                     \
      {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, reinterpret_cast<Fn>(DigestSignInit)},               \
      {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, reinterpret_cast<Fn>(DigestSignUpdate)},           \
      {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, reinterpret_cast<Fn>(DigestSignFinal)},             \
      {OSSL_FUNC_SIGNATURE_DIGEST_SIGN, reinterpret_cast<Fn>(DigestSign)},                        \
      {OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, reinterpret_cast<Fn>(GetCtxParams)},                   \
      {OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, reinterpret_cast<Fn>(GettableCtxParams)},         \
      {OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, reinterpret_cast<Fn>(SetCtxParams)},                   \
      {OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, reinterpret_cast<Fn>(SettableCtxParams<kType>)}, { \
    0, nullptr                                                                                    \
  }

const OSSL_DISPATCH kRsaSignatureFunctions[] = {SIGIL_SIGNATURE_TABLE(KeyType::kRsa)};
const OSSL_DISPATCH kEcdsaSignatureFunctions[] = {SIGIL_SIGNATURE_TABLE(KeyType::kEc)};

#undef SIGIL_SIGNATURE_TABLE

}  // namespace sigil::provider
