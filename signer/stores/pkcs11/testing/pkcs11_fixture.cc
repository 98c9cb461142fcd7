#include "signer/stores/pkcs11/testing/pkcs11_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"
#include "signer/stores/pkcs11/pkcs11_error.h"
#include "signer/stores/pkcs11/pkcs11_objects.h"

extern char** environ;

namespace sigil::signer::testing {
namespace {

using pkcs11::Attr;
using pkcs11::BytesAttr;

constexpr char kUserPin[] = "1234";
constexpr char kSoPin[] = "5678";

absl::Status WriteText(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("open ", path, ": ", std::strerror(errno)));
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  if (!ok) return absl::InternalError(absl::StrCat("write ", path));
  return absl::OkStatus();
}

// Spawns `argv` with stdout and stderr appended to `log`. Returns the pid.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return absl::InternalError(absl::StrCat("spawn ", argv[0], ": ", std::strerror(rc)));
  return pid;
}

// Binds a TCP socket to 127.0.0.1:`port` (0: the OS chooses). Returns the fd, or -1.
int BindLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// A port P on 127.0.0.1 such that P and P + 1 were both free a moment ago: the swtpm TCTI always
// finds the control channel at the command port + 1.
absl::StatusOr<int> FreePortPair() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int fd = BindLoopback(0);
    if (fd < 0) break;
    sockaddr_in addr{};
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    int port = ntohs(addr.sin_port);
    int next = port < 65535 ? BindLoopback(port + 1) : -1;
    close(fd);
    if (next >= 0) {
      close(next);
      return port;
    }
  }
  return absl::InternalError(absl::StrCat("finding two free adjacent ports: ", std::strerror(errno)));
}

bool CanConnect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

absl::Status Ck(CK_RV rv, const char* function, absl::string_view what) {
  return pkcs11::Pkcs11Error(rv, function, what);
}

// The TPM fixture: owns the swtpm process.
class TpmFixture : public Pkcs11TokenFixture {
 public:
  // tpm2-pkcs11 1.9.0 cannot sign with the P-521 keys it generates (C_SignInit fails on its own
  // CKA_EC_POINT encoding), and lists no CKM_RSA_PKCS_PSS on swtpm (the TPM is not in FIPS mode, so its
  // PSS salt is not known to be the hash length): RSA keys there cannot make the TLS 1.3 RSA schemes.
  explicit TpmFixture(std::string dir)
      : Pkcs11TokenFixture("TPM", std::move(dir), /*unsupported_curves=*/{NID_secp521r1}, /*rsa=*/false) {}
  ~TpmFixture() override {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }

  absl::Status Start() {
    SIGIL_ASSIGN_OR_RETURN(int port, FreePortPair());
    port_ = port;
    const int ctrl_port = port + 1;
    const std::string state = absl::StrCat(dir(), "/state"), store = absl::StrCat(dir(), "/store");
    mkdir(state.c_str(), 0700);
    mkdir(store.c_str(), 0700);
    SIGIL_ASSIGN_OR_RETURN(pid_, Spawn({"swtpm", "socket", "--tpm2", "--server",
                                        absl::StrCat("type=tcp,port=", port, ",bindaddr=127.0.0.1"), "--ctrl",
                                        absl::StrCat("type=tcp,port=", ctrl_port, ",bindaddr=127.0.0.1"),
                                        "--tpmstate", absl::StrCat("dir=", state), "--flags",
                                        "not-need-init,startup-clear"},
                                       absl::StrCat(dir(), "/swtpm.log")));
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!CanConnect(port)) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        return absl::InternalError(absl::StrCat("swtpm exited; see ", dir(), "/swtpm.log"));
      }
      if (absl::Now() > deadline) return absl::DeadlineExceededError("swtpm did not start listening");
      absl::SleepFor(absl::Milliseconds(10));
    }
    setenv("TPM2_PKCS11_STORE", store.c_str(), 1);
    setenv("TPM2_PKCS11_TCTI", absl::StrCat("swtpm:host=127.0.0.1,port=", port).c_str(), 1);
    setenv("TPM2_PKCS11_LOG_LEVEL", "0", 1);
    SIGIL_RETURN_IF_ERROR(RunCommand({"pkcs11-tool", "--module", kTpm2Pkcs11Module, "--init-token", "--label",
                                      "sigil-tpm", "--so-pin", kSoPin}));
    SIGIL_RETURN_IF_ERROR(RunCommand({"pkcs11-tool", "--module", kTpm2Pkcs11Module, "--token-label", "sigil-tpm",
                                      "--login", "--login-type", "so", "--so-pin", kSoPin, "--init-pin", "--pin",
                                      kUserPin}));
    return Init(kTpm2Pkcs11Module, "sigil-tpm", kUserPin);
  }

 private:
  pid_t pid_ = 0;
  int port_ = 0;  // The TPM command port (TCTI).
};

