#include "client/provider/key.h"

#include <openssl/bn.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/openssl_util.h"

namespace sigil::provider {
namespace {

using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, internal::OpenSslDeleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, internal::OpenSslDeleter<OSSL_PARAM, OSSL_PARAM_free>>;
using EcGroupPtr = std::unique_ptr<EC_GROUP, internal::OpenSslDeleter<EC_GROUP, EC_GROUP_free>>;

std::string BnToBytes(const BIGNUM* bn) {
  std::string out(BN_num_bytes(bn), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

BignumPtr BytesToBn(const std::string& bytes) {
  return BignumPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), nullptr));
}

// DER length-octets count for a content of `n` bytes.
int DerLengthSize(int n) { return n < 128 ? 1 : n < 256 ? 2 : 3; }

// Derives bits, security bits and the maximum signature size from the public key. False when the key is
// unusable (no modulus, unknown curve).
bool FinishPublicKey(SigilKey* key) {
  if (key->type == KeyType::kRsa) {
    BignumPtr n = BytesToBn(key->rsa_n);
    if (n == nullptr || BN_is_zero(n.get()) || key->rsa_e.empty()) return false;
    key->bits = BN_num_bits(n.get());
    key->security_bits = BN_security_bits(key->bits, -1);
    key->max_size = (key->bits + 7) / 8;
    return true;
  }
  int nid = OBJ_txt2nid(key->ec_group.c_str());
  if (nid == NID_undef) nid = EC_curve_nist2nid(key->ec_group.c_str());
  EcGroupPtr group(nid == NID_undef ? nullptr : EC_GROUP_new_by_curve_name(nid));
  if (group == nullptr || key->ec_pub.empty()) return false;
  key->ec_nid = nid;
  key->bits = EC_GROUP_get_degree(group.get());
  int order_bits = EC_GROUP_order_bits(group.get());
  // As OpenSSL's EC key management rates curves (SP 800-57 part 1).
  key->security_bits = order_bits >= 512 ? 256 : order_bits >= 384 ? 192 : order_bits >= 256 ? 128
                       : order_bits >= 224 ? 112 : order_bits >= 160 ? 80 : order_bits / 2;
  // Largest DER Ecdsa-Sig-Value: SEQUENCE of two INTEGERs of the order's size plus a leading zero byte
  // (the same bound as OpenSSL's ECDSA_size).
  int integer = 1 + DerLengthSize((order_bits + 7) / 8 + 1) + (order_bits + 7) / 8 + 1;
  key->max_size = 1 + DerLengthSize(2 * integer) + 2 * integer;
  return true;
}

// Reads an EVP_PKEY's public key (from any provider) into `key`.
bool CopyPublicKey(EVP_PKEY* pkey, SigilKey* key) {
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    BIGNUM* n = nullptr;
    BIGNUM* e = nullptr;
    bool ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
              EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) == 1;
    if (ok) {
      key->type = KeyType::kRsa;
      key->rsa_n = BnToBytes(n);
      key->rsa_e = BnToBytes(e);
    }
    BN_free(n);
    BN_free(e);
    return ok && FinishPublicKey(key);
  }
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char group[64] = {0};
    size_t group_len = 0;
    size_t pub_len = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &group_len) != 1 ||
        EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0, &pub_len) != 1 || pub_len == 0) {
      return false;
    }
    std::string pub(pub_len, '\0');
    if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, reinterpret_cast<unsigned char*>(pub.data()),
                                        pub.size(), &pub_len) != 1) {
      return false;
    }
    pub.resize(pub_len);
    key->type = KeyType::kEc;
    key->ec_group.assign(group, group_len);
    key->ec_pub = std::move(pub);
    return FinishPublicKey(key);
  }
  return false;
}

// ---- OSSL_OP_KEYMGMT ----

template <KeyType kType>
void* KeyNew(void* provctx) {
  auto* key = new SigilKey();
  key->provider = static_cast<ProviderContext*>(provctx);
  key->type = kType;
  return key;
}

