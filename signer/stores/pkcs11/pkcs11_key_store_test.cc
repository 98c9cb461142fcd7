// Pkcs11KeyStore against a real SoftHSM2 token in the test's temp dir: every scheme verified with
// OpenSSL, start-up errors, re-login, token removal and re-insertion, concurrency.
#include "signer/stores/pkcs11/pkcs11_key_store.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <dirent.h>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "gtest/gtest.h"
#include "signer/identity.h"
#include "signer/signature_scheme.h"
#include "signer/stores/pkcs11/pkcs11_error.h"
#include "signer/stores/pkcs11/testing/pkcs11_fixture.h"
#include "tests/pki/test_pki.h"

namespace sigil::signer {
namespace {

using ::sigil::signer::testing::MakeSoftHsmFixture;
using ::sigil::signer::testing::Pkcs11TokenFixture;
using ::sigil::testing::CertSpec;
using ::sigil::testing::Issued;
using ::sigil::testing::KeySpec;

class Pkcs11KeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fixture = MakeSoftHsmFixture();
    ASSERT_TRUE(fixture.ok()) << fixture.status();
    fixture_ = *std::move(fixture);
    auto ca = sigil::testing::SelfSigned(CertSpec{{{"CN", "PKCS11 Test CA"}}, true}, KeySpec::Ec());
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = *std::move(ca);
  }

  // Generates a key in the token and stores a certificate for it; returns the certificate's public key.
  EvpPkeyPtr Provision(const std::string& label, const KeySpec& spec) {
    auto der = testing::ProvisionIdentity(*fixture_, label, spec, CertSpec{{{"CN", label}}}, ca_);
    EXPECT_TRUE(der.ok()) << der.status();
    if (!der.ok()) return nullptr;
    auto cert = ParseDerCertificate(*der);
    return cert.ok() ? EvpPkeyPtr(X509_get_pubkey(cert->get())) : nullptr;
  }

