#include "signer/stores/windows/cert_store.h"

#include <algorithm>

#include "signer/stores/windows/encoding.h"

namespace sigil::winstore {
namespace {

constexpr DWORD kEncoding = X509_ASN_ENCODING | PKCS_7_ASN_ENCODING;

DWORD SystemStoreFlag(StoreLocation location) {
  return location == StoreLocation::kLocalMachine ? CERT_SYSTEM_STORE_LOCAL_MACHINE
                                                  : CERT_SYSTEM_STORE_CURRENT_USER;
}

// FILETIME (100 ns since 1601-01-01) to Unix seconds.
int64_t FileTimeToUnix(const FILETIME& time) {
  const uint64_t ticks = (static_cast<uint64_t>(time.dwHighDateTime) << 32) | time.dwLowDateTime;
  return static_cast<int64_t>(ticks / 10000000ULL) - 11644473600LL;
}

Result<ScopedCertStore> OpenSystemStore(StoreLocation location, const wchar_t* name, bool writable) {
  DWORD flags = SystemStoreFlag(location) | (writable ? 0 : CERT_STORE_READONLY_FLAG);
  HCERTSTORE store = CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0, flags, name);
  if (store == nullptr) {
    DWORD error = GetLastError();
    std::string what = std::string("CertOpenStore(") + ProviderName(location) + " " + ToUtf8(name) + ")";
    return Win32Error(error == ERROR_ACCESS_DENIED ? Code::kPermissionDenied : Code::kUnavailable, what, error);
  }
  return ScopedCertStore(store);
}

// CRYPT_KEY_PROV_INFO of `cert`, or nullopt-like empty buffer when it has no key property.
std::string KeyProvInfo(PCCERT_CONTEXT cert) {
  DWORD size = 0;
  if (!CertGetCertificateContextProperty(cert, CERT_KEY_PROV_INFO_PROP_ID, nullptr, &size) || size == 0) return "";
  std::string buffer(size, '\0');
  if (!CertGetCertificateContextProperty(cert, CERT_KEY_PROV_INFO_PROP_ID, buffer.data(), &size)) return "";
  buffer.resize(size);
  return buffer;
}

std::string KeyRef(const std::string& prov_info_buffer) {
  const auto* info = reinterpret_cast<const CRYPT_KEY_PROV_INFO*>(prov_info_buffer.data());
  std::string ref = info->dwProvType == 0 ? "ksp=" : "csp=";
  ref += info->pwszProvName != nullptr ? ToUtf8(info->pwszProvName) : "(default)";
  ref += ";container=";
  ref += info->pwszContainerName != nullptr ? ToUtf8(info->pwszContainerName) : "";
  return ref;
}

std::string Der(PCCERT_CONTEXT cert) {
  return std::string(reinterpret_cast<const char*>(cert->pbCertEncoded), cert->cbCertEncoded);
}

bool IsSelfSignedElement(const CERT_CHAIN_ELEMENT& element) {
  return (element.TrustStatus.dwInfoStatus & CERT_TRUST_IS_SELF_SIGNED) != 0;
}

}  // namespace

Result<StoreLocation> ParseProvider(std::string_view provider) {
  if (EqualsIgnoreAsciiCase(provider, "WindowsCurrentUser")) return StoreLocation::kCurrentUser;
  if (EqualsIgnoreAsciiCase(provider, "WindowsLocalMachine")) return StoreLocation::kLocalMachine;
  return Status(Code::kInvalidArgument, "cert store type not implemented: \"" + std::string(provider) +
                                            "\" (the Windows store knows WindowsCurrentUser, WindowsLocalMachine)");
}

const char* ProviderName(StoreLocation location) {
  return location == StoreLocation::kLocalMachine ? "WindowsLocalMachine" : "WindowsCurrentUser";
}