void KeyFree(void* keydata) { delete static_cast<SigilKey*>(keydata); }

// The store loader passes the address of its SigilKey as the reference (valid during this call only).
void* KeyLoad(const void* reference, size_t reference_size) {
  if (reference == nullptr || reference_size != sizeof(SigilKey*)) return nullptr;
  const SigilKey* source = nullptr;
  std::memcpy(&source, reference, sizeof(source));
  return source == nullptr ? nullptr : new SigilKey(*source);
}

int KeyHas(const void* keydata, int selection) {
  const auto* key = static_cast<const SigilKey*>(keydata);
  if (key == nullptr) return 0;
  if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 && !key->has_public()) return 0;
  // The private key is "present" in the sense that this key can sign (remotely); it is never exported.
  if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 && key->identity.empty()) return 0;
  if ((selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) != 0 && key->type == KeyType::kEc &&
      key->ec_group.empty()) {
    return 0;
  }
  return 1;
}

int KeyMatch(const void* keydata1, const void* keydata2, int selection) {
  const auto* a = static_cast<const SigilKey*>(keydata1);
  const auto* b = static_cast<const SigilKey*>(keydata2);
  if (a == nullptr || b == nullptr || a->type != b->type) return 0;
  if (a->type == KeyType::kEc && (selection & OSSL_KEYMGMT_SELECT_ALL_PARAMETERS) != 0 &&
      a->ec_nid != b->ec_nid) {
    return 0;
  }
  if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0) {
    if (a->has_public() && b->has_public()) {
      return a->type == KeyType::kRsa ? (a->rsa_n == b->rsa_n && a->rsa_e == b->rsa_e) : a->ec_pub == b->ec_pub;
    }
    return !a->identity.empty() && a->identity == b->identity;
  }
  return 1;
}

// Public keys only: OpenSSL imports a certificate's public key here to compare it with a sigil key.
int KeyImport(void* keydata, int selection, const OSSL_PARAM params[]) {
  auto* key = static_cast<SigilKey*>(keydata);
  if (key == nullptr) return 0;
  if (OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_D) != nullptr ||
      OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PRIV_KEY) != nullptr) {
    return 0;  // Private key material never enters this provider.
  }
  if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) == 0) return key->type == KeyType::kRsa ? 1 : 0;
  if (key->type == KeyType::kRsa) {
    const OSSL_PARAM* n = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_N);
    const OSSL_PARAM* e = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_E);
    BIGNUM* bn_n = nullptr;
    BIGNUM* bn_e = nullptr;
    bool ok = n != nullptr && e != nullptr && OSSL_PARAM_get_BN(n, &bn_n) == 1 && OSSL_PARAM_get_BN(e, &bn_e) == 1;
    if (ok) {
      key->rsa_n = BnToBytes(bn_n);
      key->rsa_e = BnToBytes(bn_e);
    }
    BN_free(bn_n);
    BN_free(bn_e);
    return ok && FinishPublicKey(key) ? 1 : 0;
  }
  const OSSL_PARAM* group = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME);
  const OSSL_PARAM* pub = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PUB_KEY);
  const char* group_name = nullptr;
  const void* pub_data = nullptr;
  size_t pub_len = 0;
  if (group == nullptr || pub == nullptr || OSSL_PARAM_get_utf8_string_ptr(group, &group_name) != 1 ||
      OSSL_PARAM_get_octet_string_ptr(pub, &pub_data, &pub_len) != 1 || pub_len == 0) {
    return 0;
  }
  key->ec_group = group_name;
  key->ec_pub.assign(static_cast<const char*>(pub_data), pub_len);
  return FinishPublicKey(key) ? 1 : 0;
}

const OSSL_PARAM kRsaPublicParams[] = {
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, nullptr, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, nullptr, 0),
    OSSL_PARAM_END,
};
const OSSL_PARAM kEcPublicParams[] = {
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
    OSSL_PARAM_END,
};

