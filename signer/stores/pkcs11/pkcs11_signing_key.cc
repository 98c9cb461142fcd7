#include "signer/stores/pkcs11/pkcs11_signing_key.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/obj_mac.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"
#include "signer/stores/pkcs11/pkcs11_error.h"
#include "signer/stores/pkcs11/pkcs11_objects.h"

namespace sigil::signer {
namespace {

using pkcs11::CkCall;

// DER DigestInfo prefixes (RFC 8017 section 9.2, note 1): SEQUENCE { AlgorithmIdentifier, OCTET STRING }.
constexpr unsigned char kSha1Prefix[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                         0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
constexpr unsigned char kSha256Prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                           0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
constexpr unsigned char kSha384Prefix[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                           0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
constexpr unsigned char kSha512Prefix[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                           0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};

struct HashParams {
  absl::string_view digest_info_prefix;
  CK_MECHANISM_TYPE hash_mechanism;
  CK_RSA_PKCS_MGF_TYPE mgf;
};

absl::StatusOr<HashParams> ParamsFor(const SignatureScheme& scheme) {
  auto view = [](const unsigned char* p, size_t n) { return absl::string_view(reinterpret_cast<const char*>(p), n); };
  switch (EVP_MD_get_type(scheme.md())) {
    case NID_sha1:
      return HashParams{view(kSha1Prefix, sizeof(kSha1Prefix)), CKM_SHA_1, CKG_MGF1_SHA1};
    case NID_sha256:
      return HashParams{view(kSha256Prefix, sizeof(kSha256Prefix)), CKM_SHA256, CKG_MGF1_SHA256};
    case NID_sha384:
      return HashParams{view(kSha384Prefix, sizeof(kSha384Prefix)), CKM_SHA384, CKG_MGF1_SHA384};
    case NID_sha512:
      return HashParams{view(kSha512Prefix, sizeof(kSha512Prefix)), CKM_SHA512, CKG_MGF1_SHA512};
    default:
      return absl::InvalidArgumentError(absl::StrCat("no PKCS#11 parameters for the hash of ", scheme.name));
  }
}

CK_MECHANISM_TYPE MechanismFor(const SignatureScheme& scheme) {
  if (scheme.key_type == KeyType::kEc) return CKM_ECDSA;
  return scheme.pss ? CKM_RSA_PKCS_PSS : CKM_RSA_PKCS;
}

int CurveBits(int nid) {
  switch (nid) {
    case NID_X9_62_prime256v1:
      return 256;
    case NID_secp384r1:
      return 384;
    case NID_secp521r1:
      return 521;
    default:
      return 0;
  }
}

// DER ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 5480 section 2.2) from PKCS#11's r || s.
absl::StatusOr<std::string> EcdsaRawToDer(absl::string_view raw) {
  if (raw.empty() || raw.size() % 2 != 0) {
    return absl::InternalError(absl::StrCat("token returned a ", raw.size(), "-byte ECDSA signature"));
  }
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  size_t half = raw.size() / 2;
  BIGNUM* r = BN_bin2bn(p, half, nullptr);
  BIGNUM* s = BN_bin2bn(p + half, half, nullptr);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  if (r == nullptr || s == nullptr || sig == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return OpenSslError(absl::StatusCode::kInternal, "ECDSA_SIG_set0");
  }
  int len = i2d_ECDSA_SIG(sig, nullptr);
  std::string der(len > 0 ? len : 0, '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  bool ok = len > 0 && i2d_ECDSA_SIG(sig, &out) == len;
  ECDSA_SIG_free(sig);
  if (!ok) return OpenSslError(absl::StatusCode::kInternal, "i2d_ECDSA_SIG");
  return der;
}

// Finds the one object of `object_class` with CKA_ID `id`; CKR_KEY_HANDLE_INVALID when there is none.
CkCall FindById(const pkcs11::Pkcs11Token::SessionRef& s, CK_OBJECT_CLASS object_class, const std::string& id,
                CK_OBJECT_HANDLE* handle) {
  std::vector<CK_OBJECT_HANDLE> found;
  CkCall call = pkcs11::FindObjects(
      s.functions, s.session,
      {pkcs11::Attr(CKA_CLASS, &object_class), pkcs11::BytesAttr(CKA_ID, id)}, &found);
  if (!call.ok()) return call;
  if (found.empty()) return {CKR_KEY_HANDLE_INVALID, "C_FindObjects"};
  *handle = found.front();
  return {};
}

// An attribute of the private key, or of the public key with the same CKA_ID when the private key
// does not expose it.
CkCall KeyAttribute(const pkcs11::Pkcs11Token::SessionRef& s, CK_OBJECT_HANDLE private_key, const std::string& id,
                    CK_ATTRIBUTE_TYPE type, std::string* value) {
  CkCall call = pkcs11::GetAttribute(s.functions, s.session, private_key, type, value);
  if (call.ok() && !value->empty()) return call;
  if (!call.ok() && call.rv != CKR_ATTRIBUTE_TYPE_INVALID && call.rv != CKR_ATTRIBUTE_SENSITIVE) return call;
  CK_OBJECT_HANDLE public_key;
  call = FindById(s, CKO_PUBLIC_KEY, id, &public_key);
  if (!call.ok()) return {CKR_ATTRIBUTE_TYPE_INVALID, "C_GetAttributeValue"};
  return pkcs11::GetAttribute(s.functions, s.session, public_key, type, value);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Pkcs11SigningKey>> Pkcs11SigningKey::Open(
    std::shared_ptr<pkcs11::Pkcs11Token> token, std::string id, std::string label) {
  std::string description = absl::StrCat("label=", label, ",id=", pkcs11::HexBytes(id));
  CK_KEY_TYPE key_type = 0;
  std::string modulus, ec_params;
  absl::Status status = token->Run(absl::StrCat("opening key ", description), [&](const auto& s) -> CkCall {
    CK_OBJECT_HANDLE key;
    CkCall call = FindById(s, CKO_PRIVATE_KEY, id, &key);
    if (!call.ok()) return call;
    call = pkcs11::GetUlongAttribute(s.functions, s.session, key, CKA_KEY_TYPE, &key_type);
    if (!call.ok()) return call;
    if (key_type == CKK_RSA) return KeyAttribute(s, key, id, CKA_MODULUS, &modulus);
    if (key_type == CKK_EC) return KeyAttribute(s, key, id, CKA_EC_PARAMS, &ec_params);
    return {};
  });
  if (status.code() == absl::StatusCode::kNotFound) {
    return absl::NotFoundError(absl::StrCat("PKCS#11 token '", token->label(), "' has no private key ", description));
  }
  SIGIL_RETURN_IF_ERROR(status);

  KeyInfo info;
  if (key_type == CKK_RSA) {
    BignumPtr n(BN_bin2bn(reinterpret_cast<const unsigned char*>(modulus.data()), modulus.size(), nullptr));
    info.type = KeyType::kRsa;
    info.bits = n != nullptr ? BN_num_bits(n.get()) : 0;
    if (info.bits < 2048) {
      return absl::InvalidArgumentError(absl::StrCat("PKCS#11 key ", description, ": RSA key of ", info.bits,
                                                     " bits is too small (at least 2048)"));
    }
  } else if (key_type == CKK_EC) {
    absl::StatusOr<int> curve = pkcs11::CurveFromEcParams(ec_params);
    if (!curve.ok() || CurveBits(*curve) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("PKCS#11 key ", description,
                                                     ": EC curve is not supported (P-256, P-384, P-521)"));
    }
    info.type = KeyType::kEc;
    info.curve_nid = *curve;
    info.bits = CurveBits(*curve);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("PKCS#11 key ", description, ": only RSA and EC keys are supported"));
  }

  std::vector<uint16_t> schemes;
  for (uint16_t code : SupportedSchemes(info)) {
    const SignatureScheme* scheme = FindScheme(code);
    if (token->CanSign(MechanismFor(*scheme), info.bits)) schemes.push_back(code);
  }
  return std::unique_ptr<Pkcs11SigningKey>(
      new Pkcs11SigningKey(std::move(token), std::move(id), std::move(description), info, std::move(schemes)));
}

bool Pkcs11SigningKey::CanMake(const SignatureScheme& scheme) const {
  for (uint16_t code : schemes_) {
    if (code == scheme.code) return true;
  }
  return false;
}

void Pkcs11SigningKey::ForgetHandle() {
  absl::MutexLock lock(&mu_);
  handle_epoch_ = 0;
}

CkCall Pkcs11SigningKey::FindHandle(const pkcs11::Pkcs11Token::SessionRef& session, CK_OBJECT_HANDLE* handle) {
  {
    absl::MutexLock lock(&mu_);
    if (handle_epoch_ == session.epoch) {
      *handle = handle_;
      return {};
    }
  }
  CkCall call = FindById(session, CKO_PRIVATE_KEY, id_, handle);
  if (!call.ok()) return call;
  absl::MutexLock lock(&mu_);
  handle_ = *handle;
  handle_epoch_ = session.epoch;
  return {};
}

absl::StatusOr<std::string> Pkcs11SigningKey::Sign(const SignatureScheme& scheme, absl::string_view digest) {
  if (digest.size() != scheme.digest_length) {
    return absl::InvalidArgumentError(absl::StrCat("digest is ", digest.size(), " bytes; ", scheme.name,
                                                   " needs a ", scheme.digest_length, "-byte digest"));
  }
  if (!CanMake(scheme)) {
    return absl::FailedPreconditionError(absl::StrCat("PKCS#11 key ", description_, " on token '",
                                                      token_->label(), "' cannot make ", SchemeLabel(scheme.code)));
  }
  SIGIL_ASSIGN_OR_RETURN(HashParams hash, ParamsFor(scheme));

  std::string input;
  CK_RSA_PKCS_PSS_PARAMS pss{hash.hash_mechanism, hash.mgf, scheme.digest_length};
  CK_MECHANISM mechanism{MechanismFor(scheme), nullptr, 0};
  size_t expected = 0;
  if (info_.type == KeyType::kRsa) {
    expected = (info_.bits + 7) / 8;
    if (scheme.pss) {
      mechanism.pParameter = &pss;
      mechanism.ulParameterLen = sizeof(pss);
      input = std::string(digest);
    } else {
      input = absl::StrCat(hash.digest_info_prefix, digest);
    }
  } else {
    expected = 2 * ((info_.bits + 7) / 8);
    input = std::string(digest);
  }

  std::string raw;
  absl::Status status = token_->Run(absl::StrCat("signing with key ", description_), [&](const auto& s) -> CkCall {
    CK_OBJECT_HANDLE key;
    CkCall call = FindHandle(s, &key);
    if (!call.ok()) return call;
    CK_RV rv = s.functions->C_SignInit(s.session, &mechanism, key);
    if (rv != CKR_OK) {
      if (rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID) ForgetHandle();
      return {rv, "C_SignInit"};
    }
    raw.assign(expected, '\0');
    CK_ULONG len = raw.size();
    auto* in = reinterpret_cast<CK_BYTE_PTR>(input.data());
    rv = s.functions->C_Sign(s.session, in, input.size(), reinterpret_cast<CK_BYTE_PTR>(raw.data()), &len);
    if (rv == CKR_BUFFER_TOO_SMALL) {  // The operation stays active; ask again with room.
      raw.assign(len, '\0');
      rv = s.functions->C_Sign(s.session, in, input.size(), reinterpret_cast<CK_BYTE_PTR>(raw.data()), &len);
    }
    if (rv != CKR_OK) return {rv, "C_Sign"};
    raw.resize(len);
    return {};
  });
  if (status.code() == absl::StatusCode::kNotFound) {
    return absl::NotFoundError(
        absl::StrCat("PKCS#11 key ", description_, " is no longer on token '", token_->label(), "'"));
  }
  SIGIL_RETURN_IF_ERROR(status);
  if (info_.type == KeyType::kEc) return EcdsaRawToDer(raw);
  return raw;
}

}  // namespace sigil::signer