class SoftHsmFixture : public Pkcs11TokenFixture {
 public:
  explicit SoftHsmFixture(std::string dir) : Pkcs11TokenFixture("SoftHSM2", std::move(dir), {}, /*rsa=*/true) {}

  absl::Status Start() {
    const std::string tokens = absl::StrCat(dir(), "/tokens"), conf = absl::StrCat(dir(), "/softhsm2.conf");
    if (mkdir(tokens.c_str(), 0700) != 0) return absl::InternalError(absl::StrCat("mkdir ", tokens));
    SIGIL_RETURN_IF_ERROR(WriteText(conf, absl::StrCat("directories.tokendir = ", tokens,
                                                       "\nobjectstore.backend = file\nlog.level = ERROR\n")));
    setenv("SOFTHSM2_CONF", conf.c_str(), 1);
    SIGIL_RETURN_IF_ERROR(RunCommand({"softhsm2-util", "--init-token", "--free", "--label", "sigil-test",
                                      "--so-pin", kSoPin, "--pin", kUserPin}));
    return Init(kSoftHsmModule, "sigil-test", kUserPin);
  }
};

}  // namespace

absl::StatusOr<std::string> MakeTempDir(const std::string& prefix) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string templ = absl::StrCat(base != nullptr ? base : "/tmp", "/", prefix, "XXXXXX");
  if (mkdtemp(templ.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp ", templ, ": ", std::strerror(errno)));
  }
  return templ;
}

absl::Status RunCommand(const std::vector<std::string>& argv) {
  SIGIL_ASSIGN_OR_RETURN(std::string dir, MakeTempDir("cmd"));
  const std::string log = absl::StrCat(dir, "/output");
  SIGIL_ASSIGN_OR_RETURN(pid_t pid, Spawn(argv, log));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  absl::StatusOr<std::string> output = ReadFileToString(log);
  return absl::InternalError(absl::StrCat(absl::StrJoin(argv, " "), " failed (status ", status, "): ",
                                          output.ok() ? *output : ""));
}

Pkcs11TokenFixture::~Pkcs11TokenFixture() = default;

absl::Status Pkcs11TokenFixture::Init(const std::string& module_path, const std::string& label,
                                      const std::string& pin) {
  const std::string pin_file = absl::StrCat(dir_, "/user.pin");
  SIGIL_RETURN_IF_ERROR(WriteText(pin_file, pin + "\n"));
  pin_ = pin;
  options_.set_module(module_path);
  options_.set_token_label(label);
  options_.set_pin_file(pin_file);
  // Loaded for each operation, not held: a module no store uses is finalised, which frees what it holds
  // (a TPM has only a few slots for loaded keys).
  return pkcs11::Pkcs11Module::Load(module_path).status();
}

bool Pkcs11TokenFixture::Supports(const sigil::testing::KeySpec& spec) const {
  if (spec.type == sigil::testing::KeySpec::kRsa) return rsa_ && spec.rsa_bits >= 2048 && spec.rsa_bits <= 3072;
  if (spec.ec_nid != NID_X9_62_prime256v1 && spec.ec_nid != NID_secp384r1 && spec.ec_nid != NID_secp521r1) {
    return false;
  }
  return std::find(unsupported_curves_.begin(), unsupported_curves_.end(), spec.ec_nid) == unsupported_curves_.end();
}

absl::Status Pkcs11TokenFixture::WithSession(
    const std::function<absl::Status(CK_FUNCTION_LIST*, CK_SESSION_HANDLE)>& op) {
  SIGIL_ASSIGN_OR_RETURN(std::shared_ptr<pkcs11::Pkcs11Module> module, pkcs11::Pkcs11Module::Load(options_.module()));
  pkcs11::Pkcs11Module::Use use(*module);
  CK_ULONG count = 0;
  std::vector<CK_SLOT_ID> slots;
  use->C_GetSlotList(CK_TRUE, nullptr, &count);
  slots.resize(count);
  use->C_GetSlotList(CK_TRUE, slots.data(), &count);
  slots.resize(count);
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    if (use->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    std::string label(reinterpret_cast<const char*>(info.label), sizeof(info.label));
    while (!label.empty() && label.back() == ' ') label.pop_back();
    if (label != options_.token_label()) continue;
    SIGIL_ASSIGN_OR_RETURN(pkcs11::Pkcs11Session session,
                           pkcs11::Pkcs11Session::Open(*module, use, slot, CKF_RW_SESSION));
    if (CK_RV rv = module->Login(use, session.handle(), pin_); rv != CKR_OK) return Ck(rv, "C_Login", "fixture");
    return op(use.functions(), session.handle());
  }
  return absl::NotFoundError(absl::StrCat("fixture token '", options_.token_label(), "' not found"));
}

