#include "signer/stores/pem/pem_signing_key.h"

#include <openssl/core_names.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace sigil::signer {

absl::StatusOr<KeyInfo> DescribeKey(EVP_PKEY* key) {
  KeyInfo info;
  info.bits = EVP_PKEY_get_bits(key);
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      info.type = KeyType::kRsa;
      if (info.bits < 2048) {
        return absl::InvalidArgumentError(
            absl::StrCat("RSA key of ", info.bits, " bits is too small (at least 2048)"));
      }
      return info;
    case EVP_PKEY_EC: {
      info.type = KeyType::kEc;
      char group[64] = {0};
      size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &len) != 1) {
        return OpenSslError(absl::StatusCode::kInvalidArgument, "EC key without a named curve");
      }
      info.curve_nid = OBJ_sn2nid(group);
      if (info.curve_nid == NID_undef) info.curve_nid = OBJ_ln2nid(group);
      if (info.curve_nid != NID_X9_62_prime256v1 && info.curve_nid != NID_secp384r1 &&
          info.curve_nid != NID_secp521r1) {
        return absl::InvalidArgumentError(
            absl::StrCat("EC curve ", group, " is not supported (P-256, P-384, P-521)"));
      }
      return info;
    }
    default:
      return absl::InvalidArgumentError("only RSA and EC keys are supported");
  }
}

absl::StatusOr<std::unique_ptr<PemSigningKey>> PemSigningKey::Create(EvpPkeyPtr key) {
  SIGIL_ASSIGN_OR_RETURN(KeyInfo info, DescribeKey(key.get()));
  return std::unique_ptr<PemSigningKey>(new PemSigningKey(std::move(key), info));
}

namespace {

// Contexts ready to sign (EVP_PKEY_sign_init done, digest and padding set), per thread, by key and scheme.
// Building one costs more than an ECDSA P-256 signature in OpenSSL 3.0 (EVP_PKEY_CTX_new_from_pkey and
// sign_init look the operation up in the provider store, under global locks, and the digest and padding
// are set through parameter lookups), while OpenSSL lets one context make any number of signatures with the
// same parameters. A context is used by its thread only; it holds a reference to its key, so a key replaced
// by a rotation stays alive until this thread's entry for it is dropped (least recently added first).
struct ThreadContext {
  uint64_t key_id = 0;
  uint16_t scheme = 0;
  EvpPkeyCtxPtr ctx;
};
constexpr size_t kContextsPerThread = 16;
thread_local std::vector<ThreadContext> thread_contexts;

std::atomic<uint64_t> next_key_id{1};

absl::StatusOr<EvpPkeyCtxPtr> NewSignContext(EVP_PKEY* key, const KeyInfo& info, const SignatureScheme& scheme) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "EVP_PKEY_sign_init");
  }
  if (EVP_PKEY_CTX_set_signature_md(ctx.get(), scheme.md()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "EVP_PKEY_CTX_set_signature_md");
  }
  if (info.type == KeyType::kRsa) {
    int padding = scheme.pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING;
    if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), padding) != 1) {
      return OpenSslError(absl::StatusCode::kInternal, "EVP_PKEY_CTX_set_rsa_padding");
    }
    if (scheme.pss && (EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) != 1 ||
                       EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), scheme.md()) != 1)) {
      return OpenSslError(absl::StatusCode::kInternal, "RSA-PSS parameters");
    }
  }
  return ctx;
}

}  // namespace

PemSigningKey::PemSigningKey(EvpPkeyPtr key, KeyInfo info)
    : key_(std::move(key)), info_(info), id_(next_key_id.fetch_add(1)) {}

absl::StatusOr<std::string> PemSigningKey::Sign(const SignatureScheme& scheme, absl::string_view digest) {
  ClearOpenSslErrors();
  std::vector<ThreadContext>& contexts = thread_contexts;
  auto it = std::find_if(contexts.begin(), contexts.end(), [&](const ThreadContext& c) {
    return c.key_id == id_ && c.scheme == scheme.code;
  });
  if (it == contexts.end()) {
    SIGIL_ASSIGN_OR_RETURN(EvpPkeyCtxPtr ctx, NewSignContext(key_.get(), info_, scheme));
    if (contexts.size() >= kContextsPerThread) contexts.erase(contexts.begin());
    contexts.push_back(ThreadContext{id_, scheme.code, std::move(ctx)});
    it = contexts.end() - 1;
  }
  EVP_PKEY_CTX* ctx = it->ctx.get();
  const auto* in = reinterpret_cast<const unsigned char*>(digest.data());
  size_t sig_len = 0;
  if (EVP_PKEY_sign(ctx, nullptr, &sig_len, in, digest.size()) != 1) {
    contexts.erase(it);  // Never reuse a context that failed.
    return OpenSslError(absl::StatusCode::kInternal, "EVP_PKEY_sign (size)");
  }
  std::string sig(sig_len, '\0');
  if (EVP_PKEY_sign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &sig_len, in, digest.size()) != 1) {
    contexts.erase(it);
    return OpenSslError(absl::StatusCode::kInternal, "EVP_PKEY_sign");
  }
  sig.resize(sig_len);
  return sig;
}

}  // namespace sigil::signer
