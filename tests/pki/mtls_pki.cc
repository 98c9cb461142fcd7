#include "tests/pki/mtls_pki.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace sigil::testing {
namespace {

#define PKI_ASSIGN_OR_RETURN(lhs, expr) \
  auto lhs##_or = (expr);               \
  if (!lhs##_or.ok()) return lhs##_or.status(); \
  auto lhs = std::move(lhs##_or).value()

absl::Status Write(const std::string& path, const std::string& contents, std::string* out) {
  *out = path;
  return WriteFile(path, contents);
}

}  // namespace

bool OpenSslClientHandshake(int port, const MtlsPki& pki, const std::string& extra_args,
                            std::string* output) {
  std::string cmd = absl::StrCat("openssl s_client -connect 127.0.0.1:", port, " -CAfile ", pki.ca_file,
                                 " -cert ", pki.client_cert, " -key ", pki.client_key,
                                 " -verify_return_error -alpn h2 ", extra_args, " </dev/null 2>&1");
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return false;
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof(buf), pipe)) out.append(buf, n);
  pclose(pipe);
  bool established = out.find(", Cipher is ") != std::string::npos &&
                     out.find("Cipher is (NONE)") == std::string::npos &&
                     out.find("Verify return code: 0 (ok)") != std::string::npos;
  if (output != nullptr) *output = std::move(out);
  return established;
}

std::string MakeTestDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(base != nullptr ? base : "/tmp", "/", name, "-", getpid());
  mkdir(dir.c_str(), 0700);
  return dir;
}

absl::StatusOr<MtlsPki> MakeMtlsPki(const std::string& dir) {
  MtlsPki pki;
  pki.dir = dir;
  CertSpec ca_spec;
  ca_spec.subject = {{"O", "Sigil Tests"}, {"CN", "Sigil Test CA"}};
  ca_spec.is_ca = true;
  PKI_ASSIGN_OR_RETURN(ca, SelfSigned(ca_spec, KeySpec::Ec()));

  CertSpec server_spec;
  server_spec.subject = {{"CN", "localhost"}};
  server_spec.dns_sans = {"localhost"};
  server_spec.ip_sans = {"127.0.0.1"};
  server_spec.extended_key_usages = {"serverAuth"};
  PKI_ASSIGN_OR_RETURN(server, IssueCert(server_spec, KeySpec::Ec(), ca));

  CertSpec client_spec;
  client_spec.subject = {{"CN", "operator"}};
  client_spec.uri_sans = {"spiffe://sigil.test/operator"};
  client_spec.extended_key_usages = {"clientAuth"};
  PKI_ASSIGN_OR_RETURN(client, IssueCert(client_spec, KeySpec::Ec(), ca));

  CertSpec second_spec;
  second_spec.subject = {{"CN", "other-service"}};
  second_spec.extended_key_usages = {"clientAuth"};
  PKI_ASSIGN_OR_RETURN(second, IssueCert(second_spec, KeySpec::Ec(), ca));

  CertSpec foreign_ca_spec;
  foreign_ca_spec.subject = {{"CN", "Unrelated CA"}};
  foreign_ca_spec.is_ca = true;
  PKI_ASSIGN_OR_RETURN(foreign_ca, SelfSigned(foreign_ca_spec, KeySpec::Ec()));
  PKI_ASSIGN_OR_RETURN(foreign, IssueCert(client_spec, KeySpec::Ec(), foreign_ca));

  absl::Status s;
  for (auto [path, contents, out] : std::vector<std::tuple<std::string, std::string, std::string*>>{
           {"ca.pem", ca.CertPem(), &pki.ca_file},
           {"server.pem", server.CertPem(), &pki.server_cert},
           {"server-key.pem", server.KeyPem(), &pki.server_key},
           {"client.pem", client.CertPem(), &pki.client_cert},
           {"client-key.pem", client.KeyPem(), &pki.client_key},
           {"second.pem", second.CertPem(), &pki.second_client_cert},
           {"second-key.pem", second.KeyPem(), &pki.second_client_key},
           {"foreign.pem", foreign.CertPem(), &pki.foreign_client_cert},
           {"foreign-key.pem", foreign.KeyPem(), &pki.foreign_client_key},
       }) {
    s = Write(absl::StrCat(dir, "/", path), contents, out);
    if (!s.ok()) return s;
  }
  pki.client_pin = SpkiSha256Hex(client.cert.get());
  pki.second_client_pin = SpkiSha256Hex(second.cert.get());
  pki.ca = std::move(ca);
  return pki;
}

}  // namespace sigil::testing
