#include "signer/stores/windows/windows_key_store.h"

#include <openssl/obj_mac.h>

#include <utility>

#include "signer/stores/windows/ncrypt_key.h"

namespace sigil::signer {
namespace {

// A CNG key seen as a SigningKey. Owns the core key (and through it the certificate context), so it stays
// valid after the WindowsKeyStore is gone.
class WindowsSigningKey : public SigningKey {
 public:
  explicit WindowsSigningKey(std::unique_ptr<winstore::NCryptSigningKey> key) : key_(std::move(key)) {
    const winstore::KeyDescription& description = key_->description();
    info_.bits = description.bits;
    if (description.algorithm == winstore::KeyAlgorithm::kRsa) {
      info_.type = KeyType::kRsa;
    } else {
      info_.type = KeyType::kEc;
      info_.curve_nid = description.bits == 256   ? NID_X9_62_prime256v1
                        : description.bits == 384 ? NID_secp384r1
                                                  : NID_secp521r1;
    }
  }

  const KeyInfo& info() const override { return info_; }
  std::vector<uint16_t> Schemes() const override { return key_->Schemes(); }
  bool MayBlock() const override { return true; }

  absl::StatusOr<std::string> Sign(const SignatureScheme& scheme, absl::string_view digest) override {
    winstore::Result<std::string> signature = key_->Sign(scheme.code, std::string_view(digest.data(), digest.size()));
    if (!signature.ok()) return FromWinStatus(signature.status());
    return std::move(signature).value();
  }

 private:
  const std::unique_ptr<winstore::NCryptSigningKey> key_;
  KeyInfo info_;
};

}  // namespace

absl::Status FromWinStatus(const winstore::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.code()), status.message());
}

absl::StatusOr<std::unique_ptr<WindowsKeyStore>> WindowsKeyStore::Create(absl::string_view provider) {
  winstore::Result<winstore::StoreLocation> location =
      winstore::ParseProvider(std::string_view(provider.data(), provider.size()));
  if (!location.ok()) return FromWinStatus(location.status());
  winstore::Result<winstore::CertStore> store = winstore::CertStore::Open(*location);
  if (!store.ok()) return FromWinStatus(store.status());
  return std::unique_ptr<WindowsKeyStore>(new WindowsKeyStore(*location));
}

absl::StatusOr<std::vector<StoreCertificate>> WindowsKeyStore::Certificates() {
  winstore::Result<winstore::CertStore> store = winstore::CertStore::Open(location_);
  if (!store.ok()) return FromWinStatus(store.status());
  winstore::Result<std::vector<winstore::StoreEntry>> entries = store->CertificatesWithKeys();
  if (!entries.ok()) return FromWinStatus(entries.status());
  std::vector<StoreCertificate> out;
  out.reserve(entries->size());
  for (winstore::StoreEntry& entry : *entries) {
    out.push_back(StoreCertificate{std::move(entry.facts.der), std::move(entry.key_ref)});
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> WindowsKeyStore::CaCertificates() {
  winstore::Result<winstore::CertStore> store = winstore::CertStore::Open(location_);
  if (!store.ok()) return FromWinStatus(store.status());
  winstore::Result<std::vector<std::string>> cas = store->ChainCaCertificates();
  if (!cas.ok()) return FromWinStatus(cas.status());
  return std::move(cas).value();
}

absl::StatusOr<std::unique_ptr<SigningKey>> WindowsKeyStore::OpenKey(const StoreCertificate& certificate) {
  winstore::Result<winstore::CertStore> store = winstore::CertStore::Open(location_);
  if (!store.ok()) return FromWinStatus(store.status());
  winstore::Result<winstore::ScopedCertContext> cert = store->FindByDer(certificate.der);
  if (!cert.ok()) return FromWinStatus(cert.status());
  winstore::Result<std::unique_ptr<winstore::NCryptSigningKey>> key =
      winstore::NCryptSigningKey::AcquireForCertificate(cert->get());
  if (!key.ok()) return FromWinStatus(key.status());
  return std::unique_ptr<SigningKey>(new WindowsSigningKey(std::move(key).value()));
}

}  // namespace sigil::signer