template <KeyType kType>
const OSSL_PARAM* KeyImportExportTypes(int selection) {
  if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0) return nullptr;
  return kType == KeyType::kRsa ? kRsaPublicParams : kEcPublicParams;
}

// The public key and domain parameters; never a private key (there is none here).
int KeyExport(void* keydata, int selection, OSSL_CALLBACK* callback, void* callback_arg) {
  const auto* key = static_cast<const SigilKey*>(keydata);
  if (key == nullptr || (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0) return 0;
  ParamBldPtr builder(OSSL_PARAM_BLD_new());
  if (builder == nullptr) return 0;
  bool ok = true;
  // The builder keeps pointers to these until OSSL_PARAM_BLD_to_param.
  BignumPtr n, e;
  if (key->type == KeyType::kRsa) {
    if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0) {
      n = BytesToBn(key->rsa_n);
      e = BytesToBn(key->rsa_e);
      ok = n != nullptr && e != nullptr && OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) &&
           OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, e.get());
    }
  } else {
    if ((selection & (OSSL_KEYMGMT_SELECT_ALL_PARAMETERS | OSSL_KEYMGMT_SELECT_PUBLIC_KEY)) != 0) {
      ok = OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, key->ec_group.c_str(), 0);
    }
    if (ok && (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0) {
      ok = OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, key->ec_pub.data(),
                                            key->ec_pub.size());
    }
  }
  if (!ok) return 0;
  ParamPtr params(OSSL_PARAM_BLD_to_param(builder.get()));
  return params != nullptr && callback(params.get(), callback_arg) ? 1 : 0;
}

int KeyGetParams(void* keydata, OSSL_PARAM params[]) {
  const auto* key = static_cast<const SigilKey*>(keydata);
  if (key == nullptr) return 0;
  OSSL_PARAM* p;
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS)) != nullptr && !OSSL_PARAM_set_int(p, key->bits)) {
    return 0;
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS)) != nullptr &&
      !OSSL_PARAM_set_int(p, key->security_bits)) {
    return 0;
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE)) != nullptr && !OSSL_PARAM_set_int(p, key->max_size)) {
    return 0;
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_DEFAULT_DIGEST)) != nullptr &&
      !OSSL_PARAM_set_utf8_string(p, "SHA256")) {
    return 0;
  }
  if (key->type == KeyType::kRsa) {
    for (auto [name, bytes] : {std::pair{OSSL_PKEY_PARAM_RSA_N, &key->rsa_n}, {OSSL_PKEY_PARAM_RSA_E, &key->rsa_e}}) {
      if ((p = OSSL_PARAM_locate(params, name)) != nullptr) {
        BignumPtr bn = BytesToBn(*bytes);
        if (bn == nullptr || !OSSL_PARAM_set_BN(p, bn.get())) return 0;
      }
    }
    return 1;
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_GROUP_NAME)) != nullptr &&
      !OSSL_PARAM_set_utf8_string(p, key->ec_group.c_str())) {
    return 0;
  }
  for (const char* name : {OSSL_PKEY_PARAM_PUB_KEY, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY}) {
    if ((p = OSSL_PARAM_locate(params, name)) != nullptr &&
        !OSSL_PARAM_set_octet_string(p, key->ec_pub.data(), key->ec_pub.size())) {
      return 0;
    }
  }
  if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT)) != nullptr) {
    bool compressed = !key->ec_pub.empty() && (key->ec_pub[0] == 0x02 || key->ec_pub[0] == 0x03);
    if (!OSSL_PARAM_set_utf8_string(p, compressed ? "compressed" : "uncompressed")) return 0;
  }
  return 1;
}

