// The Windows certificate store (WindowsCurrentUser / WindowsLocalMachine) under Wine: the KeyStore
// conformance suite through the store agent, plus checks that the Windows store's own matching and chain
// engine agree with signer/matching.h, that the real KSP key path fails cleanly where Wine cannot serve it,
// and that the ECDSA r || s -> DER conversion produces what OpenSSL parses.
//
// Each fixture gets a fresh WINEPREFIX (testing/wine_agent.h). Wine's NCrypt has no ECDSA, so the fixture
// supports RSA only and the suite's default key is RSA-2048; signatures are verified with OpenSSL here.
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <algorithm>
#include <atomic>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/openssl_util.h"
#include "gtest/gtest.h"
#include "signer/matching.h"
#include "signer/signature_scheme.h"
#include "signer/stores/testing/keystore_conformance.h"
#include "signer/stores/windows/testing/wine_agent.h"
#include "signer/stores/windows/testing/wine_key_store.h"
#include "tests/pki/test_pki.h"

namespace sigil::signer {
namespace {

using ::sigil::testing::CertSpec;
using ::sigil::testing::KeySpec;
using testing::TestKeyBlobs;
using testing::WineAgent;
using testing::WineKeyStore;

std::string Hex(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

// One MY store (CurrentUser or LocalMachine) in a fresh Wine prefix. GenerateKey makes the RSA key with
// OpenSSL and keeps it as the blob the agent's test seam imports into Wine's NCrypt; AddCertificate puts
// the certificate into MY with a KSP key name; AddCaCertificate puts roots into Root and the rest into CA.
class WineStoreFixture : public testing::StoreFixture {
 public:
  static absl::StatusOr<std::unique_ptr<WineStoreFixture>> Create(std::string provider) {
    auto agent = WineAgent::Create();
    if (!agent.ok()) return agent.status();
    return std::unique_ptr<WineStoreFixture>(new WineStoreFixture(*std::move(agent), std::move(provider)));
  }

  std::string name() const override { return provider_; }
  // Wine's NCrypt has no ECDSA (NCryptCreatePersistedKey / NCryptImportKey: RSA only).
  bool Supports(const KeySpec& spec) const override { return spec.type == KeySpec::kRsa; }
  KeySpec DefaultKey() const override { return KeySpec::Rsa(2048); }
  // Wine's chain engine rejects about 1 in 128 ECDSA certificate signatures (a short r or s).
  KeySpec CaKey() const override { return KeySpec::Rsa(2048); }

  absl::StatusOr<std::string> GenerateKey(const KeySpec& spec, const std::string& label) override {
    if (!Supports(spec)) return absl::UnimplementedError("Wine's NCrypt has RSA keys only");
    auto key = sigil::testing::GenerateKey(spec);
    if (!key.ok()) return key.status();
    auto blob = testing::RsaPrivateBlob(key->get());
    if (!blob.ok()) return blob.status();
    pending_[label] = *std::move(blob);
    return PublicKeyPem(key->get());
  }

  absl::Status AddCertificate(const std::string& label, const std::string& cert_der) override {
    auto it = pending_.find(label);
    if (it == pending_.end()) return absl::FailedPreconditionError(absl::StrCat("no key generated for ", label));
    auto done = agent_->Call(absl::StrCat("test-import ", provider_, " ", label, " ", Hex(cert_der)));
    if (!done.ok()) return done.status();
    keys_->Add(cert_der, it->second);
    return absl::OkStatus();
  }

  absl::Status AddCaCertificate(const std::string& cert_der) override {
    return agent_->Call(absl::StrCat("test-import-ca ", provider_, " ", Hex(cert_der))).status();
  }

  absl::StatusOr<std::unique_ptr<KeyStore>> Open() override {
    return std::unique_ptr<KeyStore>(new WineKeyStore(agent_, provider_, keys_));
  }

  const WineAgent& agent() const { return *agent_; }
  const std::string& provider() const { return provider_; }
  std::string Blob(const std::string& label) const { return pending_.at(label); }

 private:
  WineStoreFixture(std::shared_ptr<WineAgent> agent, std::string provider)
      : agent_(std::move(agent)), provider_(std::move(provider)), keys_(std::make_shared<TestKeyBlobs>()) {}

  const std::shared_ptr<WineAgent> agent_;
  const std::string provider_;
  const std::shared_ptr<TestKeyBlobs> keys_;
  std::map<std::string, std::string> pending_;
};

testing::ConformanceParam Param(const std::string& provider) {
  return testing::ConformanceParam{
      provider, [provider]() -> absl::StatusOr<std::unique_ptr<testing::StoreFixture>> {
        auto fixture = WineStoreFixture::Create(provider);
        if (!fixture.ok()) return fixture.status();
        return std::unique_ptr<testing::StoreFixture>(*std::move(fixture));
      }};
}

using testing::KeyStoreConformanceTest;

INSTANTIATE_TEST_SUITE_P(WindowsUnderWine, KeyStoreConformanceTest,
                         ::testing::Values(Param("WindowsCurrentUser"), Param("WindowsLocalMachine")),
                         testing::ConformanceParamName);

// ---- The Windows store's own matching and chain engine against signer/matching.h ----

CertSpec Leaf(std::vector<std::pair<std::string, std::string>> subject, int64_t not_before_offset = -3600) {
  CertSpec spec;
  spec.subject = std::move(subject);
  spec.not_before_unix = sigil::testing::NowUnix() + not_before_offset;
  return spec;
}

// Generates a key in the fixture, issues a certificate for it and stores it. Returns the DER.
absl::StatusOr<std::string> Provision(WineStoreFixture& fixture, const std::string& label, const CertSpec& spec,
                                      const sigil::testing::Issued& issuer) {
  return testing::ProvisionIdentity(fixture, label, KeySpec::Rsa(2048), spec, issuer);
}

class WindowsStoreWineTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto fixture = WineStoreFixture::Create(GetParam());
    ASSERT_TRUE(fixture.ok()) << fixture.status();
    fixture_ = *std::move(fixture);
  }
  std::unique_ptr<WineStoreFixture> fixture_;
};

TEST_P(WindowsStoreWineTest, NativeSelectionAgreesWithCommonMatching) {
  CertSpec issuer_spec;
  issuer_spec.subject = {{"O", "Synadia Communications Inc."}, {"OU", "NATS.io"}, {"CN", "localhost"}};
  issuer_spec.is_ca = true;
  auto issuer = sigil::testing::SelfSigned(issuer_spec, KeySpec::Ec());
  ASSERT_TRUE(issuer.ok());
  constexpr int64_t kDay = 86400;
  ASSERT_TRUE(Provision(*fixture_, "adr", Leaf({{"OU", "NATS.io"}, {"CN", "example.com"}}), *issuer).ok());
  for (int i : {3, 1, 2}) {
    ASSERT_TRUE(Provision(*fixture_, absl::StrCat("gen", i), Leaf({{"CN", "rotating.test"}}, -i * kDay), *issuer).ok());
  }
  CertSpec expired = Leaf({{"CN", "expired.test"}}, -30 * kDay);
  expired.not_after_unix = sigil::testing::NowUnix() - kDay;
  ASSERT_TRUE(Provision(*fixture_, "expired", expired, *issuer).ok());

  auto store = fixture_->Open();
  ASSERT_TRUE(store.ok());
  auto certificates = (*store)->Certificates();
  ASSERT_TRUE(certificates.ok()) << certificates.status();
  ASSERT_EQ(certificates->size(), 5u);
  for (const StoreCertificate& cert : *certificates) {
    EXPECT_EQ(cert.key_ref.rfind("ksp=Microsoft Software Key Storage Provider;container=", 0), 0u) << cert.key_ref;
  }

  struct Row {
    const char* by;
    std::string match;
    bool skip_invalid;
  };
  const std::vector<Row> rows = {
      {"Subject", "example.com", false},
      {"Subject", "NATS.io", false},
      {"Subject", "OU = NATS.io, CN = example.com", false},
      {"Subject", "CN = example.com", false},
      {"Issuer", "localhost", false},  // all five: the deterministic choice decides
      {"Issuer", "Synadia Communications Inc.", false},
      {"Issuer", "O = Synadia Communications Inc., OU = NATS.io, CN = localhost", false},
      {"Issuer", "CN = localhost", false},
      {"subject", "ROTATING.TEST", false},
      {"Subject", "expired.test", false},
      {"Subject", "expired.test", true},
      {"Thumbprint", Thumbprint((*certificates)[2].der), false},
      {"Thumbprint", std::string(40, '0'), false},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(absl::StrCat(row.by, " \"", row.match, "\" skip_invalid=", row.skip_invalid));
    auto by = ParseMatchBy(row.by);
    ASSERT_TRUE(by.ok());
    auto common = SelectCertificate(*certificates, MatchSpec{*by, row.match, row.skip_invalid}, absl::Now());
    auto native = fixture_->agent().Call(absl::StrCat("select ", fixture_->provider(), " ", row.by, " ",
                                                      row.skip_invalid ? 1 : 0, " ", Hex(row.match)));
    if (!common.ok()) {
      EXPECT_EQ(native.status().code(), common.status().code());
      EXPECT_EQ(native.status().message(), common.status().message());
      continue;
    }
    ASSERT_TRUE(native.ok()) << native.status();
    std::vector<std::string> selected = WineAgent::Values(*native, "selected");
    ASSERT_EQ(selected.size(), 1u);
    EXPECT_EQ(selected[0], absl::StrCat(absl::AsciiStrToUpper(Hex((*certificates)[common->index].der)), " ",
                                        common->reason));
  }
}

TEST_P(WindowsStoreWineTest, ChainEngineAgreesWithCommonChainAssembly) {
  // RSA CAs: Wine's chain engine rejects ECDSA certificate signatures whose r or s is shorter than the
  // field size (about 1 in 128 signatures), which would make this test flaky; Windows has no such bug.
  auto root = sigil::testing::SelfSigned(CertSpec{{{"CN", "Wine Root"}}, true}, KeySpec::Rsa(2048));
  ASSERT_TRUE(root.ok());
  auto intermediate =
      sigil::testing::IssueCert(CertSpec{{{"CN", "Wine Intermediate"}}, true}, KeySpec::Rsa(2048), *root);
  ASSERT_TRUE(intermediate.ok());
  auto leaf = Provision(*fixture_, "chained", Leaf({{"CN", "chained.test"}}), *intermediate);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  ASSERT_TRUE(fixture_->AddCaCertificate(intermediate->CertDer()).ok());

  auto native_chain = [&]() -> std::vector<std::string> {
    auto lines = fixture_->agent().Call(absl::StrCat("chain ", fixture_->provider(), " ", Hex(*leaf)));
    EXPECT_TRUE(lines.ok()) << lines.status();
    std::vector<std::string> out;
    if (!lines.ok()) return out;
    for (const std::string& hex : WineAgent::Values(*lines, "cert")) out.push_back(absl::HexStringToBytes(hex));
    return out;
  };
  // A partial chain (no root): the chain engine builds leaf -> intermediate, but our trust check refuses it,
  // so the leaf goes alone, as common chain assembly decides.
  EXPECT_EQ(native_chain(), std::vector<std::string>{*leaf});
  auto store = fixture_->Open();
  ASSERT_TRUE(store.ok());
  auto cas = (*store)->CaCertificates();
  ASSERT_TRUE(cas.ok());
  EXPECT_TRUE(cas->empty());

  ASSERT_TRUE(fixture_->AddCaCertificate(root->CertDer()).ok());
  const std::vector<std::string> expected = {*leaf, intermediate->CertDer()};
  EXPECT_EQ(native_chain(), expected);
  cas = (*store)->CaCertificates();
  ASSERT_TRUE(cas.ok());
  EXPECT_EQ(*cas, (std::vector<std::string>{intermediate->CertDer(), root->CertDer()}));
  auto common = AssembleChain(*leaf, *cas, absl::Now());
  ASSERT_TRUE(common.ok());
  EXPECT_EQ(*common, expected);
}

TEST_P(WindowsStoreWineTest, RealKspKeyPathFailsCleanlyUnderWine) {
  auto issuer = sigil::testing::SelfSigned(CertSpec{{{"CN", "CA"}}, true}, KeySpec::Ec());
  ASSERT_TRUE(issuer.ok());
  auto leaf = Provision(*fixture_, "ksp", Leaf({{"CN", "ksp.test"}}), *issuer);
  ASSERT_TRUE(leaf.ok());
  const std::string thumbprint = Thumbprint(*leaf);
  // Wine's CryptAcquireCertificatePrivateKey never yields an NCrypt key: the real path must say so.
  auto key = fixture_->agent().Call(absl::StrCat("key ", fixture_->provider(), " ", thumbprint));
  ASSERT_FALSE(key.ok());
  EXPECT_TRUE(key.status().code() == absl::StatusCode::kFailedPrecondition ||
              key.status().code() == absl::StatusCode::kNotFound)
      << key.status();
  EXPECT_NE(key.status().message().find("CryptAcquireCertificatePrivateKey failed: error 0x"), std::string::npos)
      << key.status();
  auto sign = fixture_->agent().Call(
      absl::StrCat("sign ", fixture_->provider(), " ", thumbprint, " 0804 ", std::string(64, '0')));
  EXPECT_EQ(sign.status().code(), key.status().code());

  // The seam refuses a key that is not the certificate's.
  auto other = sigil::testing::GenerateKey(KeySpec::Rsa(2048));
  ASSERT_TRUE(other.ok());
  auto other_blob = testing::RsaPrivateBlob(other->get());
  ASSERT_TRUE(other_blob.ok());
  auto wrong = fixture_->agent().Call(
      absl::StrCat("test-key ", fixture_->provider(), " ", thumbprint, " ", Hex(*other_blob)));
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(wrong.status().message(), "the imported key does not hold the certificate's key");
  auto missing = fixture_->agent().Call(
      absl::StrCat("key ", fixture_->provider(), " ", std::string(40, 'A')));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

// The conformance suite's EverySchemeVerifiesWithOpenSsl wants two key types, and Wine's NCrypt has RSA
// only; this is the same check over RSA-2048 and RSA-1024 (where salt = hash length leaves no room for
// rsa_pss_rsae_sha512, so the key must not offer it).
TEST_P(WindowsStoreWineTest, EveryRsaSchemeVerifiesWithOpenSsl) {
  auto issuer = sigil::testing::SelfSigned(CertSpec{{{"CN", "CA"}}, true}, KeySpec::Ec());
  ASSERT_TRUE(issuer.ok());
  for (int bits : {2048, 1024}) {
    const std::string label = absl::StrCat("rsa", bits);
    SCOPED_TRACE(label);
    auto provisioned =
        testing::ProvisionIdentity(*fixture_, label, KeySpec::Rsa(bits), Leaf({{"CN", label}}), *issuer);
    ASSERT_TRUE(provisioned.ok()) << provisioned.status();
    const std::string der = *provisioned;
    auto cert = ParseDerCertificate(der);
    ASSERT_TRUE(cert.ok());
    EvpPkeyPtr public_key(X509_get_pubkey(cert->get()));

    auto store = fixture_->Open();
    ASSERT_TRUE(store.ok());
    auto certificates = (*store)->Certificates();
    ASSERT_TRUE(certificates.ok());
    auto selection = SelectCertificate(*certificates, MatchSpec{MatchBy::kSubject, label, false}, absl::Now());
    ASSERT_TRUE(selection.ok()) << selection.status();
    auto key = (*store)->OpenKey((*certificates)[selection->index]);
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ((*key)->info().bits, bits);
    const std::vector<uint16_t> schemes = (*key)->Schemes();
    EXPECT_EQ(schemes, SupportedSchemes((*key)->info()));
    EXPECT_EQ(std::find(schemes.begin(), schemes.end(), 0x0806) != schemes.end(), bits >= 2048);
    for (uint16_t code : schemes) {
      const SignatureScheme* scheme = FindScheme(code);
      ASSERT_NE(scheme, nullptr);
      std::string digest(scheme->digest_length, '\0');
      RAND_bytes(reinterpret_cast<unsigned char*>(digest.data()), static_cast<int>(digest.size()));
      auto signature = (*key)->Sign(*scheme, digest);
      ASSERT_TRUE(signature.ok()) << SchemeLabel(code) << ": " << signature.status();
      EXPECT_EQ(signature->size(), static_cast<size_t>(bits / 8));
      EXPECT_TRUE(VerifySignature(public_key.get(), *scheme, digest, *signature).ok()) << SchemeLabel(code);
      digest[0] ^= 1;
      EXPECT_FALSE(VerifySignature(public_key.get(), *scheme, digest, *signature).ok()) << SchemeLabel(code);
    }
  }
}

TEST_P(WindowsStoreWineTest, UnknownProviderIsTheAdrError) {
  auto lines = fixture_->agent().Call("list WindowsSomewhere");
  EXPECT_EQ(lines.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(lines.status().message().rfind("cert store type not implemented", 0), 0u) << lines.status();
}

INSTANTIATE_TEST_SUITE_P(Wine, WindowsStoreWineTest, ::testing::Values("WindowsCurrentUser", "WindowsLocalMachine"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// NCrypt's ECDSA r || s (verified on Windows only) converted by the agent: OpenSSL must parse the DER and
// find the same r and s, and re-encoding must give the same bytes (minimal DER).
TEST(EcdsaDerUnderWine, OpenSslParsesTheConversion) {
  auto agent = WineAgent::Create();
  ASSERT_TRUE(agent.ok()) << agent.status();
  for (size_t half : {32u, 48u, 66u}) {
    for (int round = 0; round < 4; ++round) {
      std::string raw(2 * half, '\0');
      RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size()));
      if (round == 1) raw[0] = '\x80';                  // r needs a leading zero octet
      if (round == 2) raw[half] = raw[half + 1] = '\0';  // s has leading zeros to drop
      if (round == 3) raw[0] = '\0', raw[1] = '\x01';
      SCOPED_TRACE(absl::StrCat(half, "/", round));
      auto lines = (*agent)->Call(absl::StrCat("ecdsa-der ", Hex(raw)));
      ASSERT_TRUE(lines.ok()) << lines.status();
      std::vector<std::string> values = WineAgent::Values(*lines, "der");
      ASSERT_EQ(values.size(), 1u);
      std::string der = absl::HexStringToBytes(values[0]);
      const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
      ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
      ASSERT_NE(sig, nullptr);
      EXPECT_EQ(p, reinterpret_cast<const unsigned char*>(der.data()) + der.size());
      BignumPtr r(BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(half), nullptr));
      BignumPtr s(
          BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + half, static_cast<int>(half), nullptr));
      EXPECT_EQ(BN_cmp(ECDSA_SIG_get0_r(sig), r.get()), 0);
      EXPECT_EQ(BN_cmp(ECDSA_SIG_get0_s(sig), s.get()), 0);
      unsigned char* reencoded = nullptr;
      int length = i2d_ECDSA_SIG(sig, &reencoded);
      EXPECT_EQ(std::string(reinterpret_cast<char*>(reencoded), length), der);
      OPENSSL_free(reencoded);
      ECDSA_SIG_free(sig);
    }
  }
}

}  // namespace
}  // namespace sigil::signer
