// Fault injection: a SoftHSM2 token's directory is deleted and later restored (from a copy) while several threads keep
// signing with one Pkcs11SigningKey (the single-threaded remove/re-insert case is in
// pkcs11_key_store_test.cc). Expected outcome: no crash or hang; while the token is gone every failed Sign is
// UNAVAILABLE (retry later), never another code; every signature that is returned verifies with the
// certificate's key; after the directory is restored the same key signs again without being reopened.
#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/openssl_util.h"
#include "gtest/gtest.h"
#include "signer/signature_scheme.h"
#include "signer/stores/pkcs11/pkcs11_key_store.h"
#include "signer/stores/pkcs11/testing/pkcs11_fixture.h"
#include "tests/pki/test_pki.h"

namespace sigil::signer {
namespace {

using ::sigil::testing::CertSpec;
using ::sigil::testing::KeySpec;

constexpr int kThreads = 4;

// Polls `done` every few milliseconds for up to 20 s.
template <typename F>
bool WaitFor(F done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

TEST(TokenLossUnderLoadTest, DeletedAndRestoredTokenDirectory) {
  auto fixture = testing::MakeSoftHsmFixture();
  ASSERT_TRUE(fixture.ok()) << fixture.status();
  auto ca = sigil::testing::SelfSigned(CertSpec{{{"CN", "Token Loss CA"}}, true}, KeySpec::Ec());
  ASSERT_TRUE(ca.ok()) << ca.status();
  auto der = testing::ProvisionIdentity(**fixture, "loaded", KeySpec::Ec(), CertSpec{{{"CN", "loaded"}}}, *ca);
  ASSERT_TRUE(der.ok()) << der.status();
  auto cert = ParseDerCertificate(*der);
  ASSERT_TRUE(cert.ok());
  EvpPkeyPtr public_key(X509_get_pubkey(cert->get()));

  config::v1::Pkcs11Store options = (*fixture)->options();
  options.set_sessions(kThreads);
  auto store = (*fixture)->OpenPkcs11(options);
  ASSERT_TRUE(store.ok()) << store.status();
  auto certs = (*store)->Certificates();
  ASSERT_TRUE(certs.ok() && certs->size() == 1u);
  auto key = (*store)->OpenPkcs11Key((*certs)[0]);
  ASSERT_TRUE(key.ok()) << key.status();
  const SignatureScheme& scheme = *FindScheme(0x0403);  // ecdsa_secp256r1_sha256

  // SoftHSM2 keeps each token in its own directory under tokens/.
  std::string token_dir;
  for (const auto& entry : std::filesystem::directory_iterator((*fixture)->dir() + "/tokens")) {
    token_dir = entry.path().string();
  }
  ASSERT_FALSE(token_dir.empty());
  const std::string backup = (*fixture)->dir() + "/token-backup";
  std::filesystem::copy(token_dir, backup, std::filesystem::copy_options::recursive);

  std::atomic<bool> stop{false};
  std::atomic<bool> restored{false};
  // Signatures a thread got after it had itself seen UNAVAILABLE, before the restore (its calls are
  // sequential, so in-flight calls from before the loss cannot count here).
  std::atomic<int> ok_after_own_unavailable{0};
  std::atomic<int> ok{0};
  std::atomic<int> unavailable{0};
  std::atomic<int> bad_signatures{0};
  absl::Mutex mu;
  std::map<absl::StatusCode, int> other_codes;  // Guarded by mu.
  std::map<absl::StatusCode, std::string> other_messages;  // First message per code; guarded by mu.
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      bool saw_unavailable = false;
      for (int i = 0; !stop.load(); ++i) {
        const std::string digest = Digest(scheme.md(), absl::StrCat(t, "/", i));
        absl::StatusOr<std::string> signature = (*key)->Sign(scheme, digest);
        if (signature.ok()) {
          if (!VerifySignature(public_key.get(), scheme, digest, *signature).ok()) ++bad_signatures;
          if (saw_unavailable && !restored.load()) ++ok_after_own_unavailable;
          ++ok;
        } else if (signature.status().code() == absl::StatusCode::kUnavailable) {
          saw_unavailable = true;
          ++unavailable;
        } else {
          absl::MutexLock lock(&mu);
          ++other_codes[signature.status().code()];
          other_messages.emplace(signature.status().code(), std::string(signature.status().message()));
        }
      }
    });
  }

  ASSERT_TRUE(WaitFor([&] { return ok.load() >= 20; })) << "no signatures before the loss";
  // The directory vanishes at once (rename) and is then destroyed, as a pulled token vanishes. Deleting it
  // file by file in place would first show the token without its key object for a moment, which is a
  // deleted key (NOT_FOUND, correctly), not a lost token.
  const std::string doomed = (*fixture)->dir() + "/token-doomed";
  std::filesystem::rename(token_dir, doomed);
  std::filesystem::remove_all(doomed);
  EXPECT_TRUE(WaitFor([&] { return unavailable.load() >= 20; })) << "Sign kept answering without the token";
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(ok_after_own_unavailable.load(), 0) << "signatures succeeded while the token directory was gone";

  restored = true;
  // Restored from the backup, appearing at once (copied beside it, then renamed into place).
  const std::string incoming = (*fixture)->dir() + "/token-incoming";
  std::filesystem::copy(backup, incoming, std::filesystem::copy_options::recursive);
  std::filesystem::rename(incoming, token_dir);
  const int ok_before_restore = ok.load();
  EXPECT_TRUE(WaitFor([&] { return ok.load() >= ok_before_restore + 20; })) << "Sign did not recover";
  stop = true;
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(bad_signatures.load(), 0);
  absl::MutexLock lock(&mu);
  for (const auto& [code, count] : other_codes) {
    ADD_FAILURE() << count << " Sign call(s) failed with " << absl::StatusCodeToString(code)
                  << ", not UNAVAILABLE; first: " << other_messages[code];
  }
  const pkcs11::TokenStats stats = (*store)->token_stats();
  EXPECT_GE(stats.losses, 1u);
  EXPECT_GE(stats.recoveries, 1u);
}

}  // namespace
}  // namespace sigil::signer
