// Pkcs11KeyStore on a software TPM (swtpm) through tpm2-pkcs11, and the KeyStore conformance suite on it.
// Each test starts its own swtpm on ports from the OS and stops it at the end.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "gtest/gtest.h"
#include "signer/signature_scheme.h"
#include "signer/stores/pkcs11/pkcs11_key_store.h"
#include "signer/stores/pkcs11/testing/pkcs11_fixture.h"
#include "signer/stores/testing/keystore_conformance.h"
#include "tests/pki/test_pki.h"

namespace sigil::signer::testing {

INSTANTIATE_TEST_SUITE_P(Tpm, KeyStoreConformanceTest,
                         ::testing::Values(ConformanceParam{"TPM", &MakeTpmStoreFixture}), ConformanceParamName);

namespace {

using ::sigil::testing::CertSpec;
using ::sigil::testing::Issued;
using ::sigil::testing::KeySpec;

class TpmKeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fixture = MakeTpmFixture();
    ASSERT_TRUE(fixture.ok()) << fixture.status();
    fixture_ = *std::move(fixture);
    auto ca = sigil::testing::SelfSigned(CertSpec{{{"CN", "TPM Test CA"}}, true}, KeySpec::Ec());
    ASSERT_TRUE(ca.ok());
    ca_ = *std::move(ca);
  }

  EvpPkeyPtr Provision(const std::string& label, const KeySpec& spec) {
    auto der = testing::ProvisionIdentity(*fixture_, label, spec, CertSpec{{{"CN", label}}}, ca_);
    EXPECT_TRUE(der.ok()) << der.status();
    if (!der.ok()) return nullptr;
    auto cert = ParseDerCertificate(*der);
    return cert.ok() ? EvpPkeyPtr(X509_get_pubkey(cert->get())) : nullptr;
  }

  std::unique_ptr<Pkcs11SigningKey> KeyFor(Pkcs11KeyStore& store, const std::string& label) {
    auto certs = store.Certificates();
    EXPECT_TRUE(certs.ok()) << certs.status();
    if (!certs.ok()) return nullptr;
    for (const StoreCertificate& cert : *certs) {
      if (cert.key_ref.rfind(absl::StrCat("label=", label, ",id="), 0) == 0) {
        auto key = store.OpenPkcs11Key(cert);
        EXPECT_TRUE(key.ok()) << key.status();
        return key.ok() ? *std::move(key) : nullptr;
      }
    }
    ADD_FAILURE() << "no certificate labelled " << label;
    return nullptr;
  }

  std::unique_ptr<Pkcs11TokenFixture> fixture_;
  Issued ca_;
};

// The TPM signs what its token lists; schemes whose mechanism tpm2-pkcs11 does not list (RSA-PSS when
// the TPM's PSS salt is not known to be the hash length) are left out of Schemes() and refused.
TEST_F(TpmKeyStoreTest, SchemesFollowTheTokensMechanisms) {
  const KeySpec specs[] = {KeySpec::Rsa(2048), KeySpec::Ec(NID_X9_62_prime256v1), KeySpec::Ec(NID_secp384r1)};
  int n = 0;
  for (const KeySpec& spec : specs) {
    const std::string label = absl::StrCat("k", n++);
    SCOPED_TRACE(label);
    EvpPkeyPtr public_key = Provision(label, spec);
    ASSERT_NE(public_key, nullptr);
    auto store = fixture_->Open();
    ASSERT_TRUE(store.ok()) << store.status();
    auto* pkcs11_store = static_cast<Pkcs11KeyStore*>(store->get());
    auto key = KeyFor(*pkcs11_store, label);
    ASSERT_NE(key, nullptr);
    const bool has_pss = pkcs11_store->token().CanSign(CKM_RSA_PKCS_PSS, key->info().bits);
    const std::vector<uint16_t> schemes = key->Schemes();
    for (uint16_t code : SupportedSchemes(key->info())) {
      const SignatureScheme* scheme = FindScheme(code);
      const bool listed = std::find(schemes.begin(), schemes.end(), code) != schemes.end();
      EXPECT_EQ(listed, !scheme->pss || has_pss) << SchemeLabel(code);
      std::string digest = Digest(scheme->md(), absl::StrCat("tpm ", code));
      auto signature = key->Sign(*scheme, digest);
      if (!listed) {
        EXPECT_EQ(signature.status().code(), absl::StatusCode::kFailedPrecondition) << SchemeLabel(code);
        continue;
      }
      ASSERT_TRUE(signature.ok()) << SchemeLabel(code) << ": " << signature.status();
      EXPECT_TRUE(VerifySignature(public_key.get(), *scheme, digest, *signature).ok()) << SchemeLabel(code);
    }
  }
}

// tpm2-pkcs11 1.9.0 hands out the same session handle to two threads that open sessions at the same
// time. Eight threads start together on a store whose pool must grow to eight sessions: every signature
// must succeed and verify, and the pool must hold distinct sessions.
TEST_F(TpmKeyStoreTest, ConcurrentSessionOpensAreSerialised) {
  EvpPkeyPtr public_key = Provision("busy", KeySpec::Ec());
  ASSERT_NE(public_key, nullptr);
  config::v1::Pkcs11Store options = fixture_->options();
  options.set_sessions(8);
  options.set_max_concurrent_ops(8);
  auto store = fixture_->OpenPkcs11(options);
  ASSERT_TRUE(store.ok()) << store.status();
  auto key = KeyFor(**store, "busy");
  ASSERT_NE(key, nullptr);
  const SignatureScheme& scheme = *FindScheme(0x0403);
  auto* start = new absl::Barrier(8);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      if (start->Block()) delete start;
      for (int i = 0; i < 6; ++i) {
        std::string digest = Digest(scheme.md(), absl::StrCat(t, "/", i));
        auto signature = key->Sign(scheme, digest);
        if (!signature.ok()) {
          ADD_FAILURE() << signature.status();
          ++failures;
        } else if (!VerifySignature(public_key.get(), scheme, digest, *signature).ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  std::vector<CK_SESSION_HANDLE> idle = (*store)->token().IdleSessionsForTesting();
  EXPECT_EQ(std::set<CK_SESSION_HANDLE>(idle.begin(), idle.end()).size(), idle.size());
  EXPECT_LE((*store)->token_stats().peak_ops_in_flight, 8u);
}

}  // namespace
}  // namespace sigil::signer::testing