Result<std::vector<std::string>> RdnValues(const CERT_NAME_BLOB& name) {
  CERT_NAME_INFO* info = nullptr;
  DWORD size = 0;
  if (!CryptDecodeObjectEx(kEncoding, X509_NAME, name.pbData, name.cbData, CRYPT_DECODE_ALLOC_FLAG, nullptr,
                           &info, &size)) {
    return Win32Error(Code::kInvalidArgument, "CryptDecodeObjectEx(X509_NAME)", GetLastError());
  }
  ScopedLocalMemory owner(info);
  std::vector<std::string> values;
  for (DWORD i = 0; i < info->cRDN; ++i) {
    const CERT_RDN& rdn = info->rgRDN[i];
    for (DWORD j = 0; j < rdn.cRDNAttr; ++j) {
      CERT_RDN_ATTR& attr = rdn.rgRDNAttr[j];
      DWORD length = CertRDNValueToStrW(attr.dwValueType, &attr.Value, nullptr, 0);  // includes the NUL
      std::wstring value(length, L'\0');
      if (length > 0) CertRDNValueToStrW(attr.dwValueType, &attr.Value, value.data(), length);
      while (!value.empty() && value.back() == L'\0') value.pop_back();
      values.push_back(ToUtf8(value));
    }
  }
  return values;
}

Result<CertFacts> DescribeCertificate(PCCERT_CONTEXT cert) {
  CertFacts facts;
  facts.der = Der(cert);
  WINSTORE_ASSIGN_OR_RETURN(facts.subject_values, RdnValues(cert->pCertInfo->Subject));
  WINSTORE_ASSIGN_OR_RETURN(facts.issuer_values, RdnValues(cert->pCertInfo->Issuer));
  facts.not_before_unix = FileTimeToUnix(cert->pCertInfo->NotBefore);
  facts.not_after_unix = FileTimeToUnix(cert->pCertInfo->NotAfter);
  WINSTORE_ASSIGN_OR_RETURN(std::string sha1, Sha1(facts.der));
  facts.thumbprint = HexEncode(sha1);
  WINSTORE_ASSIGN_OR_RETURN(facts.sha256, Sha256(facts.der));
  return facts;
}

bool ChainErrorStatusAcceptable(DWORD error_status) {
  constexpr DWORD kFatal = CERT_TRUST_IS_NOT_TIME_VALID | CERT_TRUST_IS_NOT_SIGNATURE_VALID |
                           CERT_TRUST_IS_UNTRUSTED_ROOT | CERT_TRUST_IS_CYCLIC | CERT_TRUST_INVALID_EXTENSION |
                           CERT_TRUST_INVALID_POLICY_CONSTRAINTS | CERT_TRUST_INVALID_BASIC_CONSTRAINTS |
                           CERT_TRUST_INVALID_NAME_CONSTRAINTS | CERT_TRUST_IS_PARTIAL_CHAIN |
                           CERT_TRUST_IS_EXPLICIT_DISTRUST | CERT_TRUST_HAS_NOT_SUPPORTED_CRITICAL_EXT;
  // Deliberately ignored: CERT_TRUST_IS_REVOKED, CERT_TRUST_REVOCATION_STATUS_UNKNOWN,
  // CERT_TRUST_IS_OFFLINE_REVOCATION (no revocation check is asked for), CERT_TRUST_IS_NOT_VALID_FOR_USAGE
  // and the CTL bits: the ADR leaves revocation and role/usage policy to the TLS peer.
  return (error_status & kFatal) == 0;
}

Result<CertStore> CertStore::Open(StoreLocation location) {
  WINSTORE_ASSIGN_OR_RETURN(ScopedCertStore store, OpenSystemStore(location, L"MY", /*writable=*/false));
  return CertStore(location, std::move(store));
}

Result<std::vector<StoreEntry>> CertStore::CertificatesWithKeys() const {
  std::vector<StoreEntry> entries;
  PCCERT_CONTEXT cert = nullptr;
  // CertEnumCertificatesInStore frees the previous context it is given; the loop owns none.
  while ((cert = CertEnumCertificatesInStore(store_.get(), cert)) != nullptr) {
    std::string prov_info = KeyProvInfo(cert);
    if (prov_info.empty()) continue;
    Result<CertFacts> facts = DescribeCertificate(cert);
    if (!facts.ok()) continue;
    entries.push_back(StoreEntry{std::move(facts).value(), KeyRef(prov_info)});
  }
  DWORD error = GetLastError();
  if (error != static_cast<DWORD>(CRYPT_E_NOT_FOUND) && error != ERROR_NO_MORE_FILES && error != ERROR_SUCCESS) {
    return Win32Error(Code::kUnavailable, "CertEnumCertificatesInStore", error);
  }
  return entries;
}