const OSSL_PARAM kRsaGettableParams[] = {
    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, nullptr),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, nullptr),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, nullptr),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, nullptr, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, nullptr, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, nullptr, 0),
    OSSL_PARAM_END,
};
const OSSL_PARAM kEcGettableParams[] = {
    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, nullptr),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, nullptr),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, nullptr),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, nullptr, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, nullptr, 0),
    OSSL_PARAM_END,
};

template <KeyType kType>
const OSSL_PARAM* KeyGettableParams(void*) {
  return kType == KeyType::kRsa ? kRsaGettableParams : kEcGettableParams;
}

template <KeyType kType>
const char* KeyQueryOperationName(int operation_id) {
  if (operation_id == OSSL_OP_SIGNATURE) return kType == KeyType::kRsa ? "RSA" : "ECDSA";
  return nullptr;
}

void* KeyDup(const void* keydata, int selection) {
  const auto* key = static_cast<const SigilKey*>(keydata);
  if (key == nullptr) return nullptr;
  auto* copy = new SigilKey(*key);
  if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) == 0) copy->identity.clear();
  return copy;
}

using Fn = void (*)();

}  // namespace

absl::Status SetPublicKeyFromCertificate(OSSL_LIB_CTX* libctx, const std::string& der, SigilKey* key) {
  X509Ptr cert(X509_new_ex(libctx, nullptr));
  if (cert == nullptr) return absl::InternalError("X509_new_ex failed");
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509* raw = cert.get();
  if (d2i_X509(&raw, &p, static_cast<long>(der.size())) == nullptr ||
      p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    ClearOpenSslErrors();
    return absl::InvalidArgumentError("malformed leaf certificate");
  }
  EVP_PKEY* pkey = X509_get0_pubkey(cert.get());
  if (pkey == nullptr || !CopyPublicKey(pkey, key)) {
    ClearOpenSslErrors();
    return absl::InvalidArgumentError("the leaf certificate's key is neither RSA nor EC on a named curve");
  }
  return absl::OkStatus();
}

#define SIGIL_KEYMGMT_TABLE(kType)                                                          \
  {OSSL_FUNC_KEYMGMT_NEW, reinterpret_cast<Fn>(KeyNew<kType>)},                             \
      {OSSL_FUNC_KEYMGMT_FREE, reinterpret_cast<Fn>(KeyFree)},                              \
      {OSSL_FUNC_KEYMGMT_LOAD, reinterpret_cast<Fn>(KeyLoad)},                              \
      {OSSL_FUNC_KEYMGMT_HAS, reinterpret_cast<Fn>(KeyHas)},                                \
      {OSSL_FUNC_KEYMGMT_MATCH, reinterpret_cast<Fn>(KeyMatch)},                            \
      {OSSL_FUNC_KEYMGMT_IMPORT, reinterpret_cast<Fn>(KeyImport)},                          \
      {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, reinterpret_cast<Fn>(KeyImportExportTypes<kType>)},  \
      {OSSL_FUNC_KEYMGMT_EXPORT, reinterpret_cast<Fn>(KeyExport)},                          \
      {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, reinterpret_cast<Fn>(KeyImportExportTypes<kType>)},  \
      {OSSL_FUNC_KEYMGMT_GET_PARAMS, reinterpret_cast<Fn>(KeyGetParams)},                   \
      {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, reinterpret_cast<Fn>(KeyGettableParams<kType>)},  \
      {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, reinterpret_cast<Fn>(KeyQueryOperationName<kType>)}, \
      {OSSL_FUNC_KEYMGMT_DUP, reinterpret_cast<Fn>(KeyDup)}, {0, nullptr}

const OSSL_DISPATCH kRsaKeymgmtFunctions[] = {SIGIL_KEYMGMT_TABLE(KeyType::kRsa)};
const OSSL_DISPATCH kEcKeymgmtFunctions[] = {SIGIL_KEYMGMT_TABLE(KeyType::kEc)};

#undef SIGIL_KEYMGMT_TABLE

}  // namespace sigil::provider
