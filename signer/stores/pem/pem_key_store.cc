#include "signer/stores/pem/pem_key_store.h"

#include <openssl/x509.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"
#include "signer/stores/pem/pem_signing_key.h"

namespace sigil::signer {
namespace {

namespace fs = std::filesystem;

// Certificate files bigger than this are not certificate files.
constexpr size_t kMaxFileBytes = 1 << 20;

bool IsCertificateFile(const fs::path& path) {
  const std::string ext = path.extension().string();
  return ext == ".pem" || ext == ".crt";
}

}  // namespace

absl::StatusOr<std::unique_ptr<PemKeyStore>> PemKeyStore::Create(const config::v1::PemStore& options) {
  if (options.directory().empty()) {
    return absl::InvalidArgumentError("'pem_store.directory' is required with cert_store \"PEM\"");
  }
  std::error_code error;
  if (!fs::is_directory(options.directory(), error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'pem_store.directory' ", options.directory(), " is not a readable directory"));
  }
  return std::unique_ptr<PemKeyStore>(new PemKeyStore(options.directory()));
}

absl::StatusOr<PemKeyStore::Scan> PemKeyStore::ScanDirectory() const {
  std::error_code error;
  fs::directory_iterator it(directory_, error);
  if (error) {
    return absl::UnavailableError(absl::StrCat("cannot read ", directory_, ": ", error.message()));
  }
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : it) {
    if (entry.is_regular_file(error) && IsCertificateFile(entry.path())) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());  // a stable order for logs; selection does not depend on it
  Scan scan;
  for (const fs::path& file : files) {
    auto pem = ReadFileToString(file.string(), kMaxFileBytes);
    if (!pem.ok()) continue;  // removed or replaced while scanning
    auto certs = ParsePemCertificates(*pem, file.string());
    if (!certs.ok()) continue;  // not a certificate file after all
    fs::path key_file = file;
    key_file.replace_extension(".key");
    size_t first_ca = 0;
    if (fs::is_regular_file(key_file, error)) {
      scan.leaves.push_back(StoreCertificate{CertificateDer((*certs)[0].get()), key_file.string()});
      first_ca = 1;
    }
    for (size_t i = first_ca; i < certs->size(); ++i) scan.cas.push_back(CertificateDer((*certs)[i].get()));
  }
  return scan;
}

absl::StatusOr<std::vector<StoreCertificate>> PemKeyStore::Certificates() {
  SIGIL_ASSIGN_OR_RETURN(Scan scan, ScanDirectory());
  return scan.leaves;
}

absl::StatusOr<std::vector<std::string>> PemKeyStore::CaCertificates() {
  SIGIL_ASSIGN_OR_RETURN(Scan scan, ScanDirectory());
  return scan.cas;
}

absl::StatusOr<std::unique_ptr<SigningKey>> PemKeyStore::OpenKey(const StoreCertificate& certificate) {
  auto pem = ReadFileToString(certificate.key_ref, kMaxFileBytes);
  if (!pem.ok()) return absl::NotFoundError(absl::StrCat("key file ", certificate.key_ref, " is gone"));
  SIGIL_ASSIGN_OR_RETURN(EvpPkeyPtr key, ParsePemPrivateKey(*pem, certificate.key_ref));
  SIGIL_ASSIGN_OR_RETURN(X509Ptr cert, ParseDerCertificate(certificate.der));
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ClearOpenSslErrors();
    return absl::InvalidArgumentError(
        absl::StrCat("key file ", certificate.key_ref, " does not hold the certificate's key"));
  }
  SIGIL_ASSIGN_OR_RETURN(std::unique_ptr<PemSigningKey> signing_key, PemSigningKey::Create(std::move(key)));
  return std::unique_ptr<SigningKey>(std::move(signing_key));
}

}  // namespace sigil::signer