Result<ScopedCertContext> CertStore::FindByThumbprint(std::string_view thumbprint) const {
  std::optional<std::string> hash = HexDecode(NormalizeThumbprint(thumbprint));
  if (!hash.has_value() || hash->size() != 20) {
    return Status(Code::kInvalidArgument, "a thumbprint is 40 hex digits; got \"" + std::string(thumbprint) + "\"");
  }
  CRYPT_HASH_BLOB blob{static_cast<DWORD>(hash->size()), reinterpret_cast<BYTE*>(hash->data())};
  PCCERT_CONTEXT found = CertFindCertificateInStore(store_.get(), kEncoding, 0, CERT_FIND_SHA1_HASH, &blob, nullptr);
  if (found == nullptr) {
    return Status(Code::kNotFound, std::string("no certificate with thumbprint ") + HexEncode(*hash) + " in the " +
                                       ProviderName(location_) + " MY store");
  }
  return ScopedCertContext(found);
}

Result<ScopedCertContext> CertStore::FindByDer(std::string_view der) const {
  WINSTORE_ASSIGN_OR_RETURN(std::string sha1, Sha1(der));
  WINSTORE_ASSIGN_OR_RETURN(ScopedCertContext found, FindByThumbprint(HexEncode(sha1)));
  if (Der(found.get()) != der) {
    return Status(Code::kNotFound, "the certificate is not in the " + std::string(ProviderName(location_)) +
                                       " MY store");
  }
  return found;
}

Result<std::vector<PCCERT_CONTEXT>> CertStore::AcceptedChain(PCCERT_CONTEXT leaf, ScopedChainContext& holder) const {
  CERT_CHAIN_PARA para = {};
  para.cbSize = sizeof(para);
  HCERTCHAINENGINE engine = location_ == StoreLocation::kLocalMachine ? HCCE_LOCAL_MACHINE : HCCE_CURRENT_USER;
  PCCERT_CHAIN_CONTEXT chain = nullptr;
  // No revocation flags: the chain engine checks signatures, names, validity and trust only.
  if (!CertGetCertificateChain(engine, leaf, nullptr, store_.get(), &para, CERT_CHAIN_RETURN_LOWER_QUALITY_CONTEXTS,
                               nullptr, &chain)) {
    return Win32Error(Code::kInternal, "CertGetCertificateChain", GetLastError());
  }
  holder.reset(chain);
  std::vector<PCCERT_CHAIN_CONTEXT> candidates = {chain};
  for (DWORD i = 0; i < chain->cLowerQualityChainContext; ++i) {
    candidates.push_back(chain->rgpLowerQualityChainContext[i]);
  }
  for (PCCERT_CHAIN_CONTEXT candidate : candidates) {
    if (candidate->cChain < 1) continue;
    const CERT_SIMPLE_CHAIN* simple = candidate->rgpChain[0];
    if (simple->cElement < 1) continue;
    // Our own trust decision (see Chain()); both the context's and the simple chain's aggregate.
    if (!ChainErrorStatusAcceptable(candidate->TrustStatus.dwErrorStatus) ||
        !ChainErrorStatusAcceptable(simple->TrustStatus.dwErrorStatus)) {
      continue;
    }
    if (!IsSelfSignedElement(*simple->rgpElement[simple->cElement - 1])) continue;
    std::vector<PCCERT_CONTEXT> elements;
    for (DWORD i = 0; i < simple->cElement; ++i) elements.push_back(simple->rgpElement[i]->pCertContext);
    return elements;
  }
  return std::vector<PCCERT_CONTEXT>();
}

