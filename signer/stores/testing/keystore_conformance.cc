#include "signer/stores/testing/keystore_conformance.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/openssl_util.h"
#include "signer/identity.h"
#include "signer/matching.h"
#include "signer/signature_scheme.h"
#include "signer/stores/testing/adr_match_table.h"

namespace sigil::signer::testing {
namespace {

using ::sigil::testing::CertSpec;
using ::sigil::testing::Issued;
using ::sigil::testing::KeySpec;

constexpr int64_t kDay = 24 * 3600;

// The Certificate Store ADR's example issuer: "O = Synadia Communications Inc., OU = NATS.io, CN = localhost".
absl::StatusOr<Issued> AdrIssuer(const StoreFixture& fixture) {
  CertSpec spec;
  spec.subject = {{"O", "Synadia Communications Inc."}, {"OU", "NATS.io"}, {"CN", "localhost"}};
  spec.is_ca = true;
  return sigil::testing::SelfSigned(spec, fixture.CaKey());
}

}  // namespace

void KeyStoreConformanceTest::SetUp() {
  auto fixture = GetParam().make_fixture();
  ASSERT_TRUE(fixture.ok()) << fixture.status();
  fixture_ = *std::move(fixture);
}

static CertSpec LeafSpec(std::vector<std::pair<std::string, std::string>> subject) {
  CertSpec spec;
  spec.subject = std::move(subject);
  spec.extended_key_usages = {"serverAuth", "clientAuth"};
  return spec;
}

TEST_P(KeyStoreConformanceTest, AdrMatchTable) {
  auto issuer = AdrIssuer(*fixture_);
  ASSERT_TRUE(issuer.ok()) << issuer.status();
  auto leaf = ProvisionIdentity(*fixture_, "adr", fixture_->DefaultKey(),
                                LeafSpec({{"OU", "NATS.io"}, {"CN", "example.com"}}), *issuer);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  // A decoy with other names, so "found" means the right certificate.
  auto decoy_issuer = sigil::testing::SelfSigned(CertSpec{{{"CN", "Other CA"}}, true}, fixture_->CaKey());
  ASSERT_TRUE(decoy_issuer.ok());
  ASSERT_TRUE(ProvisionIdentity(*fixture_, "decoy", fixture_->DefaultKey(), LeafSpec({{"CN", "decoy.test"}}),
                                *decoy_issuer)
                  .ok());

  auto store = fixture_->Open();
  ASSERT_TRUE(store.ok()) << store.status();
  auto certificates = (*store)->Certificates();
  ASSERT_TRUE(certificates.ok()) << certificates.status();
  ASSERT_EQ(certificates->size(), 2u);

  for (const AdrMatchRow& row : kAdrMatchTable) {
    SCOPED_TRACE(absl::StrCat(row.by, " \"", row.match, "\""));
    auto by = ParseMatchBy(row.by);
    ASSERT_TRUE(by.ok());
    auto selection = SelectCertificate(*certificates, MatchSpec{*by, row.match, false}, absl::Now());
    if (row.found) {
      ASSERT_TRUE(selection.ok()) << selection.status();
      EXPECT_EQ((*certificates)[selection->index].der, *leaf);
    } else {
      EXPECT_EQ(selection.status().code(), absl::StatusCode::kNotFound);
    }
  }
}

TEST_P(KeyStoreConformanceTest, ThumbprintIgnoresCaseAndColons) {
  auto issuer = AdrIssuer(*fixture_);
  ASSERT_TRUE(issuer.ok());
  auto leaf = ProvisionIdentity(*fixture_, "thumb", fixture_->DefaultKey(), LeafSpec({{"CN", "thumb.test"}}), *issuer);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  ASSERT_TRUE(
      ProvisionIdentity(*fixture_, "other", fixture_->DefaultKey(), LeafSpec({{"CN", "thumb.test"}}), *issuer).ok());
  auto store = fixture_->Open();
  ASSERT_TRUE(store.ok());
  auto certificates = (*store)->Certificates();
  ASSERT_TRUE(certificates.ok());

  std::string hex = Thumbprint(*leaf);
  std::string colons;
  for (size_t i = 0; i < hex.size(); i += 2) absl::StrAppend(&colons, i ? ":" : "", hex.substr(i, 2));
  for (const std::string& term : std::vector<std::string>{hex, absl::AsciiStrToLower(hex), colons}) {
    auto selection = SelectCertificate(*certificates, MatchSpec{MatchBy::kThumbprint, term, false}, absl::Now());
    ASSERT_TRUE(selection.ok()) << term << ": " << selection.status();
    EXPECT_EQ((*certificates)[selection->index].der, *leaf);
  }
  EXPECT_EQ(SelectCertificate(*certificates, MatchSpec{MatchBy::kThumbprint, std::string(40, '0'), false},
                              absl::Now())
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

TEST_P(KeyStoreConformanceTest, SkipInvalidAndValidFirst) {
  auto issuer = AdrIssuer(*fixture_);
  ASSERT_TRUE(issuer.ok());
  const int64_t now = sigil::testing::NowUnix();
  CertSpec expired = LeafSpec({{"CN", "svc.test"}});
  expired.not_before_unix = now - 30 * kDay;
  expired.not_after_unix = now - kDay;
  auto expired_der = ProvisionIdentity(*fixture_, "expired", fixture_->DefaultKey(), expired, *issuer);
  ASSERT_TRUE(expired_der.ok()) << expired_der.status();
  auto store = fixture_->Open();
  ASSERT_TRUE(store.ok());
  auto only_expired = (*store)->Certificates();
  ASSERT_TRUE(only_expired.ok());
  // Without skip_invalid the expired certificate is still a match; with it, nothing matches.
  EXPECT_TRUE(SelectCertificate(*only_expired, MatchSpec{MatchBy::kSubject, "svc.test", false}, absl::Now()).ok());
  auto none = SelectCertificate(*only_expired, MatchSpec{MatchBy::kSubject, "svc.test", true}, absl::Now());
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(none.status().message().find("skipped as outside their validity period"), std::string::npos)
      << none.status();

  // A not-yet-valid certificate has the latest NotBefore, but a currently valid one wins.
  CertSpec future = LeafSpec({{"CN", "svc.test"}});
  future.not_before_unix = now + kDay;
  future.not_after_unix = now + 30 * kDay;
  ASSERT_TRUE(ProvisionIdentity(*fixture_, "future", fixture_->DefaultKey(), future, *issuer).ok());
  CertSpec valid = LeafSpec({{"CN", "svc.test"}});
  valid.not_before_unix = now - 2 * kDay;
  auto valid_der = ProvisionIdentity(*fixture_, "valid", fixture_->DefaultKey(), valid, *issuer);
  ASSERT_TRUE(valid_der.ok());
  auto all = (*store)->Certificates();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  for (bool skip : {false, true}) {
    auto selection = SelectCertificate(*all, MatchSpec{MatchBy::kSubject, "svc.test", skip}, absl::Now());
    ASSERT_TRUE(selection.ok()) << selection.status();
    EXPECT_EQ((*all)[selection->index].der, *valid_der) << "skip_invalid=" << skip;
  }
}

TEST_P(KeyStoreConformanceTest, DeterministicChoiceIsTheLatestNotBefore) {
  auto issuer = AdrIssuer(*fixture_);
  ASSERT_TRUE(issuer.ok());
  const int64_t now = sigil::testing::NowUnix();
  std::string newest;
  for (int i : {3, 1, 2}) {  // provisioned out of order
    CertSpec spec = LeafSpec({{"CN", "rotating.test"}});
    spec.not_before_unix = now - i * kDay;
    auto der = ProvisionIdentity(*fixture_, absl::StrCat("gen", i), fixture_->DefaultKey(), spec, *issuer);
    ASSERT_TRUE(der.ok()) << der.status();
    if (i == 1) newest = *der;
  }
  for (int round = 0; round < 3; ++round) {
    auto store = fixture_->Open();
    ASSERT_TRUE(store.ok());
    auto certificates = (*store)->Certificates();
    ASSERT_TRUE(certificates.ok());
    auto selection = SelectCertificate(*certificates, MatchSpec{MatchBy::kSubject, "rotating.test", false},
                                       absl::Now());
    ASSERT_TRUE(selection.ok());
    EXPECT_EQ((*certificates)[selection->index].der, newest);
    EXPECT_EQ(selection->reason, "the latest NotBefore of 3 valid matches");
  }
}

TEST_P(KeyStoreConformanceTest, ChainHasIntermediatesButNotTheRoot) {
  auto root = sigil::testing::SelfSigned(CertSpec{{{"CN", "Conformance Root"}}, true}, fixture_->CaKey());
  ASSERT_TRUE(root.ok());
  auto intermediate = sigil::testing::IssueCert(CertSpec{{{"CN", "Conformance Intermediate"}}, true},
                                                fixture_->CaKey(), *root);
  ASSERT_TRUE(intermediate.ok());
  auto leaf = ProvisionIdentity(*fixture_, "chained", fixture_->DefaultKey(), LeafSpec({{"CN", "chained.test"}}),
                                *intermediate);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  ASSERT_TRUE(fixture_->AddCaCertificate(intermediate->CertDer()).ok());

  auto store = fixture_->Open();
  ASSERT_TRUE(store.ok());
  auto cas = (*store)->CaCertificates();
  ASSERT_TRUE(cas.ok()) << cas.status();
  // No self-signed root in the store yet: no chain validates, so the leaf goes alone (ADR).
  auto alone = AssembleChain(*leaf, *cas, absl::Now());
  ASSERT_TRUE(alone.ok());
  EXPECT_EQ(*alone, std::vector<std::string>{*leaf});

  ASSERT_TRUE(fixture_->AddCaCertificate(root->CertDer()).ok());
  cas = (*store)->CaCertificates();
  ASSERT_TRUE(cas.ok());
  auto chain = AssembleChain(*leaf, *cas, absl::Now());
  ASSERT_TRUE(chain.ok());
  EXPECT_EQ(*chain, (std::vector<std::string>{*leaf, intermediate->CertDer()}));
}

TEST_P(KeyStoreConformanceTest, EverySchemeVerifiesWithOpenSsl) {
  auto issuer = AdrIssuer(*fixture_);
  ASSERT_TRUE(issuer.ok());
  const KeySpec specs[] = {KeySpec::Rsa(2048), KeySpec::Ec(NID_X9_62_prime256v1), KeySpec::Ec(NID_secp384r1),
                           KeySpec::Ec(NID_secp521r1)};
  int tested = 0;
  for (const KeySpec& spec : specs) {
    if (!fixture_->Supports(spec)) continue;
    const std::string label = absl::StrCat("k", tested++);
    SCOPED_TRACE(label);
    auto der = ProvisionIdentity(*fixture_, label, spec, LeafSpec({{"CN", label}}), *issuer);
    ASSERT_TRUE(der.ok()) << der.status();
    auto store = fixture_->Open();
    ASSERT_TRUE(store.ok());
    auto certificates = (*store)->Certificates();
    ASSERT_TRUE(certificates.ok());
    auto selection = SelectCertificate(*certificates, MatchSpec{MatchBy::kSubject, label, false}, absl::Now());
    ASSERT_TRUE(selection.ok()) << selection.status();
    auto key = (*store)->OpenKey((*certificates)[selection->index]);
    ASSERT_TRUE(key.ok()) << key.status();
    auto cert = ParseDerCertificate(*der);
    ASSERT_TRUE(cert.ok());
    EVP_PKEY* public_key = X509_get0_pubkey(cert->get());

    std::vector<uint16_t> schemes = (*key)->Schemes();
    const std::vector<uint16_t> possible = SupportedSchemes((*key)->info());
    ASSERT_FALSE(schemes.empty());
    for (uint16_t code : schemes) {
      EXPECT_NE(std::find(possible.begin(), possible.end(), code), possible.end()) << SchemeLabel(code);
    }
    // What TLS 1.3 needs from each key type is always there.
    uint16_t must = spec.type == KeySpec::kRsa                  ? 0x0804
                    : spec.ec_nid == NID_X9_62_prime256v1 ? 0x0403
                    : spec.ec_nid == NID_secp384r1        ? 0x0503
                                                          : 0x0603;
    EXPECT_NE(std::find(schemes.begin(), schemes.end(), must), schemes.end()) << SchemeLabel(must);
    for (uint16_t code : schemes) {
      const SignatureScheme* scheme = FindScheme(code);
      ASSERT_NE(scheme, nullptr);
      std::string digest = Digest(scheme->md(), absl::StrCat("conformance ", code));
      auto signature = (*key)->Sign(*scheme, digest);
      ASSERT_TRUE(signature.ok()) << SchemeLabel(code) << ": " << signature.status();
      EXPECT_TRUE(VerifySignature(public_key, *scheme, digest, *signature).ok()) << SchemeLabel(code);
      // A signature over another digest must not verify (the check can fail).
      std::string other = Digest(scheme->md(), "another message");
      EXPECT_FALSE(VerifySignature(public_key, *scheme, other, *signature).ok()) << SchemeLabel(code);
    }
  }
  EXPECT_GE(tested, 1);
}

TEST_P(KeyStoreConformanceTest, RotationIsPickedUpByRefresh) {
  auto issuer = AdrIssuer(*fixture_);
  ASSERT_TRUE(issuer.ok());
  const int64_t now = sigil::testing::NowUnix();
  CertSpec first = LeafSpec({{"CN", "rotate.test"}});
  first.not_before_unix = now - 2 * kDay;
  auto first_der = ProvisionIdentity(*fixture_, "first", fixture_->DefaultKey(), first, *issuer);
  ASSERT_TRUE(first_der.ok()) << first_der.status();

  config::v1::SignerConfig config;
  auto* ic = config.add_identities();
  ic->set_name("rotating");
  ic->set_cert_store("conformance");
  ic->set_cert_match("rotate.test");
  ic->add_allowed_principals("*");
  StoreFixture* fixture = fixture_.get();
  std::vector<std::string> decisions;
  auto set = IdentitySet::Create(
      config, [fixture](const config::v1::IdentityConfig&) { return fixture->Open(); }, &decisions);
  ASSERT_TRUE(set.ok()) << set.status();
  Identity* identity = (*set)->Find("rotating");
  ASSERT_NE(identity, nullptr);
  std::shared_ptr<const IdentityVersion> before = identity->current();
  EXPECT_EQ(before->chain_der[0], *first_der);

  auto unchanged = identity->Refresh(absl::Now());
  ASSERT_TRUE(unchanged.ok()) << unchanged.status();
  EXPECT_FALSE(*unchanged);

  CertSpec second = LeafSpec({{"CN", "rotate.test"}});
  second.not_before_unix = now - kDay;
  auto second_der = ProvisionIdentity(*fixture_, "second", fixture_->DefaultKey(), second, *issuer);
  ASSERT_TRUE(second_der.ok());
  auto changed = identity->Refresh(absl::Now());
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_TRUE(*changed);
  std::shared_ptr<const IdentityVersion> after = identity->current();
  EXPECT_EQ(after->chain_der[0], *second_der);
  // The old version still signs for requests that hold it; the new key signs for the new certificate.
  ASSERT_FALSE(after->schemes.empty());
  const SignatureScheme* scheme = FindScheme(after->schemes.front());
  std::string digest = Digest(scheme->md(), "rotation");
  for (const auto& version : {before, after}) {
    auto signature = version->key->Sign(*scheme, digest);
    ASSERT_TRUE(signature.ok()) << signature.status();
    auto cert = ParseDerCertificate(version->chain_der[0]);
    ASSERT_TRUE(cert.ok());
    EXPECT_TRUE(VerifySignature(X509_get0_pubkey(cert->get()), *scheme, digest, *signature).ok());
  }
}

}  // namespace sigil::signer::testing
