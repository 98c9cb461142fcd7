// PemKeyStore: the conformance suite over a directory of PEM files, and the directory's own rules.
#include "signer/stores/pem/pem_key_store.h"

#include <openssl/pem.h>

#include <atomic>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/openssl_util.h"
#include "gtest/gtest.h"
#include "signer/stores/testing/keystore_conformance.h"
#include "tests/pki/test_pki.h"

namespace sigil::signer {
namespace {

using ::sigil::testing::KeySpec;

std::string FreshDirectory() {
  static std::atomic<int> counter{0};
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/pem_store_", ::getpid(), "_", counter++);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string DerToPem(const std::string& der) {
  auto cert = ParseDerCertificate(der);
  return cert.ok() ? CertificatePem(cert->get()) : "";
}

// A PEM directory: LABEL.key written at GenerateKey, LABEL.pem at AddCertificate, ca-N.pem for CAs.
class PemFixture : public testing::StoreFixture {
 public:
  PemFixture() : directory_(FreshDirectory()) {}
  ~PemFixture() override { std::filesystem::remove_all(directory_); }

  std::string name() const override { return "PEM"; }
  bool Supports(const KeySpec&) const override { return true; }

  absl::StatusOr<std::string> GenerateKey(const KeySpec& spec, const std::string& label) override {
    auto key = sigil::testing::GenerateKey(spec);
    if (!key.ok()) return key.status();
    sigil::testing::Issued holder;
    holder.key = *std::move(key);
    if (auto s = sigil::testing::WriteFile(Path(label, ".key"), holder.KeyPem()); !s.ok()) return s;
    return PublicKeyPem(holder.key.get());
  }
  absl::Status AddCertificate(const std::string& label, const std::string& cert_der) override {
    return sigil::testing::WriteFile(Path(label, ".pem"), DerToPem(cert_der));
  }
  absl::Status AddCaCertificate(const std::string& cert_der) override {
    return sigil::testing::WriteFile(Path(absl::StrCat("ca-", cas_++), ".pem"), DerToPem(cert_der));
  }
  absl::StatusOr<std::unique_ptr<KeyStore>> Open() override {
    config::v1::PemStore options;
    options.set_directory(directory_);
    auto store = PemKeyStore::Create(options);
    if (!store.ok()) return store.status();
    return std::unique_ptr<KeyStore>(*std::move(store));
  }

  std::string Path(const std::string& label, const char* ext) const {
    return absl::StrCat(directory_, "/", label, ext);
  }

 private:
  const std::string directory_;
  int cas_ = 0;
};

using testing::KeyStoreConformanceTest;

INSTANTIATE_TEST_SUITE_P(Pem, KeyStoreConformanceTest,
                         ::testing::Values(testing::ConformanceParam{
                             "PEM",
                             []() -> absl::StatusOr<std::unique_ptr<testing::StoreFixture>> {
                               return std::make_unique<PemFixture>();
                             }}),
                         testing::ConformanceParamName);

TEST(PemKeyStoreTest, DirectoryIsRequiredAndMustExist) {
  config::v1::PemStore options;
  EXPECT_EQ(PemKeyStore::Create(options).status().message(),
            "'pem_store.directory' is required with cert_store \"PEM\"");
  options.set_directory("/nonexistent/sigil");
  EXPECT_EQ(PemKeyStore::Create(options).status().message(),
            "'pem_store.directory' /nonexistent/sigil is not a readable directory");
}

TEST(PemKeyStoreTest, CertificateWithoutKeyIsACaAndWrongKeyIsRefused) {
  PemFixture fixture;
  auto ca = sigil::testing::SelfSigned(sigil::testing::CertSpec{{{"CN", "CA"}}, true}, KeySpec::Ec());
  ASSERT_TRUE(ca.ok());
  auto leaf = sigil::testing::IssueCert(sigil::testing::CertSpec{{{"CN", "leaf"}}}, KeySpec::Ec(), *ca);
  ASSERT_TRUE(leaf.ok());
  ASSERT_TRUE(sigil::testing::WriteFile(fixture.Path("leaf", ".pem"), leaf->CertPem() + ca->CertPem()).ok());
  // The key file holds another key.
  auto other = sigil::testing::GenerateKey(KeySpec::Ec());
  ASSERT_TRUE(other.ok());
  sigil::testing::Issued holder;
  holder.key = *std::move(other);
  ASSERT_TRUE(sigil::testing::WriteFile(fixture.Path("leaf", ".key"), holder.KeyPem()).ok());
  ASSERT_TRUE(sigil::testing::WriteFile(fixture.Path("lonely", ".crt"), ca->CertPem()).ok());
  ASSERT_TRUE(sigil::testing::WriteFile(fixture.Path("notes", ".txt"), "not a certificate").ok());

  auto store = fixture.Open();
  ASSERT_TRUE(store.ok());
  auto certificates = (*store)->Certificates();
  ASSERT_TRUE(certificates.ok());
  ASSERT_EQ(certificates->size(), 1u);
  EXPECT_EQ((*certificates)[0].der, leaf->CertDer());
  auto cas = (*store)->CaCertificates();
  ASSERT_TRUE(cas.ok());
  EXPECT_EQ(cas->size(), 2u);  // the bundle's second certificate and lonely.crt

  auto key = (*store)->OpenKey((*certificates)[0]);
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(key.status().message(),
            absl::StrCat("key file ", fixture.Path("leaf", ".key"), " does not hold the certificate's key"));

  std::filesystem::remove(fixture.Path("leaf", ".key"));
  EXPECT_EQ((*store)->OpenKey((*certificates)[0]).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace sigil::signer