  std::unique_ptr<Pkcs11KeyStore> OpenStore(uint32_t sessions = 4, int max_ops = -1) {
    config::v1::Pkcs11Store options = fixture_->options();
    options.set_sessions(sessions);
    if (max_ops >= 0) options.set_max_concurrent_ops(max_ops);
    auto store = fixture_->OpenPkcs11(options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  // The only identity's key.
  std::unique_ptr<Pkcs11SigningKey> OnlyKey(Pkcs11KeyStore& store) {
    auto certs = store.Certificates();
    EXPECT_TRUE(certs.ok()) << certs.status();
    if (!certs.ok() || certs->size() != 1) {
      ADD_FAILURE() << "expected one certificate";
      return nullptr;
    }
    auto key = store.OpenPkcs11Key((*certs)[0]);
    EXPECT_TRUE(key.ok()) << key.status();
    return key.ok() ? *std::move(key) : nullptr;
  }

  absl::StatusOr<std::unique_ptr<Pkcs11KeyStore>> CreateWith(const config::v1::Pkcs11Store& options) {
    return fixture_->OpenPkcs11(options);
  }

  // The SoftHSM2 token's directory (one per token under tokens/).
  std::string TokenDirectory() {
    std::string tokens = absl::StrCat(fixture_->dir(), "/tokens");
    DIR* dir = opendir(tokens.c_str());
    std::string found;
    while (dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') found = absl::StrCat(tokens, "/", entry->d_name);
    }
    closedir(dir);
    return found;
  }

  std::unique_ptr<Pkcs11TokenFixture> fixture_;
  Issued ca_;
};

TEST_F(Pkcs11KeyStoreTest, EverySchemeOfEveryKeyVerifiesWithOpenSsl) {
  const KeySpec specs[] = {KeySpec::Rsa(2048), KeySpec::Ec(NID_X9_62_prime256v1), KeySpec::Ec(NID_secp384r1)};
  for (const KeySpec& spec : specs) {
    const std::string label = spec.type == KeySpec::kRsa ? "rsa" : absl::StrCat("ec", spec.ec_nid);
    SCOPED_TRACE(label);
    EvpPkeyPtr public_key = Provision(label, spec);
    ASSERT_NE(public_key, nullptr);
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    auto certs = store->Certificates();
    ASSERT_TRUE(certs.ok()) << certs.status();
    auto it = std::find_if(certs->begin(), certs->end(),
                           [&](const StoreCertificate& c) { return absl::StartsWith(c.key_ref, "label=" + label); });
    ASSERT_NE(it, certs->end());
    auto key = store->OpenPkcs11Key(*it);
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_TRUE((*key)->MayBlock());
    // SoftHSM2 has CKM_RSA_PKCS, CKM_RSA_PKCS_PSS and CKM_ECDSA: every scheme the key allows.
    EXPECT_EQ((*key)->Schemes(), SupportedSchemes((*key)->info()));
    ASSERT_FALSE((*key)->Schemes().empty());
    for (uint16_t code : (*key)->Schemes()) {
      const SignatureScheme* scheme = FindScheme(code);
      std::string digest = Digest(scheme->md(), absl::StrCat("message for ", code));
      auto signature = (*key)->Sign(*scheme, digest);
      ASSERT_TRUE(signature.ok()) << SchemeLabel(code) << ": " << signature.status();
      EXPECT_TRUE(VerifySignature(public_key.get(), *scheme, digest, *signature).ok()) << SchemeLabel(code);
      EXPECT_FALSE(VerifySignature(public_key.get(), *scheme, Digest(scheme->md(), "other"), *signature).ok());
    }
    // A digest of the wrong length and a scheme of the other key type are refused before the token.
    const SignatureScheme* first = FindScheme((*key)->Schemes()[0]);
    EXPECT_EQ((*key)->Sign(*first, "short").status().code(), absl::StatusCode::kInvalidArgument);
    const SignatureScheme* other = FindScheme(spec.type == KeySpec::kRsa ? 0x0403 : 0x0401);
    EXPECT_EQ((*key)->Sign(*other, std::string(32, 'x')).status().code(), absl::StatusCode::kFailedPrecondition);
  }
}

TEST_F(Pkcs11KeyStoreTest, ListsKeyedCertificatesAndOffersTheRestAsCas) {
  ASSERT_NE(Provision("leaf", KeySpec::Ec()), nullptr);
  // A key without a certificate is not an identity; a certificate without a key is a CA.
  ASSERT_TRUE(fixture_->GenerateKey(KeySpec::Ec(), "bare-key").ok());
  ASSERT_TRUE(fixture_->AddCaCertificate(ca_.CertDer()).ok());
  auto file_ca = sigil::testing::SelfSigned(CertSpec{{{"CN", "File CA"}}, true}, KeySpec::Ec());
  ASSERT_TRUE(file_ca.ok());
  const std::string ca_file = absl::StrCat(fixture_->dir(), "/ca.pem");
  ASSERT_TRUE(sigil::testing::WriteFile(ca_file, file_ca->CertPem()).ok());

  config::v1::Pkcs11Store options = fixture_->options();
  options.set_ca_file(ca_file);
  auto store = CreateWith(options);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->provider(), "PKCS11");
  auto certs = (*store)->Certificates();
  ASSERT_TRUE(certs.ok());
  ASSERT_EQ(certs->size(), 1u);
  EXPECT_TRUE(absl::StartsWith((*certs)[0].key_ref, "label=leaf,id=")) << (*certs)[0].key_ref;
  auto cas = (*store)->CaCertificates();
  ASSERT_TRUE(cas.ok());
  EXPECT_EQ(*cas, (std::vector<std::string>{ca_.CertDer(), file_ca->CertDer()}));

  // key_ref that is not ours, and a key that is gone.
  EXPECT_EQ((*store)->OpenKey(StoreCertificate{"", "/some/file.key"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*store)->OpenKey(StoreCertificate{"", "label=x,id=00ff"}).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(Pkcs11KeyStoreTest, StartUpErrorsNameTheOption) {
  config::v1::Pkcs11Store good = fixture_->options();
  auto expect_error = [&](const config::v1::Pkcs11Store& options, absl::StatusCode code, const std::string& text) {
    auto store = CreateWith(options);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), code) << store.status();
    EXPECT_TRUE(absl::StrContains(store.status().message(), text)) << store.status();
  };
  config::v1::Pkcs11Store o = good;
  o.clear_module();
  expect_error(o, absl::StatusCode::kInvalidArgument, "pkcs11.module is required");
  o = good;
  o.clear_token_label();
  expect_error(o, absl::StatusCode::kInvalidArgument, "pkcs11.token_label is required");
  o = good;
  o.clear_pin_file();
  expect_error(o, absl::StatusCode::kInvalidArgument, "pkcs11.pin_file is required");
  o = good;
  o.set_pin_file(absl::StrCat(fixture_->dir(), "/no-such-pin"));
  expect_error(o, absl::StatusCode::kFailedPrecondition, "pkcs11.pin_file");
  o = good;
  o.set_sessions(0);
  expect_error(o, absl::StatusCode::kInvalidArgument, "pkcs11.sessions");
  o = good;
  o.set_module("/nonexistent/libpkcs11.so");
  expect_error(o, absl::StatusCode::kFailedPrecondition, "pkcs11.module: PKCS#11 module '/nonexistent/libpkcs11.so'");
  o = good;
  o.set_module(absl::StrCat(fixture_->dir(), "/softhsm2.conf"));  // Exists, not a shared library.
  expect_error(o, absl::StatusCode::kFailedPrecondition, "cannot be loaded");
  o = good;
  o.set_token_label("no-such-token");
  expect_error(o, absl::StatusCode::kNotFound, "tokens found: 'sigil-test'");
  o = good;
  o.set_ca_file(absl::StrCat(fixture_->dir(), "/no-such-ca.pem"));
  expect_error(o, absl::StatusCode::kFailedPrecondition, "pkcs11.ca_file");
}

TEST_F(Pkcs11KeyStoreTest, WrongPinFailsWithoutLeakingIt) {
  const std::string wrong_pin = "98765432";
  const std::string pin_file = absl::StrCat(fixture_->dir(), "/wrong.pin");
  ASSERT_TRUE(sigil::testing::WriteFile(pin_file, wrong_pin + "\n").ok());
  config::v1::Pkcs11Store options = fixture_->options();
  options.set_pin_file(pin_file);
  auto store = CreateWith(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(store.status().message(), "CKR_PIN_INCORRECT")) << store.status();
  EXPECT_TRUE(absl::StrContains(store.status().message(), pin_file)) << store.status();
  EXPECT_FALSE(absl::StrContains(store.status().message(), wrong_pin)) << store.status();
}

TEST_F(Pkcs11KeyStoreTest, LogsInAgainAfterTheApplicationWasLoggedOut) {
  ASSERT_NE(Provision("relogin", KeySpec::Ec()), nullptr);
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  auto key = OnlyKey(*store);
  ASSERT_NE(key, nullptr);
  const SignatureScheme& scheme = *FindScheme(0x0403);
  ASSERT_TRUE(key->Sign(scheme, Digest(scheme.md(), "before")).ok());
  const uint64_t logins = store->token_stats().logins;

  // Another user of the module logs the application out (login state is per application and token).
  {
    auto module = fixture_->LoadModule();
    ASSERT_TRUE(module.ok());
    pkcs11::Pkcs11Module::Use use(**module);
    CK_SESSION_HANDLE session = store->token().IdleSessionsForTesting().at(0);
    ASSERT_EQ(use->C_Logout(session), CKR_OK);
  }
  auto signature = key->Sign(scheme, Digest(scheme.md(), "after"));
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_EQ(store->token_stats().logins, logins + 1);
}

TEST_F(Pkcs11KeyStoreTest, RecoversFromTokenRemovalAndReinsertion) {
  EvpPkeyPtr public_key = Provision("removable", KeySpec::Rsa(2048));
  ASSERT_NE(public_key, nullptr);
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  auto key = OnlyKey(*store);
  ASSERT_NE(key, nullptr);
  const SignatureScheme& scheme = *FindScheme(0x0804);
  ASSERT_TRUE(key->Sign(scheme, Digest(scheme.md(), "present")).ok());

  // "Remove" the token: SoftHSM2 keeps each token in its own directory.
  const std::string token_dir = TokenDirectory();
  const std::string away = absl::StrCat(fixture_->dir(), "/away");
  ASSERT_EQ(std::rename(token_dir.c_str(), away.c_str()), 0);
  for (int i = 0; i < 2; ++i) {  // Stays UNAVAILABLE, also once the sessions were dropped.
    auto gone = key->Sign(scheme, Digest(scheme.md(), "gone"));
    ASSERT_FALSE(gone.ok());
    EXPECT_EQ(gone.status().code(), absl::StatusCode::kUnavailable) << gone.status();
  }
  EXPECT_EQ(store->Certificates().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_GE(store->token_stats().losses, 1u);

  // Re-insert it: the same key object signs again, without a new OpenKey.
  ASSERT_EQ(std::rename(away.c_str(), token_dir.c_str()), 0);
  const std::string digest = Digest(scheme.md(), "back");
  auto signature = key->Sign(scheme, digest);
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_TRUE(VerifySignature(public_key.get(), scheme, digest, *signature).ok());
  EXPECT_GE(store->token_stats().recoveries, 1u);
  auto certs = store->Certificates();
  ASSERT_TRUE(certs.ok()) << certs.status();
  EXPECT_EQ(certs->size(), 1u);
}

TEST_F(Pkcs11KeyStoreTest, DeletedKeyIsNotFound) {
  ASSERT_NE(Provision("doomed", KeySpec::Ec()), nullptr);
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  auto key = OnlyKey(*store);
  ASSERT_NE(key, nullptr);
  const SignatureScheme& scheme = *FindScheme(0x0403);
  ASSERT_TRUE(key->Sign(scheme, Digest(scheme.md(), "m")).ok());
  ASSERT_TRUE(fixture_->DeleteObjects("doomed").ok());
  auto signature = key->Sign(scheme, Digest(scheme.md(), "m"));
  EXPECT_EQ(signature.status().code(), absl::StatusCode::kNotFound) << signature.status();
}

TEST_F(Pkcs11KeyStoreTest, IdentityWhoseCertificateIsPairedWithAnotherKeyIsRefused) {
  // The store pairs a certificate with the private key of the same CKA_ID. Here the certificate "mispaired"
  // carries the CKA_ID of token key "b" but certifies a key that is not on the token at all.
  ASSERT_TRUE(fixture_->GenerateKey(KeySpec::Ec(), "b").ok());
  auto stranger = sigil::testing::IssueCert(CertSpec{{{"CN", "mispaired"}}}, KeySpec::Ec(), ca_);
  ASSERT_TRUE(stranger.ok()) << stranger.status();
  ASSERT_TRUE(fixture_->AddCertificate("b", stranger->CertDer()).ok());
  ASSERT_TRUE(fixture_->AddCaCertificate(ca_.CertDer()).ok());
  // A correctly paired identity on the same token still loads.
  ASSERT_NE(Provision("good", KeySpec::Ec()), nullptr);

  auto config_for = [&](const std::string& subject) {
    config::v1::SignerConfig config;
    config::v1::IdentityConfig* identity = config.add_identities();
    identity->set_name(subject);
    identity->set_cert_store("PKCS11");
    identity->set_cert_match_by("Subject");
    identity->set_cert_match(subject);
    *identity->mutable_pkcs11() = fixture_->options();
    identity->add_allowed_principals("*");
    return config;
  };
  KeyStoreFactory open = [&](const config::v1::IdentityConfig&) -> absl::StatusOr<std::unique_ptr<KeyStore>> {
    return fixture_->Open();
  };
  std::vector<std::string> decisions;
  auto refused = IdentitySet::Create(config_for("mispaired"), open, &decisions);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StartsWith(refused.status().message(), "identity 'mispaired': the key label=b,id="))
      << refused.status();
  EXPECT_TRUE(absl::EndsWith(refused.status().message(),
                             " does not match the certificate: its test signature does not verify with the "
                             "certificate's public key"))
      << refused.status();

  auto good = IdentitySet::Create(config_for("good"), open, &decisions);
  EXPECT_TRUE(good.ok()) << good.status();
}

TEST_F(Pkcs11KeyStoreTest, EightThreadsRespectMaxConcurrentOps) {
  EvpPkeyPtr public_key = Provision("busy", KeySpec::Ec(NID_secp384r1));
  ASSERT_NE(public_key, nullptr);
  auto store = OpenStore(/*sessions=*/4, /*max_ops=*/2);
  ASSERT_NE(store, nullptr);
  auto key = OnlyKey(*store);
  ASSERT_NE(key, nullptr);
  const SignatureScheme& scheme = *FindScheme(0x0503);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        std::string digest = Digest(scheme.md(), absl::StrCat(t, "/", i));
        auto signature = key->Sign(scheme, digest);
        if (!signature.ok() || !VerifySignature(public_key.get(), scheme, digest, *signature).ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  const pkcs11::TokenStats stats = store->token_stats();
  EXPECT_LE(stats.peak_ops_in_flight, 2u);
  EXPECT_GE(stats.peak_ops_in_flight, 1u);
  // Never more sessions than operations in flight allowed.
  EXPECT_LE(stats.sessions_opened, 2u);
}

TEST_F(Pkcs11KeyStoreTest, SessionsOpenedAtOnceAreDistinct) {
  ASSERT_NE(Provision("pool", KeySpec::Ec()), nullptr);
  auto store = OpenStore(/*sessions=*/8, /*max_ops=*/8);
  ASSERT_NE(store, nullptr);
  auto key = OnlyKey(*store);
  ASSERT_NE(key, nullptr);
  const SignatureScheme& scheme = *FindScheme(0x0403);
  absl::Barrier* start = new absl::Barrier(8);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      if (start->Block()) delete start;
      for (int i = 0; i < 10; ++i) {
        if (!key->Sign(scheme, Digest(scheme.md(), absl::StrCat(t, i))).ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  std::vector<CK_SESSION_HANDLE> idle = store->token().IdleSessionsForTesting();
  EXPECT_EQ(std::set<CK_SESSION_HANDLE>(idle.begin(), idle.end()).size(), idle.size());
  EXPECT_LE(idle.size(), 8u);
}

TEST(Pkcs11ErrorTest, KeepsTheCodeNameAndMapsByWhatToDoNext) {
  absl::Status pin = pkcs11::Pkcs11Error(CKR_PIN_INCORRECT, "C_Login", "token 't'");
  EXPECT_EQ(pin.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(pin.message(), "token 't': C_Login: CKR_PIN_INCORRECT (0x000000a0)");
  EXPECT_EQ(pkcs11::CkrStatusCode(CKR_DEVICE_REMOVED), absl::StatusCode::kUnavailable);
  EXPECT_EQ(pkcs11::CkrStatusCode(CKR_TOKEN_NOT_PRESENT), absl::StatusCode::kUnavailable);
  EXPECT_EQ(pkcs11::CkrStatusCode(CKR_SESSION_HANDLE_INVALID), absl::StatusCode::kUnavailable);
  EXPECT_EQ(pkcs11::CkrStatusCode(CKR_KEY_HANDLE_INVALID), absl::StatusCode::kNotFound);
  EXPECT_EQ(pkcs11::CkrStatusCode(CKR_DEVICE_MEMORY), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(pkcs11::CkrStatusCode(CKR_GENERAL_ERROR), absl::StatusCode::kInternal);
  EXPECT_EQ(pkcs11::CkrName(CKR_VENDOR_DEFINED + 5), "CKR_VENDOR_DEFINED+0x5");
  EXPECT_TRUE(pkcs11::Pkcs11Error(CKR_OK, "C_Sign", "x").ok());
}

}  // namespace
}  // namespace sigil::signer
