// p11_speed: the signing ceiling of a PKCS#11 token itself, without Sigil's
// store layer, gRPC or TLS: the baseline that bench/run.sh sets beside
// signerd's Sign rates for a PKCS#11 identity (as `openssl speed` is the
// baseline for a PEM key).
//
// `--threads` threads each open their own session (logged in once, as signerd's
// sessions are), find the private key by label once, then loop C_SignInit +
// C_Sign as fast as they can. After `--warmup` seconds the signatures made in
// the next `--duration` seconds are counted.
//
//   p11_speed --module=/usr/lib/softhsm/libsofthsm2.so --token_label=sigil-dev
//   --key_label=dev-hsm
//             --pin_file=pin --mechanism=ecdsa|rsa-pkcs|rsa-pss [--threads=2]
//             [--duration=5] [--warmup=1] [--label=..]
//
// Prints one JSON object on one line to stdout:
//   {"label":"...","mechanism":"ecdsa","threads":2,"duration_s":5.0,"signatures":N,"sign_per_s":X}
// Exit status: 0 on success; 1 when the token, the key or a signature fails; 2
// for bad flags.
//
// The input is a zero SHA-256 digest (ECDSA, RSA-PSS) or a zero SHA-256
// DigestInfo-sized block (RSA PKCS#1 v1.5): its content does not change what a
// signature costs.
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "signer/stores/pkcs11/pkcs11_error.h"
#include "signer/stores/pkcs11/pkcs11_module.h"
#include "signer/stores/pkcs11/pkcs11_objects.h"

ABSL_FLAG(std::string, module, "/usr/lib/softhsm/libsofthsm2.so", "PKCS#11 module (shared library)");
ABSL_FLAG(std::string, token_label, "", "label of the token");
ABSL_FLAG(std::string, key_label, "", "CKA_LABEL of the private key");
ABSL_FLAG(std::string, pin_file, "", "file holding the user PIN");
ABSL_FLAG(std::string, mechanism, "ecdsa", "ecdsa | rsa-pkcs | rsa-pss (SHA-256, MGF1-SHA-256, 32-byte salt)");
ABSL_FLAG(int, threads, 2, "threads, each with its own session");
ABSL_FLAG(double, duration, 5, "measured seconds (after warm-up)");
ABSL_FLAG(double, warmup, 1, "seconds of signing before counting starts");
ABSL_FLAG(std::string, label, "", "free text copied into the JSON line");