absl::StatusOr<std::string> Pkcs11TokenFixture::GenerateKey(const sigil::testing::KeySpec& spec,
                                                            const std::string& label) {
  std::string id(8, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(id.data()), id.size());
  std::string public_pem;
  SIGIL_RETURN_IF_ERROR(WithSession([&](CK_FUNCTION_LIST* f, CK_SESSION_HANDLE s) -> absl::Status {
    CK_BBOOL yes = CK_TRUE;
    CK_ULONG bits = spec.rsa_bits;
    CK_BYTE exponent[] = {0x01, 0x00, 0x01};
    std::string ec_params;
    std::vector<CK_ATTRIBUTE> pub = {Attr(CKA_TOKEN, &yes), Attr(CKA_VERIFY, &yes), BytesAttr(CKA_ID, id),
                                     BytesAttr(CKA_LABEL, label)};
    std::vector<CK_ATTRIBUTE> priv = {Attr(CKA_TOKEN, &yes),   Attr(CKA_PRIVATE, &yes), Attr(CKA_SENSITIVE, &yes),
                                      Attr(CKA_SIGN, &yes),    BytesAttr(CKA_ID, id),   BytesAttr(CKA_LABEL, label)};
    CK_MECHANISM mechanism{CKM_RSA_PKCS_KEY_PAIR_GEN, nullptr, 0};
    if (spec.type == sigil::testing::KeySpec::kRsa) {
      pub.push_back(Attr(CKA_MODULUS_BITS, &bits));
      pub.push_back(CK_ATTRIBUTE{CKA_PUBLIC_EXPONENT, exponent, sizeof(exponent)});
    } else {
      SIGIL_ASSIGN_OR_RETURN(ec_params, pkcs11::EcParamsForCurve(spec.ec_nid));
      pub.push_back(BytesAttr(CKA_EC_PARAMS, ec_params));
      mechanism.mechanism = CKM_EC_KEY_PAIR_GEN;
    }
    CK_OBJECT_HANDLE public_key, private_key;
    CK_RV rv = f->C_GenerateKeyPair(s, &mechanism, pub.data(), pub.size(), priv.data(), priv.size(), &public_key,
                                    &private_key);
    if (rv != CKR_OK) return Ck(rv, "C_GenerateKeyPair", label);
    EvpPkeyPtr key;
    if (spec.type == sigil::testing::KeySpec::kRsa) {
      std::string n, e;
      if (!pkcs11::GetAttribute(f, s, public_key, CKA_MODULUS, &n).ok() ||
          !pkcs11::GetAttribute(f, s, public_key, CKA_PUBLIC_EXPONENT, &e).ok()) {
        return absl::InternalError("reading the RSA public key");
      }
      SIGIL_ASSIGN_OR_RETURN(key, pkcs11::RsaPublicKey(n, e));
    } else {
      std::string point;
      if (!pkcs11::GetAttribute(f, s, public_key, CKA_EC_POINT, &point).ok()) {
        return absl::InternalError("reading CKA_EC_POINT");
      }
      SIGIL_ASSIGN_OR_RETURN(key, pkcs11::EcPublicKey(spec.ec_nid, point));
    }
    SIGIL_ASSIGN_OR_RETURN(public_pem, PublicKeyPem(key.get()));
    return absl::OkStatus();
  }));
  return public_pem;
}

namespace {

// Stores an X.509 certificate object.
absl::Status CreateCertificate(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE s, const std::string& der,
                               const std::string& id, const std::string& label) {
  SIGIL_ASSIGN_OR_RETURN(X509Ptr cert, ParseDerCertificate(der));
  auto name_der = [](const X509_NAME* name) {
    unsigned char* out = nullptr;
    int len = i2d_X509_NAME(name, &out);
    std::string result(reinterpret_cast<const char*>(out), len > 0 ? len : 0);
    OPENSSL_free(out);
    return result;
  };
  std::string subject = name_der(X509_get_subject_name(cert.get()));
  std::string issuer = name_der(X509_get_issuer_name(cert.get()));
  unsigned char* serial_out = nullptr;
  int serial_len = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert.get()), &serial_out);
  std::string serial(reinterpret_cast<const char*>(serial_out), serial_len > 0 ? serial_len : 0);
  OPENSSL_free(serial_out);
  CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
  CK_CERTIFICATE_TYPE type = CKC_X_509;
  CK_BBOOL yes = CK_TRUE;
  std::vector<CK_ATTRIBUTE> attrs = {Attr(CKA_CLASS, &cls),         Attr(CKA_CERTIFICATE_TYPE, &type),
                                     Attr(CKA_TOKEN, &yes),         BytesAttr(CKA_VALUE, der),
                                     BytesAttr(CKA_SUBJECT, subject), BytesAttr(CKA_ISSUER, issuer),
                                     BytesAttr(CKA_SERIAL_NUMBER, serial), BytesAttr(CKA_ID, id),
                                     BytesAttr(CKA_LABEL, label)};
  CK_OBJECT_HANDLE object;
  CK_RV rv = f->C_CreateObject(s, attrs.data(), attrs.size(), &object);
  return Ck(rv, "C_CreateObject", absl::StrCat("certificate ", label));
}

}  // namespace

