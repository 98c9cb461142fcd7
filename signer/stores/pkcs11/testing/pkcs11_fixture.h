// StoreFixture implementations for PKCS#11 tokens (testonly): a fresh SoftHSM2 token, and a fresh
// tpm2-pkcs11 token on a software TPM (swtpm) started for the fixture. Each owns a temp directory under
// $TEST_TMPDIR and everything it started, and removes/stops them on destruction.
//
// Keys are generated inside the token (C_GenerateKeyPair) with a random CKA_ID; AddCertificate stores a
// CKO_CERTIFICATE with the key's CKA_ID and label; AddCaCertificate stores one with an ID no key has.
//
// Both tokens are configured through process environment (SOFTHSM2_CONF; TPM2_PKCS11_STORE and
// TPM2_PKCS11_TCTI), which the module reads at C_Initialize: one fixture at a time per process, and every
// store or key opened from it must be gone before the next fixture is made (the module is then
// finalised and initialised again with the new environment).
#ifndef SIGIL_SIGNER_STORES_PKCS11_TESTING_PKCS11_FIXTURE_H_
#define SIGIL_SIGNER_STORES_PKCS11_TESTING_PKCS11_FIXTURE_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sigil/config/v1/signer.pb.h"
#include "signer/stores/pkcs11/pkcs11_key_store.h"
#include "signer/stores/pkcs11/pkcs11_module.h"
#include "signer/stores/testing/store_fixture.h"

namespace sigil::signer::testing {

inline constexpr char kSoftHsmModule[] = "/usr/lib/softhsm/libsofthsm2.so";
inline constexpr char kTpm2Pkcs11Module[] = "/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so";

// A fresh directory under $TEST_TMPDIR (or /tmp) named `prefix`XXXXXX.
absl::StatusOr<std::string> MakeTempDir(const std::string& prefix);

// Runs `argv` (PATH lookup) to completion with the process environment; INTERNAL with its output when it
// exits non-zero.
absl::Status RunCommand(const std::vector<std::string>& argv);

// A token fixture over one PKCS#11 module; subclasses set up the token itself.
class Pkcs11TokenFixture : public StoreFixture {
 public:
  ~Pkcs11TokenFixture() override;

  std::string name() const override { return name_; }
  bool Supports(const sigil::testing::KeySpec& spec) const override;
  absl::StatusOr<std::string> GenerateKey(const sigil::testing::KeySpec& spec, const std::string& label) override;
  absl::Status AddCertificate(const std::string& label, const std::string& cert_der) override;
  absl::Status AddCaCertificate(const std::string& cert_der) override;
  absl::StatusOr<std::unique_ptr<KeyStore>> Open() override;

  // The store config Open() uses (tests change a copy: sessions, max_concurrent_ops, pin_file, ...).
  const config::v1::Pkcs11Store& options() const { return options_; }
  // Pkcs11KeyStore::Create over `options` with a zero re-initialisation interval (tests never wait).
  absl::StatusOr<std::unique_ptr<Pkcs11KeyStore>> OpenPkcs11(const config::v1::Pkcs11Store& options) const;
  // The fixture's directory (token files, config, PIN file).
  const std::string& dir() const { return dir_; }
  // The module, loaded (or shared with the open stores).
  absl::StatusOr<std::shared_ptr<pkcs11::Pkcs11Module>> LoadModule() const {
    return pkcs11::Pkcs11Module::Load(options_.module());
  }
  // Deletes the objects labelled `label` (key pair and certificate).
  absl::Status DeleteObjects(const std::string& label);

 protected:
  // `unsupported_curves` and `rsa` say what Supports() reports (the token can generate more than it can
  // use for TLS: see MakeTpmFixture).
  Pkcs11TokenFixture(std::string name, std::string dir, std::vector<int> unsupported_curves, bool rsa)
      : name_(std::move(name)),
        dir_(std::move(dir)),
        unsupported_curves_(std::move(unsupported_curves)),
        rsa_(rsa) {}

  // Writes the PIN file, fills options_ and checks that the module loads. Call once the token exists.
  absl::Status Init(const std::string& module_path, const std::string& label, const std::string& pin);
 private:
  // Runs `op` on a read-write session logged in as the user.
  absl::Status WithSession(const std::function<absl::Status(CK_FUNCTION_LIST*, CK_SESSION_HANDLE)>& op);

  const std::string name_;
  const std::string dir_;
  const std::vector<int> unsupported_curves_;
  const bool rsa_;
  config::v1::Pkcs11Store options_;
  std::string pin_;
  int ca_count_ = 0;
};

// A fresh SoftHSM2 token ("sigil-test", user PIN 1234) in a new temp dir; sets SOFTHSM2_CONF.
absl::StatusOr<std::unique_ptr<Pkcs11TokenFixture>> MakeSoftHsmFixture();

// A swtpm process on 127.0.0.1 (ports from the OS) with its state in a new temp dir, and a fresh
// tpm2-pkcs11 token ("sigil-tpm", user PIN 1234) in a store beside it; sets TPM2_PKCS11_STORE and
// TPM2_PKCS11_TCTI. Stops swtpm on destruction. Supports() says no to P-521 (tpm2-pkcs11 1.9.0 cannot sign
// with it) and to RSA (no CKM_RSA_PKCS_PSS on swtpm, so no TLS 1.3 RSA scheme; the token still makes
// RSA PKCS#1 v1.5 signatures, which tpm_key_store_test checks).
//
// swtpm has 3 slots for loaded objects and no resource manager sits between it and tpm2-pkcs11, which
// keeps the keys it generated or used loaded while the module stays initialised: with the primary key,
// a process can hold two keys in use at once.
absl::StatusOr<std::unique_ptr<Pkcs11TokenFixture>> MakeTpmFixture();

// The same as StoreFixture factories (for ConformanceParam).
absl::StatusOr<std::unique_ptr<StoreFixture>> MakeSoftHsmStoreFixture();
absl::StatusOr<std::unique_ptr<StoreFixture>> MakeTpmStoreFixture();

}  // namespace sigil::signer::testing

#endif  // SIGIL_SIGNER_STORES_PKCS11_TESTING_PKCS11_FIXTURE_H_
