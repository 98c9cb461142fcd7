// PemSigningKey: signatures from the per-thread reused contexts verify under the right key only, for every
// scheme mix, across threads, and after keys are replaced (a new key never signs with an old key's context).
#include "signer/stores/pem/pem_signing_key.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "signer/signature_scheme.h"
#include "tests/pki/test_pki.h"

namespace sigil::signer {
namespace {

using ::sigil::testing::KeySpec;

std::string RandomDigest(size_t size) {
  std::string digest(size, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(digest.data()), static_cast<int>(size));
  return digest;
}

// Verifies with OpenSSL directly (a fresh context, the scheme's parameters).
bool Verifies(EVP_PKEY* key, const SignatureScheme& scheme, const std::string& digest, const std::string& sig) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_signature_md(ctx.get(), scheme.md()) != 1) {
    return false;
  }
  if (scheme.key_type == KeyType::kRsa &&
      (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), scheme.pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) != 1 ||
       (scheme.pss && EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) != 1))) {
    return false;
  }
  const bool ok = EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                                  reinterpret_cast<const unsigned char*>(digest.data()), digest.size()) == 1;
  ClearOpenSslErrors();
  return ok;
}

struct TestKey {
  EvpPkeyPtr pub;  // The same key, kept by the test to verify with.
  std::unique_ptr<PemSigningKey> signer;
};

TestKey MakeKey(const KeySpec& spec) {
  auto key = sigil::testing::GenerateKey(spec);
  EXPECT_TRUE(key.ok()) << key.status();
  EVP_PKEY_up_ref(key->get());
  TestKey out;
  out.pub = EvpPkeyPtr(key->get());
  auto signer = PemSigningKey::Create(*std::move(key));
  EXPECT_TRUE(signer.ok()) << signer.status();
  out.signer = *std::move(signer);
  return out;
}

TEST(PemSigningKeyTest, InterleavedKeysAndSchemesSignWithTheRightKey) {
  TestKey ec1 = MakeKey(KeySpec::Ec());
  TestKey ec2 = MakeKey(KeySpec::Ec());
  TestKey rsa = MakeKey(KeySpec::Rsa());
  const SignatureScheme* ecdsa = FindScheme(0x0403);   // ecdsa_secp256r1_sha256
  const SignatureScheme* pss = FindScheme(0x0804);     // rsa_pss_rsae_sha256
  const SignatureScheme* pkcs1 = FindScheme(0x0401);   // rsa_pkcs1_sha256
  const SignatureScheme* pss384 = FindScheme(0x0805);  // rsa_pss_rsae_sha384
  ASSERT_TRUE(ecdsa && pss && pkcs1 && pss384);
  for (int round = 0; round < 5; ++round) {
    for (TestKey* k : {&ec1, &ec2}) {
      const std::string digest = RandomDigest(32);
      auto sig = k->signer->Sign(*ecdsa, digest);
      ASSERT_TRUE(sig.ok()) << sig.status();
      EXPECT_TRUE(Verifies(k->pub.get(), *ecdsa, digest, *sig));
      EXPECT_FALSE(Verifies((k == &ec1 ? ec2 : ec1).pub.get(), *ecdsa, digest, *sig));
    }
    for (const SignatureScheme* scheme : {pss, pkcs1, pss384}) {
      const std::string digest = RandomDigest(scheme->digest_length);
      auto sig = rsa.signer->Sign(*scheme, digest);
      ASSERT_TRUE(sig.ok()) << sig.status();
      EXPECT_TRUE(Verifies(rsa.pub.get(), *scheme, digest, *sig)) << scheme->name;
      // Signed with this scheme's padding and hash, not another scheme's (a mixed-up context).
      for (const SignatureScheme* other : {pss, pkcs1, pss384}) {
        if (other != scheme && other->digest_length == scheme->digest_length) {
          EXPECT_FALSE(Verifies(rsa.pub.get(), *other, digest, *sig)) << scheme->name << " as " << other->name;
        }
      }
    }
  }
}

TEST(PemSigningKeyTest, ReplacedKeysNeverReuseAnOldContext) {
  const SignatureScheme* ecdsa = FindScheme(0x0403);
  for (int i = 0; i < 40; ++i) {  // More keys than a thread keeps contexts for; addresses get reused.
    TestKey k = MakeKey(KeySpec::Ec());
    const std::string digest = RandomDigest(32);
    auto sig = k.signer->Sign(*ecdsa, digest);
    ASSERT_TRUE(sig.ok()) << sig.status();
    EXPECT_TRUE(Verifies(k.pub.get(), *ecdsa, digest, *sig)) << i;
  }
}

TEST(PemSigningKeyTest, ConcurrentSignersEachVerify) {
  TestKey ec = MakeKey(KeySpec::Ec());
  TestKey rsa = MakeKey(KeySpec::Rsa());
  const SignatureScheme* ecdsa = FindScheme(0x0403);
  const SignatureScheme* pss = FindScheme(0x0804);
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        const std::string digest = RandomDigest(32);
        auto e = ec.signer->Sign(*ecdsa, digest);
        auto r = rsa.signer->Sign(*pss, digest);
        if (e.ok() && r.ok() && Verifies(ec.pub.get(), *ecdsa, digest, *e) &&
            Verifies(rsa.pub.get(), *pss, digest, *r)) {
          good.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 100);
}

}  // namespace
}  // namespace sigil::signer