absl::Status Pkcs11TokenFixture::AddCertificate(const std::string& label, const std::string& cert_der) {
  return WithSession([&](CK_FUNCTION_LIST* f, CK_SESSION_HANDLE s) -> absl::Status {
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    std::vector<CK_OBJECT_HANDLE> keys;
    pkcs11::CkCall call = pkcs11::FindObjects(f, s, {Attr(CKA_CLASS, &cls), BytesAttr(CKA_LABEL, label)}, &keys);
    if (!call.ok()) return Ck(call.rv, call.function, label);
    if (keys.empty()) return absl::NotFoundError(absl::StrCat("no private key labelled ", label));
    std::string id;
    call = pkcs11::GetAttribute(f, s, keys.front(), CKA_ID, &id);
    if (!call.ok()) return Ck(call.rv, call.function, label);
    return CreateCertificate(f, s, cert_der, id, label);
  });
}

absl::Status Pkcs11TokenFixture::AddCaCertificate(const std::string& cert_der) {
  const std::string name = absl::StrCat("ca-", ++ca_count_);
  return WithSession([&](CK_FUNCTION_LIST* f, CK_SESSION_HANDLE s) {
    return CreateCertificate(f, s, cert_der, name, name);
  });
}

absl::Status Pkcs11TokenFixture::DeleteObjects(const std::string& label) {
  return WithSession([&](CK_FUNCTION_LIST* f, CK_SESSION_HANDLE s) -> absl::Status {
    std::vector<CK_OBJECT_HANDLE> objects;
    pkcs11::CkCall call = pkcs11::FindObjects(f, s, {BytesAttr(CKA_LABEL, label)}, &objects);
    if (!call.ok()) return Ck(call.rv, call.function, label);
    for (CK_OBJECT_HANDLE object : objects) {
      if (CK_RV rv = f->C_DestroyObject(s, object); rv != CKR_OK) return Ck(rv, "C_DestroyObject", label);
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::unique_ptr<Pkcs11KeyStore>> Pkcs11TokenFixture::OpenPkcs11(
    const config::v1::Pkcs11Store& options) const {
  Pkcs11KeyStore::Tuning tuning;
  tuning.reinitialize_interval = absl::ZeroDuration();
  return Pkcs11KeyStore::Create(options, tuning);
}

absl::StatusOr<std::unique_ptr<KeyStore>> Pkcs11TokenFixture::Open() {
  SIGIL_ASSIGN_OR_RETURN(std::unique_ptr<Pkcs11KeyStore> store, OpenPkcs11(options_));
  return std::unique_ptr<KeyStore>(std::move(store));
}

absl::StatusOr<std::unique_ptr<Pkcs11TokenFixture>> MakeSoftHsmFixture() {
  SIGIL_ASSIGN_OR_RETURN(std::string dir, MakeTempDir("softhsm"));
  auto fixture = std::make_unique<SoftHsmFixture>(dir);
  SIGIL_RETURN_IF_ERROR(fixture->Start());
  return std::unique_ptr<Pkcs11TokenFixture>(std::move(fixture));
}

absl::StatusOr<std::unique_ptr<Pkcs11TokenFixture>> MakeTpmFixture() {
  SIGIL_ASSIGN_OR_RETURN(std::string dir, MakeTempDir("tpm"));
  auto fixture = std::make_unique<TpmFixture>(dir);
  SIGIL_RETURN_IF_ERROR(fixture->Start());
  return std::unique_ptr<Pkcs11TokenFixture>(std::move(fixture));
}

absl::StatusOr<std::unique_ptr<StoreFixture>> MakeSoftHsmStoreFixture() {
  SIGIL_ASSIGN_OR_RETURN(std::unique_ptr<Pkcs11TokenFixture> fixture, MakeSoftHsmFixture());
  return std::unique_ptr<StoreFixture>(std::move(fixture));
}

absl::StatusOr<std::unique_ptr<StoreFixture>> MakeTpmStoreFixture() {
  SIGIL_ASSIGN_OR_RETURN(std::unique_ptr<Pkcs11TokenFixture> fixture, MakeTpmFixture());
  return std::unique_ptr<StoreFixture>(std::move(fixture));
}

}  // namespace sigil::signer::testing
