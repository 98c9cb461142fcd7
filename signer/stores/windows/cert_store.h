// The Windows "MY" (Personal) certificate store of the current user or of the local machine, through crypt32:
// what the WindowsCurrentUser / WindowsLocalMachine providers of the Certificate Store ADR read.
//
// It lists the certificates that carry a private key (CERT_KEY_PROV_INFO_PROP_ID), decodes what identity
// matching needs (RDN values with CertRDNValueToStrW, validity, SHA-1 and SHA-256 through BCrypt) and builds
// the chain the ADR asks for with the Windows chain engine. It does NOT check revocation, key usage or
// policy (the ADR leaves that to the TLS peer), and it never writes to a store except through the
// test-provisioning functions at the end, which signerd does not call.
//
// Thread-safety: a CertStore may be used from several threads at once (crypt32 store handles are
// thread-safe); the free functions are thread-safe.
#ifndef SIGIL_SIGNER_STORES_WINDOWS_CERT_STORE_H_
#define SIGIL_SIGNER_STORES_WINDOWS_CERT_STORE_H_

#include <string>
#include <string_view>
#include <vector>

#include "signer/stores/windows/cert_match.h"
#include "signer/stores/windows/scoped_handles.h"
#include "signer/stores/windows/win_status.h"

namespace sigil::winstore {

enum class StoreLocation { kCurrentUser, kLocalMachine };

// "WindowsCurrentUser" / "WindowsLocalMachine", case-insensitively (the ADR: provider names are
// case-insensitive). INVALID_ARGUMENT "cert store type not implemented: ..." otherwise.
Result<StoreLocation> ParseProvider(std::string_view provider);
// The canonical provider name.
const char* ProviderName(StoreLocation location);

// A certificate of the MY store that has a private key.
struct StoreEntry {
  CertFacts facts;
  // Where the key is: "ksp=<provider>;container=<name>" for a CNG key, "csp=<provider>;container=<name>"
  // for a CryptoAPI key (listed, but OpenKey refuses it). Never secret.
  std::string key_ref;
};

// Decodes `cert` for matching. INVALID_ARGUMENT when its names cannot be decoded; INTERNAL for BCrypt.
Result<CertFacts> DescribeCertificate(PCCERT_CONTEXT cert);

// Each RDN value of an encoded X.509 name, UTF-8, in order. INVALID_ARGUMENT when it does not decode.
Result<std::vector<std::string>> RdnValues(const CERT_NAME_BLOB& name);

// Whether a chain's aggregated CERT_TRUST_STATUS.dwErrorStatus is acceptable for the ADR's "valid chain":
// signatures, names, validity periods, basic and name constraints and a trusted root are required;
// revocation and usage bits are ignored (the TLS peer checks those). Pure; exposed for tests.
bool ChainErrorStatusAcceptable(DWORD error_status);

class CertStore {
 public:
  // Opens the MY store of `location` read-only. PERMISSION_DENIED when the process may not open it (the
  // local machine's store needs the entitlement the ADR mentions); UNAVAILABLE for other failures.
  static Result<CertStore> Open(StoreLocation location);

  CertStore(CertStore&&) = default;
  CertStore& operator=(CertStore&&) = default;

  StoreLocation location() const { return location_; }

  // Every certificate with a private key, in the store's enumeration order. Certificates whose names do
  // not decode are skipped.
  Result<std::vector<StoreEntry>> CertificatesWithKeys() const;

  // The store's certificate with this exact DER / this SHA-1 thumbprint (hex, as NormalizeThumbprint
  // accepts). NOT_FOUND when it is not in the store.
  Result<ScopedCertContext> FindByDer(std::string_view der) const;
  Result<ScopedCertContext> FindByThumbprint(std::string_view thumbprint) const;

  // The chain a TLS server sends for `leaf_der` (ADR "Inclusion of Intermediate CA Certificates"): the leaf
  // plus the non-self-signed certificates of the first chain the Windows chain engine (of this store's
  // location) builds whose trust status is acceptable (ChainErrorStatusAcceptable, ending in a self-signed
  // root), lower-quality chains included; the leaf alone when none is. The trust status is checked here
  // rather than with CertVerifyCertificateChainPolicy, which under Wine reports success on a partial chain.
  // INVALID_ARGUMENT when `leaf_der` is not a certificate.
  Result<std::vector<std::string>> Chain(std::string_view leaf_der) const;

  // The CA certificates (intermediates and roots, DER, without duplicates) of the accepted chains of every
  // certificate with a key: what the Windows signerd's KeyStore offers as CaCertificates(), so the common
  // chain assembly (signer/matching.h) reaches the same answer as Chain().
  Result<std::vector<std::string>> ChainCaCertificates() const;

 private:
  CertStore(StoreLocation location, ScopedCertStore store) : location_(location), store_(std::move(store)) {}

  // The elements of the first acceptable chain for `leaf`, leaf first; empty when none is acceptable.
  Result<std::vector<PCCERT_CONTEXT>> AcceptedChain(PCCERT_CONTEXT leaf, ScopedChainContext& holder) const;

  StoreLocation location_;
  ScopedCertStore store_;
};

// --- Test provisioning (the Wine tests' fixture; signerd never calls these) ---

// Adds `der` to the MY store of `location` with CERT_KEY_PROV_INFO_PROP_ID naming `container` in the
// Microsoft Software Key Storage Provider, so the store lists it as a certificate with a key.
Status AddCertificateWithKeyName(StoreLocation location, std::string_view der, const std::wstring& container);

// Adds a CA certificate to `location`'s "Root" store when it is self-signed, else to its "CA" store.
Status AddCaCertificate(StoreLocation location, std::string_view der);

}  // namespace sigil::winstore

#endif  // SIGIL_SIGNER_STORES_WINDOWS_CERT_STORE_H_
