#include "signer/stores/pem/pem_signing_key.h"

#include <openssl/core_names.h>
#include <openssl/rsa.h>

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

absl::StatusOr<std::string> PemSigningKey::Sign(const SignatureScheme& scheme, absl::string_view digest) {
  ClearOpenSslErrors();
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "EVP_PKEY_sign_init");
  }
  if (EVP_PKEY_CTX_set_signature_md(ctx.get(), scheme.md()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "EVP_PKEY_CTX_set_signature_md");
  }
  if (info_.type == KeyType::kRsa) {
    int padding = scheme.pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING;
    if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), padding) != 1) {
      return OpenSslError(absl::StatusCode::kInternal, "EVP_PKEY_CTX_set_rsa_padding");
    }
    if (scheme.pss && (EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) != 1 ||
                       EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), scheme.md()) != 1)) {
      return OpenSslError(absl::StatusCode::kInternal, "RSA-PSS parameters");
    }
  }
  const auto* in = reinterpret_cast<const unsigned char*>(digest.data());
  size_t sig_len = 0;
  if (EVP_PKEY_sign(ctx.get(), nullptr, &sig_len, in, digest.size()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "EVP_PKEY_sign (size)");
  }
  std::string sig(sig_len, '\0');
  if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &sig_len, in, digest.size()) !=
      1) {
    return OpenSslError(absl::StatusCode::kInternal, "EVP_PKEY_sign");
  }
  sig.resize(sig_len);
  return sig;
}

}  // namespace sigil::signer
