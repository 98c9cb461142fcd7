#include "signer/signature_scheme.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <string>

#include "common/openssl_util.h"
#include "gtest/gtest.h"
#include "signer/stores/pem/pem_signing_key.h"

namespace sigil::signer {
namespace {

// A second owning reference to `key`, so a test can verify with the key it handed to PemSigningKey.
EvpPkeyPtr Share(const EvpPkeyPtr& key) {
  EVP_PKEY_up_ref(key.get());
  return EvpPkeyPtr(key.get());
}

EvpPkeyPtr RsaKey(int bits) { return EvpPkeyPtr(EVP_RSA_gen(static_cast<unsigned>(bits))); }
EvpPkeyPtr EcKey(const char* curve) { return EvpPkeyPtr(EVP_EC_gen(curve)); }

struct KeyCase {
  const char* name;
  EvpPkeyPtr (*make)();
  std::vector<uint16_t> expected_schemes;
};

EvpPkeyPtr Rsa2048() { return RsaKey(2048); }
EvpPkeyPtr Rsa3072() { return RsaKey(3072); }
EvpPkeyPtr P256() { return EcKey("P-256"); }
EvpPkeyPtr P384() { return EcKey("P-384"); }

class EveryKeyTest : public ::testing::TestWithParam<KeyCase> {};

// Every scheme the key advertises signs, and the signature verifies with the public key as a TLS peer
// checks it (PSS with salt = hash length; ECDSA as DER).
TEST_P(EveryKeyTest, SignsEverySupportedSchemeVerifiably) {
  EvpPkeyPtr private_key = GetParam().make();
  EvpPkeyPtr own = Share(private_key);
  auto key = PemSigningKey::Create(std::move(private_key));
  ASSERT_TRUE(key.ok()) << key.status();
  std::vector<uint16_t> schemes = SupportedSchemes((*key)->info());
  EXPECT_EQ(schemes, GetParam().expected_schemes);
  EvpPkeyPtr public_key = GetParam().make();  // a different key, to prove verification can fail
  for (uint16_t code : schemes) {
    const SignatureScheme* scheme = FindScheme(code);
    ASSERT_NE(scheme, nullptr);
    std::string digest = Digest(scheme->md(), "handshake transcript");
    const SignatureScheme* validated = nullptr;
    ASSERT_TRUE(ValidateSignRequest((*key)->info(), code, digest, &validated).ok()) << SchemeLabel(code);
    auto signature = (*key)->Sign(*scheme, digest);
    ASSERT_TRUE(signature.ok()) << signature.status();
    // The signing key verifies; an unrelated key of the same kind does not.
    EXPECT_TRUE(VerifySignature(own.get(), *scheme, digest, *signature).ok())
        << SchemeLabel(code);
    EXPECT_FALSE(VerifySignature(public_key.get(), *scheme, digest, *signature).ok()) << SchemeLabel(code);
    // A different digest does not verify.
    std::string other = Digest(scheme->md(), "another transcript");
    EXPECT_FALSE(VerifySignature(own.get(), *scheme, other, *signature).ok());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Keys, EveryKeyTest,
    ::testing::Values(
        KeyCase{"Rsa2048", Rsa2048, {0x0806, 0x0805, 0x0804, 0x0601, 0x0501, 0x0401, 0x0201}},
        KeyCase{"Rsa3072", Rsa3072, {0x0806, 0x0805, 0x0804, 0x0601, 0x0501, 0x0401, 0x0201}},
        KeyCase{"P256", P256, {0x0403}}, KeyCase{"P384", P384, {0x0503}}),
    [](const ::testing::TestParamInfo<KeyCase>& info) { return info.param.name; });

TEST(SignatureSchemeTest, PssSaltEqualsHashLength) {
  EvpPkeyPtr private_key = RsaKey(2048);
  EvpPkeyPtr own = Share(private_key);
  auto key = PemSigningKey::Create(std::move(private_key));
  ASSERT_TRUE(key.ok());
  for (uint16_t code : {0x0804, 0x0805, 0x0806}) {
    const SignatureScheme* scheme = FindScheme(code);
    std::string digest = Digest(scheme->md(), "m");
    auto signature = (*key)->Sign(*scheme, digest);
    ASSERT_TRUE(signature.ok());
    // Verify with an explicit salt length: a 32-byte salt (the reference's bug) fails for SHA-384/512.
    EVP_PKEY* pkey = own.get();
    for (int salt : {32, static_cast<int>(scheme->digest_length)}) {
      EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
      ASSERT_EQ(EVP_PKEY_verify_init(ctx.get()), 1);
      EVP_PKEY_CTX_set_signature_md(ctx.get(), scheme->md());
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING);
      EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), salt);
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), scheme->md());
      int ok = EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char*>(signature->data()),
                               signature->size(), reinterpret_cast<const unsigned char*>(digest.data()),
                               digest.size());
      ClearOpenSslErrors();
      EXPECT_EQ(ok == 1, salt == static_cast<int>(scheme->digest_length))
          << SchemeLabel(code) << " salt " << salt;
    }
  }
}

TEST(SignatureSchemeTest, ValidateRejectsWithExactMessages) {
  KeyInfo rsa{KeyType::kRsa, 2048, 0};
  KeyInfo p256{KeyType::kEc, 256, NID_X9_62_prime256v1};
  const SignatureScheme* s = nullptr;
  std::string d32(32, 'x');

  absl::Status st = ValidateSignRequest(rsa, 0x1234, d32, &s);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "unknown signature scheme 0x1234");

  st = ValidateSignRequest(rsa, 0x0403, d32, &s);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "this identity's key cannot make 0x0403 ecdsa_secp256r1_sha256");

  st = ValidateSignRequest(p256, 0x0804, d32, &s);
  EXPECT_EQ(st.message(), "this identity's key cannot make 0x0804 rsa_pss_rsae_sha256");

  st = ValidateSignRequest(p256, 0x0503, std::string(48, 'x'), &s);
  EXPECT_EQ(st.message(), "this identity's key cannot make 0x0503 ecdsa_secp384r1_sha384");

  st = ValidateSignRequest(rsa, 0x0805, d32, &s);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "digest is 32 bytes; rsa_pss_rsae_sha384 needs a 48-byte digest");

  st = ValidateSignRequest(p256, 0x0403, "", &s);
  EXPECT_EQ(st.message(), "digest is 0 bytes; ecdsa_secp256r1_sha256 needs a 32-byte digest");

  EXPECT_TRUE(ValidateSignRequest(p256, 0x0403, d32, &s).ok());
  EXPECT_EQ(s->code, 0x0403);
}

TEST(SignatureSchemeTest, SmallRsaAndUnsupportedKeysAreRefused) {
  EXPECT_EQ(PemSigningKey::Create(RsaKey(1024)).status().code(), absl::StatusCode::kInvalidArgument);
  EvpPkeyPtr ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  auto key = PemSigningKey::Create(std::move(ed));
  EXPECT_EQ(key.status().message(), "only RSA and EC keys are supported");
}

}  // namespace
}  // namespace sigil::signer