namespace sigil::bench {
namespace {

using signer::pkcs11::CkrName;
using signer::pkcs11::Pkcs11Module;
using signer::pkcs11::Pkcs11Session;

int Fail(const std::string &message) {
  std::cerr << "p11_speed: " << message << "\n";
  return 1;
}

// The slot whose initialised token is labelled `label` (blank-padded in
// CK_TOKEN_INFO).
bool FindSlot(const Pkcs11Module::Use &use, const std::string &label, CK_SLOT_ID *slot) {
  CK_ULONG count = 0;
  if (use->C_GetSlotList(CK_TRUE, nullptr, &count) != CKR_OK) return false;
  std::vector<CK_SLOT_ID> slots(count);
  if (use->C_GetSlotList(CK_TRUE, slots.data(), &count) != CKR_OK) return false;
  for (CK_ULONG i = 0; i < count; ++i) {
    CK_TOKEN_INFO info{};
    if (use->C_GetTokenInfo(slots[i], &info) != CKR_OK) continue;
    std::string found(reinterpret_cast<const char *>(info.label), sizeof(info.label));
    if (absl::StripTrailingAsciiWhitespace(found) == label) {
      *slot = slots[i];
      return true;
    }
  }
  return false;
}

int Main() {
  const std::string mechanism_name = absl::GetFlag(FLAGS_mechanism);
  CK_MECHANISM mechanism{CKM_ECDSA, nullptr, 0};
  size_t input_size = 32;                                       // a SHA-256 digest
  CK_RSA_PKCS_PSS_PARAMS pss{CKM_SHA256, CKG_MGF1_SHA256, 32};  // rsa_pss_rsae_sha256 (TLS 0x0804)
  if (mechanism_name == "rsa-pkcs") {
    mechanism.mechanism = CKM_RSA_PKCS;
    input_size = 19 + 32;  // SHA-256 DigestInfo: 19-byte prefix + digest
  } else if (mechanism_name == "rsa-pss") {
    mechanism = {CKM_RSA_PKCS_PSS, &pss, sizeof(pss)};
  } else if (mechanism_name != "ecdsa") {
    std::cerr << "p11_speed: --mechanism must be ecdsa, rsa-pkcs or rsa-pss\n";
    return 2;
  }
  const int threads = absl::GetFlag(FLAGS_threads);
  if (threads < 1 || threads > 256 || absl::GetFlag(FLAGS_duration) <= 0 || absl::GetFlag(FLAGS_warmup) < 0) {
    std::cerr << "p11_speed: --threads must be 1 to 256, --duration positive, --warmup not negative\n";
    return 2;
  }
  std::ifstream pin_in(absl::GetFlag(FLAGS_pin_file));
  std::stringstream pin_buffer;
  pin_buffer << pin_in.rdbuf();
  const std::string pin(absl::StripAsciiWhitespace(pin_buffer.str()));
  if (!pin_in || pin.empty()) {
    std::cerr << "p11_speed: cannot read a PIN from --pin_file '" << absl::GetFlag(FLAGS_pin_file) << "'\n";
    return 2;
  }

  auto module = Pkcs11Module::Load(absl::GetFlag(FLAGS_module));
  if (!module.ok()) return Fail(std::string(module.status().message()));
  CK_SLOT_ID slot = 0;
  {
    Pkcs11Module::Use use(**module);
    if (!FindSlot(use, absl::GetFlag(FLAGS_token_label), &slot)) {
      return Fail(absl::StrCat("no token labelled '", absl::GetFlag(FLAGS_token_label), "'"));
    }
  }

  // One session per thread, logged in (the login is per application, so the
  // first one is enough) and the key handle found, before any thread starts
  // signing.
  struct Worker {
    Pkcs11Session session;
    CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
  };
  std::vector<Worker> workers(threads);
  for (Worker &worker : workers) {
    Pkcs11Module::Use use(**module);
    auto session = Pkcs11Session::Open(**module, use, slot, 0);
    if (!session.ok()) return Fail(std::string(session.status().message()));
    worker.session = *std::move(session);
    if (CK_RV rv = (*module)->Login(use, worker.session.handle(), pin); rv != CKR_OK) {
      return Fail(absl::StrCat("C_Login: ", CkrName(rv)));
    }
    CK_OBJECT_CLASS private_key = CKO_PRIVATE_KEY;
    std::vector<CK_OBJECT_HANDLE> found;
    const std::string key_label = absl::GetFlag(FLAGS_key_label);
    auto call = signer::pkcs11::FindObjects(
        use.functions(), worker.session.handle(),
        {signer::pkcs11::Attr(CKA_CLASS, &private_key), signer::pkcs11::BytesAttr(CKA_LABEL, key_label)}, &found);
    if (!call.ok()) return Fail(absl::StrCat(call.function, ": ", CkrName(call.rv)));
    if (found.empty()) return Fail(absl::StrCat("no private key labelled '", key_label, "' on the token"));
    worker.key = found.front();
  }

  std::atomic<bool> counting{false}, stop{false}, failed{false};
  std::atomic<long> signatures{0};
  std::vector<std::thread> running;
  for (Worker &worker : workers) {
    running.emplace_back([&, session = worker.session.handle(), key = worker.key] {
      std::string input(input_size, '\0'), signature(1024, '\0');
      auto *in = reinterpret_cast<CK_BYTE_PTR>(input.data());
      auto *out = reinterpret_cast<CK_BYTE_PTR>(signature.data());
      while (!stop.load(std::memory_order_relaxed)) {
        CK_MECHANISM m = mechanism;
        CK_ULONG length = signature.size();
        Pkcs11Module::Use use(**module);  // one hold per operation (pkcs11_module.h)
        CK_RV rv = use->C_SignInit(session, &m, key);
        if (rv == CKR_OK) rv = use->C_Sign(session, in, input.size(), out, &length);
        if (rv != CKR_OK) {
          std::cerr << "p11_speed: C_SignInit/C_Sign: " << CkrName(rv) << "\n";
          failed = true;
          stop = true;
          return;
        }
        if (counting.load(std::memory_order_relaxed)) signatures.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_warmup)));
  const absl::Time start = absl::Now();
  counting = true;
  absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_duration)));
  counting = false;
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  stop = true;
  for (std::thread &t : running) t.join();
  if (failed) return 1;

  char rate[32];
  std::snprintf(rate, sizeof(rate), "%.1f", signatures.load() / seconds);
  std::cout << "{\"label\":\"" << absl::Utf8SafeCHexEscape(absl::GetFlag(FLAGS_label)) << "\",\"mechanism\":\""
            << mechanism_name << "\",\"threads\":" << threads << ",\"duration_s\":" << seconds
            << ",\"signatures\":" << signatures.load() << ",\"sign_per_s\":" << rate << "}" << std::endl;
  return 0;
}

}  // namespace
}  // namespace sigil::bench

int main(int argc, char **argv) {
  absl::SetProgramUsageMessage("the signing ceiling of a PKCS#11 token itself; see bench/p11_speed.cc");
  absl::ParseCommandLine(argc, argv);
  return sigil::bench::Main();
}