Result<std::vector<std::string>> CertStore::Chain(std::string_view leaf_der) const {
  ScopedCertContext leaf(CertCreateCertificateContext(X509_ASN_ENCODING, reinterpret_cast<const BYTE*>(leaf_der.data()),
                                                      static_cast<DWORD>(leaf_der.size())));
  if (!leaf) return Win32Error(Code::kInvalidArgument, "CertCreateCertificateContext(leaf)", GetLastError());
  std::vector<std::string> out = {std::string(leaf_der)};
  ScopedChainContext holder;
  WINSTORE_ASSIGN_OR_RETURN(std::vector<PCCERT_CONTEXT> elements, AcceptedChain(leaf.get(), holder));
  for (size_t i = 1; i < elements.size(); ++i) {
    PCCERT_CONTEXT element = elements[i];
    // The self-signed anchor stays out (ADR); CertCompareCertificateName is the structural test, the chain
    // engine has already verified the signatures.
    if (CertCompareCertificateName(X509_ASN_ENCODING, &element->pCertInfo->Subject, &element->pCertInfo->Issuer)) {
      continue;
    }
    out.push_back(Der(element));
  }
  return out;
}

Result<std::vector<std::string>> CertStore::ChainCaCertificates() const {
  std::vector<std::string> out;
  PCCERT_CONTEXT cert = nullptr;
  while ((cert = CertEnumCertificatesInStore(store_.get(), cert)) != nullptr) {
    if (KeyProvInfo(cert).empty()) continue;
    ScopedChainContext holder;
    Result<std::vector<PCCERT_CONTEXT>> elements = AcceptedChain(cert, holder);
    if (!elements.ok()) continue;
    for (size_t i = 1; i < elements->size(); ++i) {
      std::string der = Der((*elements)[i]);
      if (std::find(out.begin(), out.end(), der) == out.end()) out.push_back(std::move(der));
    }
  }
  return out;
}

Status AddCertificateWithKeyName(StoreLocation location, std::string_view der, const std::wstring& container) {
  WINSTORE_ASSIGN_OR_RETURN(ScopedCertStore store, OpenSystemStore(location, L"MY", /*writable=*/true));
  PCCERT_CONTEXT added = nullptr;
  if (!CertAddEncodedCertificateToStore(store.get(), X509_ASN_ENCODING, reinterpret_cast<const BYTE*>(der.data()),
                                        static_cast<DWORD>(der.size()), CERT_STORE_ADD_REPLACE_EXISTING, &added)) {
    return Win32Error(Code::kInvalidArgument, "CertAddEncodedCertificateToStore(MY)", GetLastError());
  }
  ScopedCertContext owner(added);
  std::wstring container_copy = container;
  std::wstring provider = MS_KEY_STORAGE_PROVIDER;
  CRYPT_KEY_PROV_INFO info = {};
  info.pwszContainerName = container_copy.data();
  info.pwszProvName = provider.data();
  info.dwProvType = 0;  // 0 = a CNG Key Storage Provider
  if (!CertSetCertificateContextProperty(added, CERT_KEY_PROV_INFO_PROP_ID, 0, &info)) {
    return Win32Error(Code::kInternal, "CertSetCertificateContextProperty(KEY_PROV_INFO)", GetLastError());
  }
  return OkStatus();
}

Status AddCaCertificate(StoreLocation location, std::string_view der) {
  ScopedCertContext cert(CertCreateCertificateContext(X509_ASN_ENCODING, reinterpret_cast<const BYTE*>(der.data()),
                                                      static_cast<DWORD>(der.size())));
  if (!cert) return Win32Error(Code::kInvalidArgument, "CertCreateCertificateContext(CA)", GetLastError());
  const bool self_signed = CertCompareCertificateName(X509_ASN_ENCODING, &cert.get()->pCertInfo->Subject,
                                                      &cert.get()->pCertInfo->Issuer);
  const wchar_t* name = self_signed ? L"Root" : L"CA";
  WINSTORE_ASSIGN_OR_RETURN(ScopedCertStore store, OpenSystemStore(location, name, /*writable=*/true));
  if (!CertAddCertificateContextToStore(store.get(), cert.get(), CERT_STORE_ADD_REPLACE_EXISTING, nullptr)) {
    return Win32Error(Code::kInternal, "CertAddCertificateContextToStore(" + ToUtf8(name) + ")", GetLastError());
  }
  return OkStatus();
}

}  // namespace sigil::winstore
