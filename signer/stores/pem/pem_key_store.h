// PemKeyStore: cert_store "PEM", a development credential store over a directory of PEM files, so the
// matching rules, rotation and chain assembly can be tried without a token.
//
// Layout: a certificate file `NAME.pem` or `NAME.crt` whose private key is in `NAME.key` (unencrypted PEM)
// is an identity candidate: its first certificate is the leaf, any further certificates in it are CA
// certificates. Certificate files without a matching `.key` hold CA certificates only. Other files are
// ignored. The directory is read on every call, so replacing files is a rotation.
//
// The key never leaves signerd's memory, but it is a file: use a real store in production.
//
// Thread-safety: stateless apart from the directory path; every method may be called concurrently.
#ifndef SIGIL_SIGNER_STORES_PEM_PEM_KEY_STORE_H_
#define SIGIL_SIGNER_STORES_PEM_PEM_KEY_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sigil/config/v1/signer.pb.h"
#include "signer/key_store.h"

namespace sigil::signer {

class PemKeyStore : public KeyStore {
 public:
  // INVALID_ARGUMENT when `directory` is empty or not a readable directory (the message names
  // pem_store.directory).
  static absl::StatusOr<std::unique_ptr<PemKeyStore>> Create(const config::v1::PemStore& options);

  absl::string_view provider() const override { return "PEM"; }
  absl::StatusOr<std::vector<StoreCertificate>> Certificates() override;
  absl::StatusOr<std::vector<std::string>> CaCertificates() override;
  // Reads the key file named by key_ref. NOT_FOUND when it is gone; INVALID_ARGUMENT when it does not
  // hold the certificate's key.
  absl::StatusOr<std::unique_ptr<SigningKey>> OpenKey(const StoreCertificate& certificate) override;

 private:
  explicit PemKeyStore(std::string directory) : directory_(std::move(directory)) {}

  struct Scan {
    std::vector<StoreCertificate> leaves;
    std::vector<std::string> cas;
  };
  absl::StatusOr<Scan> ScanDirectory() const;

  const std::string directory_;
};

}  // namespace sigil::signer

#endif  // SIGIL_SIGNER_STORES_PEM_PEM_KEY_STORE_H_
