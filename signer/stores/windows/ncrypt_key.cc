#include "signer/stores/windows/ncrypt_key.h"

#include "signer/stores/windows/ecdsa_der.h"
#include "signer/stores/windows/encoding.h"

namespace sigil::winstore {
namespace {

const char kUiPrompt[] =
    "the certificate's private key needs a UI prompt (strong key protection); signerd runs unattended: "
    "re-import the key without strong protection";
const char kCryptoApiOnly[] =
    "the certificate's private key is held by a CryptoAPI CSP only; signerd signs through CNG: re-import the "
    "key into a CNG Key Storage Provider (e.g. certutil -importpfx -csp \"Microsoft Software Key Storage "
    "Provider\")";

Result<std::wstring> StringProperty(NCRYPT_KEY_HANDLE key, const wchar_t* name) {
  DWORD size = 0;
  SECURITY_STATUS status = NCryptGetProperty(key, name, nullptr, 0, &size, NCRYPT_SILENT_FLAG);
  if (status != ERROR_SUCCESS) return SigningError("NCryptGetProperty(" + ToUtf8(name) + ")", status);
  std::wstring value(size / sizeof(wchar_t) + 1, L'\0');
  status = NCryptGetProperty(key, name, reinterpret_cast<PBYTE>(value.data()), size, &size, NCRYPT_SILENT_FLAG);
  if (status != ERROR_SUCCESS) return SigningError("NCryptGetProperty(" + ToUtf8(name) + ")", status);
  value.resize(wcsnlen(value.c_str(), value.size()));
  return value;
}

// Refuses keys whose UI policy asks for a prompt. Verified on Windows only: Wine's KSP has no UI policy
// (NCryptGetProperty fails with NTE_NOT_SUPPORTED, which means "no policy"). Review note: on Windows a
// software key imported with "strong private key protection" reports NCRYPT_UI_PROTECT_KEY_FLAG here, and
// NCryptSignHash with NCRYPT_SILENT_FLAG would fail with NTE_SILENT_CONTEXT anyway; this check turns that
// into an error at OpenKey time instead of at the first handshake.
Status CheckNoUiPolicy(NCRYPT_KEY_HANDLE key) {
  NCRYPT_UI_POLICY policy = {};
  DWORD size = 0;
  SECURITY_STATUS status = NCryptGetProperty(key, NCRYPT_UI_POLICY_PROPERTY, reinterpret_cast<PBYTE>(&policy),
                                             sizeof(policy), &size, NCRYPT_SILENT_FLAG);
  if (status != ERROR_SUCCESS) return OkStatus();  // no policy (or a KSP that has none)
  if ((policy.dwFlags & (NCRYPT_UI_PROTECT_KEY_FLAG | NCRYPT_UI_FORCE_HIGH_PROTECTION_FLAG)) != 0) {
    return Status(Code::kFailedPrecondition, kUiPrompt);
  }
  return OkStatus();
}

// The RSA modulus of a BCRYPT_RSAPUBLIC_BLOB / BCRYPT_RSAPRIVATE_BLOB (big-endian, after the exponent).
std::string RsaModulus(const std::string& blob) {
  if (blob.size() < sizeof(BCRYPT_RSAKEY_BLOB)) return "";
  const auto* header = reinterpret_cast<const BCRYPT_RSAKEY_BLOB*>(blob.data());
  size_t offset = sizeof(BCRYPT_RSAKEY_BLOB) + header->cbPublicExp;
  if (blob.size() < offset + header->cbModulus) return "";
  std::string modulus = blob.substr(offset, header->cbModulus);
  size_t start = modulus.find_first_not_of('\0');
  return start == std::string::npos ? "" : modulus.substr(start);
}

// The RSA modulus in `cert`'s SubjectPublicKeyInfo, through BCrypt.
Result<std::string> CertificateRsaModulus(PCCERT_CONTEXT cert) {
  ScopedBCryptKey key;
  if (!CryptImportPublicKeyInfoEx2(X509_ASN_ENCODING, &cert->pCertInfo->SubjectPublicKeyInfo, 0, nullptr,
                                   key.receive())) {
    return Win32Error(Code::kInvalidArgument, "CryptImportPublicKeyInfoEx2", GetLastError());
  }
  ULONG size = 0;
  NTSTATUS status = BCryptExportKey(key.get(), nullptr, BCRYPT_RSAPUBLIC_BLOB, nullptr, 0, &size, 0);
  if (!BCRYPT_SUCCESS(status)) return NtStatusError(Code::kInvalidArgument, "BCryptExportKey(RSAPUBLICBLOB)", status);
  std::string blob(size, '\0');
  status = BCryptExportKey(key.get(), nullptr, BCRYPT_RSAPUBLIC_BLOB, reinterpret_cast<PUCHAR>(blob.data()), size,
                           &size, 0);
  if (!BCRYPT_SUCCESS(status)) return NtStatusError(Code::kInvalidArgument, "BCryptExportKey(RSAPUBLICBLOB)", status);
  blob.resize(size);
  return RsaModulus(blob);
}

}  // namespace

Status SigningError(const std::string& what, SECURITY_STATUS status) {
  switch (status) {
    case NTE_SILENT_CONTEXT:
      return Status(Code::kFailedPrecondition, std::string(kUiPrompt) + " (" +
                                                   SecurityStatusError(Code::kFailedPrecondition, what, status)
                                                       .message() +
                                                   ")");
    case NTE_BAD_KEYSET:
    case NTE_NO_KEY:
      return SecurityStatusError(Code::kNotFound, what, status);
    case NTE_DEVICE_NOT_READY:
    case SCARD_W_REMOVED_CARD:
    case SCARD_E_NO_SMARTCARD:
      return SecurityStatusError(Code::kUnavailable, what, status);
    case NTE_INVALID_PARAMETER:
    case NTE_BAD_DATA:
      return SecurityStatusError(Code::kInvalidArgument, what, status);
    default:
      return SecurityStatusError(Code::kInternal, what, status);
  }
}

Result<KeyDescription> NCryptSigningKey::Describe(NCRYPT_KEY_HANDLE key) {
  WINSTORE_ASSIGN_OR_RETURN(std::wstring group, StringProperty(key, NCRYPT_ALGORITHM_GROUP_PROPERTY));
  DWORD bits = 0;
  DWORD size = 0;
  SECURITY_STATUS status = NCryptGetProperty(key, NCRYPT_LENGTH_PROPERTY, reinterpret_cast<PBYTE>(&bits),
                                             sizeof(bits), &size, NCRYPT_SILENT_FLAG);
  if (status != ERROR_SUCCESS) return SigningError("NCryptGetProperty(Length)", status);
  KeyDescription description;
  description.bits = static_cast<int>(bits);
  if (group == NCRYPT_RSA_ALGORITHM_GROUP) {
    description.algorithm = KeyAlgorithm::kRsa;
    return description;
  }
  // Verified on Windows only (Wine's KSP has no ECC): a P-256 key reports group "ECDSA" and length 256.
  // An ECDH-only key (group "ECDH") cannot sign and is refused below.
  if (group == NCRYPT_ECDSA_ALGORITHM_GROUP && (bits == 256 || bits == 384 || bits == 521)) {
    description.algorithm = KeyAlgorithm::kEcdsa;
    return description;
  }
  return Status(Code::kFailedPrecondition, "the certificate's key is " + ToUtf8(group) + "-" + std::to_string(bits) +
                                               "; TLS handshake signing needs RSA or ECDSA P-256/384/521");
}

// Review notes (verified on Windows only; under Wine CryptAcquireCertificatePrivateKey never yields an NCrypt
// handle and the Wine tests assert that this fails cleanly instead):
// - CRYPT_ACQUIRE_ONLY_NCRYPT_KEY_FLAG makes crypt32 open the key through CNG or fail; a key that lives in a
//   CryptoAPI CSP that CNG cannot open fails with NTE_BAD_PROVIDER / NTE_PROV_TYPE_NOT_DEF, and a key
//   handed out anyway with a legacy key spec is released and refused (kCryptoApiOnly).
// - CRYPT_ACQUIRE_SILENT_FLAG: a key that needs a prompt fails with NTE_SILENT_CONTEXT (kUiPrompt).
// - Without CRYPT_ACQUIRE_CACHE_FLAG the caller normally owns the handle (free_handle = TRUE); if crypt32
//   cached it on the context (a CERT_NCRYPT_KEY_HANDLE_PROP_ID was set by someone), the context owns it and
//   we keep a duplicate of the context alive instead of freeing the handle.
Result<std::unique_ptr<NCryptSigningKey>> NCryptSigningKey::AcquireForCertificate(PCCERT_CONTEXT cert) {
  HCRYPTPROV_OR_NCRYPT_KEY_HANDLE handle = 0;
  DWORD key_spec = 0;
  BOOL free_handle = FALSE;
  if (!CryptAcquireCertificatePrivateKey(cert, CRYPT_ACQUIRE_ONLY_NCRYPT_KEY_FLAG | CRYPT_ACQUIRE_SILENT_FLAG,
                                         nullptr, &handle, &key_spec, &free_handle)) {
    const DWORD error = GetLastError();
    const std::string what = "CryptAcquireCertificatePrivateKey";
    switch (static_cast<HRESULT>(error)) {
      case NTE_SILENT_CONTEXT:
        return Status(Code::kFailedPrecondition,
                      std::string(kUiPrompt) + " (" + Win32Error(Code::kFailedPrecondition, what, error).message() + ")");
      case CRYPT_E_NO_KEY_PROPERTY:
      case NTE_BAD_KEYSET:
      case NTE_NO_KEY:
        return Status(Code::kNotFound, "the certificate's private key is not in the store (" +
                                           Win32Error(Code::kNotFound, what, error).message() + ")");
      case NTE_BAD_PROVIDER:
      case NTE_PROV_TYPE_NOT_DEF:
      case NTE_PROV_TYPE_ENTRY_BAD:
      case NTE_KEYSET_ENTRY_BAD:
        return Status(Code::kFailedPrecondition, std::string(kCryptoApiOnly) + " (" +
                                                     Win32Error(Code::kFailedPrecondition, what, error).message() + ")");
      default:
        return Status(Code::kFailedPrecondition,
                      "the certificate's private key is not available through CNG (" +
                          Win32Error(Code::kFailedPrecondition, what, error).message() + ")");
    }
  }
  if (key_spec != CERT_NCRYPT_KEY_SPEC) {
    if (free_handle) CryptReleaseContext(static_cast<HCRYPTPROV>(handle), 0);
    return Status(Code::kFailedPrecondition, kCryptoApiOnly);
  }
  ScopedNCryptHandle owned;
  if (free_handle) owned.reset(static_cast<NCRYPT_HANDLE>(handle));
  const NCRYPT_KEY_HANDLE key = static_cast<NCRYPT_KEY_HANDLE>(handle);
  WINSTORE_RETURN_IF_ERROR(CheckNoUiPolicy(key));
  WINSTORE_ASSIGN_OR_RETURN(KeyDescription description, Describe(key));
  return std::unique_ptr<NCryptSigningKey>(new NCryptSigningKey(ScopedCertContext(CertDuplicateCertificateContext(cert)),
                                                                std::move(owned), key, description));
}

Result<std::unique_ptr<NCryptSigningKey>> NCryptSigningKey::ImportRsaForTesting(std::string_view rsa_private_blob,
                                                                                PCCERT_CONTEXT cert) {
  ScopedNCryptHandle provider;
  SECURITY_STATUS status = NCryptOpenStorageProvider(provider.receive(), MS_KEY_STORAGE_PROVIDER, 0);
  if (status != ERROR_SUCCESS) return SigningError("NCryptOpenStorageProvider", status);
  std::string blob(rsa_private_blob);
  ScopedNCryptHandle key;
  status = NCryptImportKey(provider.get(), 0, BCRYPT_RSAPRIVATE_BLOB, nullptr, key.receive(),
                           reinterpret_cast<PBYTE>(blob.data()), static_cast<DWORD>(blob.size()), NCRYPT_SILENT_FLAG);
  SecureZeroMemory(blob.data(), blob.size());
  if (status != ERROR_SUCCESS) {
    return Status(Code::kInvalidArgument, SecurityStatusError(Code::kInvalidArgument, "NCryptImportKey", status).message());
  }
  WINSTORE_ASSIGN_OR_RETURN(std::string cert_modulus, CertificateRsaModulus(cert));
  if (cert_modulus.empty() || RsaModulus(std::string(rsa_private_blob)) != cert_modulus) {
    return Status(Code::kInvalidArgument, "the imported key does not hold the certificate's key");
  }
  WINSTORE_ASSIGN_OR_RETURN(KeyDescription description, Describe(key.get()));
  const NCRYPT_KEY_HANDLE handle = key.get();
  return std::unique_ptr<NCryptSigningKey>(new NCryptSigningKey(ScopedCertContext(CertDuplicateCertificateContext(cert)),
                                                                std::move(key), handle, description));
}

Result<std::string> NCryptSigningKey::Sign(uint16_t scheme_code, std::string_view digest) const {
  const SchemeInfo* scheme = FindScheme(scheme_code);
  if (scheme == nullptr) return Status(Code::kInvalidArgument, "unknown signature scheme " + SchemeLabel(scheme_code));
  if (!KeySupports(description_, *scheme)) {
    return Status(Code::kInvalidArgument, "this identity's key cannot make " + SchemeLabel(scheme_code));
  }
  if (digest.size() != scheme->digest_length) {
    return Status(Code::kInvalidArgument, "digest is " + std::to_string(digest.size()) + " bytes; " + scheme->name +
                                              " needs a " + std::to_string(scheme->digest_length) + "-byte digest");
  }
  BCRYPT_PKCS1_PADDING_INFO pkcs1 = {scheme->hash_algorithm};
  // Salt = hash length for every hash (the reference implementation's fixed 32 bytes is wrong for 384/512).
  BCRYPT_PSS_PADDING_INFO pss = {scheme->hash_algorithm, static_cast<ULONG>(scheme->digest_length)};
  void* padding = nullptr;
  DWORD flags = NCRYPT_SILENT_FLAG;
  if (scheme->algorithm == KeyAlgorithm::kRsa) {
    padding = scheme->pss ? static_cast<void*>(&pss) : static_cast<void*>(&pkcs1);
    flags |= scheme->pss ? BCRYPT_PAD_PSS : BCRYPT_PAD_PKCS1;
  }
  std::string input(digest);
  DWORD size = 0;
  SECURITY_STATUS status = NCryptSignHash(key_, padding, reinterpret_cast<PBYTE>(input.data()),
                                          static_cast<DWORD>(input.size()), nullptr, 0, &size, flags);
  if (status != ERROR_SUCCESS) return SigningError("NCryptSignHash(size)", status);
  std::string signature(size, '\0');
  status = NCryptSignHash(key_, padding, reinterpret_cast<PBYTE>(input.data()), static_cast<DWORD>(input.size()),
                          reinterpret_cast<PBYTE>(signature.data()), size, &size, flags);
  if (status != ERROR_SUCCESS) return SigningError("NCryptSignHash", status);
  signature.resize(size);
  if (scheme->algorithm == KeyAlgorithm::kEcdsa) {
    // Verified on Windows only: NCrypt's ECDSA signature is r || s, each ceil(bits / 8) bytes.
    return EcdsaRawToDer(signature);
  }
  // RSA: TLS sends the signature as an integer of the modulus' size; CNG already returns that size, but a
  // shorter result is left-padded rather than trusted.
  const size_t modulus_bytes = static_cast<size_t>(description_.bits + 7) / 8;
  if (signature.size() < modulus_bytes) signature.insert(0, modulus_bytes - signature.size(), '\0');
  return signature;
}

}  // namespace sigil::winstore
