// Writes the seed corpora of Sigil's libFuzzer targets from real data the project generates: a test PKI
// (tests/pki) and OCSP responses signed by its CAs and a delegated responder (tests/ocsp/response_builder),
// exported through the cache.json writer. Certificates and responses only; no private key is written.
//
// Usage: bazel run //tests/fuzz:make_fuzz_corpora -- "$PWD"   (the repository root)
// Rewrites (adds or replaces seed_* files in)
//   verifier/ocsp/testdata/ocsp_response_corpus/   (verifier/ocsp/ocsp_response_fuzz.cc)
//   verifier/testdata/peer_verifier_corpus/        (verifier/peer_verifier_fuzz.cc)
//   verifier/testdata/nats_import_corpus/          (verifier/nats_import_fuzz.cc)
//   common/testdata/config_corpus/                 (common/config_fuzz.cc)
// Inputs the fuzzers found and someone kept (other names) are left alone. The framing is tests/fuzz/
// fuzz_input.h; the `now` of each seed is the time the generator ran, which the seed carries, so the seeds
// keep reaching the time checks however old they get.
#include <openssl/evp.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cache/nats_cache_json.h"
#include "cache/ocsp_cache.h"
#include "common/status_macros.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/ocsp/response_builder.h"
#include "tests/pki/test_pki.h"

namespace sigil::testing {
namespace {

using Status = ResponseSpec::CertStatus;

struct Pki {
  Issued root;
  Issued intermediate;
  Issued leaf;
  Issued responder;  // Delegated OCSP responder of the intermediate.
};

absl::StatusOr<Pki> MakePki() {
  Pki pki;
  CertSpec root_spec;
  root_spec.subject = {{"O", "Sigil Fuzz"}, {"CN", "Fuzz Root CA"}};
  root_spec.is_ca = true;
  SIGIL_ASSIGN_OR_RETURN(pki.root, SelfSigned(root_spec, KeySpec::Ec()));
  CertSpec intermediate_spec;
  intermediate_spec.subject = {{"O", "Sigil Fuzz"}, {"CN", "Fuzz Intermediate CA"}};
  intermediate_spec.is_ca = true;
  intermediate_spec.ocsp_urls = {"http://127.0.0.1:1/root-ocsp"};
  SIGIL_ASSIGN_OR_RETURN(pki.intermediate, IssueCert(intermediate_spec, KeySpec::Ec(), pki.root));
  CertSpec leaf_spec;
  leaf_spec.subject = {{"O", "Sigil Fuzz"}, {"CN", "fuzz-client"}};
  leaf_spec.ocsp_urls = {"http://127.0.0.1:1/ocsp", "https://127.0.0.1:2/ocsp"};
  leaf_spec.extended_key_usages = {"clientAuth", "serverAuth"};
  leaf_spec.dns_sans = {"localhost"};
  SIGIL_ASSIGN_OR_RETURN(pki.leaf, IssueCert(leaf_spec, KeySpec::Ec(), pki.intermediate));
  CertSpec responder_spec;
  responder_spec.subject = {{"O", "Sigil Fuzz"}, {"CN", "Fuzz OCSP Responder"}};
  responder_spec.extended_key_usages = {"OCSPSigning"};
  SIGIL_ASSIGN_OR_RETURN(pki.responder, IssueCert(responder_spec, KeySpec::Ec(), pki.intermediate));
  return pki;
}

absl::Status Write(const std::filesystem::path& dir, const std::string& name, const std::string& data) {
  std::filesystem::create_directories(dir);
  return WriteFile((dir / name).string(), data);
}

struct Variant {
  std::string name;
  ResponseSpec spec;
  bool delegated = false;
};

std::vector<Variant> Variants(absl::Time now) {
  std::vector<Variant> v;
  auto add = [&](std::string name, auto change, bool delegated = false) {
    ResponseSpec spec;
    spec.this_update = now - absl::Minutes(5);
    spec.next_update = now + absl::Hours(1);
    spec.revoked_at = now - absl::Hours(2);
    change(spec);
    v.push_back({std::move(name), spec, delegated});
  };
  add("good", [](ResponseSpec&) {});
  add("revoked", [](ResponseSpec& s) { s.status = Status::kRevoked; });
  add("unknown", [](ResponseSpec& s) { s.status = Status::kUnknown; });
  add("delegated_good", [](ResponseSpec&) {}, true);
  add("delegated_revoked", [](ResponseSpec& s) { s.status = Status::kRevoked; }, true);
  add("by_key", [](ResponseSpec& s) { s.responder_id_by_key = true; });
  add("no_signer_cert", [](ResponseSpec& s) { s.include_signer_cert = false; }, true);
  add("no_next_update", [](ResponseSpec& s) { s.next_update.reset(); });
  add("stale", [now](ResponseSpec& s) {
    s.this_update = now - absl::Hours(3);
    s.next_update = now - absl::Hours(2);
  });
  add("future", [now](ResponseSpec& s) { s.this_update = now + absl::Hours(1); });
  add("sha256_cert_id", [](ResponseSpec& s) { s.cert_id_digest = EVP_sha256(); });
  add("try_later", [](ResponseSpec& s) { s.response_status = 3; });
  return v;
}

absl::StatusOr<std::string> Response(const Pki& pki, const Variant& v) {
  const Issued& signer = v.delegated ? pki.responder : pki.intermediate;
  return MakeOcspResponse(pki.leaf.cert.get(), pki.intermediate.cert.get(), signer.cert.get(), signer.key.get(),
                          v.spec);
}

absl::Status OcspResponseCorpus(const Pki& pki, absl::Time now, const std::filesystem::path& dir) {
  const uint64_t now_unix = static_cast<uint64_t>(absl::ToUnixSeconds(now));
  for (const Variant& v : Variants(now)) {
    SIGIL_ASSIGN_OR_RETURN(std::string der, Response(pki, v));
    for (uint8_t flags : {0, 1, 2}) {
      FuzzInputWriter w;
      w.Uint64(now_unix).Byte(flags).Blob(pki.intermediate.CertDer()).Blob(pki.leaf.CertDer()).Rest(der);
      SIGIL_RETURN_IF_ERROR(Write(dir, absl::StrCat("seed_", v.name, "_flags", flags), w.data()));
    }
  }
  return absl::OkStatus();
}

absl::Status PeerVerifierCorpus(const Pki& pki, absl::Time now, const std::filesystem::path& dir) {
  const uint64_t now_unix = static_cast<uint64_t>(absl::ToUnixSeconds(now));
  const std::vector<std::string> full = {pki.leaf.CertDer(), pki.intermediate.CertDer(), pki.root.CertDer()};
  for (const Variant& v : Variants(now)) {
    SIGIL_ASSIGN_OR_RETURN(std::string der, Response(pki, v));
    // Flags: 0 strict, 1 unknown_is_good, 2 allow_when_ca_unreachable, 4 warn_only, 8 responder down,
    // 16 SERVER.
    for (uint8_t flags : {0, 1, 4, 8 | 2, 16}) {
      FuzzInputWriter w;
      w.Uint64(now_unix).Byte(flags).Byte(1).Byte(static_cast<uint8_t>(full.size()));
      for (const std::string& cert : full) w.Blob(cert);
      w.Rest(der);
      SIGIL_RETURN_IF_ERROR(Write(dir, absl::StrCat("seed_", v.name, "_flags", flags), w.data()));
    }
  }
  // Two chains (the first revoked, the second through the root alone), and a self-signed peer.
  SIGIL_ASSIGN_OR_RETURN(std::string revoked, Response(pki, Variants(now)[1]));
  FuzzInputWriter two;
  two.Uint64(now_unix).Byte(0).Byte(2).Byte(3);
  for (const std::string& cert : full) two.Blob(cert);
  two.Byte(2).Blob(pki.intermediate.CertDer()).Blob(pki.root.CertDer()).Rest(revoked);
  SIGIL_RETURN_IF_ERROR(Write(dir, "seed_two_chains", two.data()));
  FuzzInputWriter self;
  self.Uint64(now_unix).Byte(0).Byte(1).Byte(1).Blob(pki.root.CertDer());
  SIGIL_RETURN_IF_ERROR(Write(dir, "seed_self_signed", self.data()));
  // Out of order (not issued by the next link): INVALID_ARGUMENT.
  FuzzInputWriter bad;
  bad.Uint64(now_unix).Byte(0).Byte(1).Byte(2).Blob(pki.leaf.CertDer()).Blob(pki.root.CertDer());
  return Write(dir, "seed_not_issued_by_next", bad.data());
}

absl::Status NatsImportCorpus(const Pki& pki, absl::Time now, const std::filesystem::path& root) {
  const std::filesystem::path dir = root / "verifier/testdata/nats_import_corpus";
  const uint64_t now_unix = static_cast<uint64_t>(absl::ToUnixSeconds(now));
  std::vector<cache::CachedResponse> all;
  for (const Variant& v : Variants(now)) {
    SIGIL_ASSIGN_OR_RETURN(std::string der, Response(pki, v));
    cache::CachedResponse entry;
    entry.key = cache::CacheKey(pki.leaf.CertDer());
    entry.response_der = der;
    entry.subject = "CN=fuzz-client,O=Sigil Fuzz";
    entry.cached_at = now - absl::Minutes(1);
    entry.resp_status = v.spec.status == Status::kRevoked ? cache::CachedResponse::Status::kRevoked
                        : v.spec.status == Status::kUnknown ? cache::CachedResponse::Status::kUnknown
                                                           : cache::CachedResponse::Status::kGood;
    entry.resp_expires = now + absl::Hours(1);
    SIGIL_ASSIGN_OR_RETURN(std::string json, cache::SerializeNatsCacheJson({entry}));
    FuzzInputWriter w;
    w.Uint64(now_unix).Blob(pki.intermediate.CertDer()).Rest(json);
    SIGIL_RETURN_IF_ERROR(Write(dir, absl::StrCat("seed_", v.name), w.data()));
    // A second key, so the several-entry file has distinct keys.
    entry.key = cache::CacheKey(absl::StrCat(pki.leaf.CertDer(), v.name));
    all.push_back(std::move(entry));
  }
  SIGIL_ASSIGN_OR_RETURN(std::string json, cache::SerializeNatsCacheJson(all));
  FuzzInputWriter w;
  w.Uint64(now_unix).Blob(pki.intermediate.CertDer()).Rest(json);
  SIGIL_RETURN_IF_ERROR(Write(dir, "seed_all", w.data()));
  // The reference server's own file (cache/testdata), against our issuer: parses, fails validation.
  SIGIL_ASSIGN_OR_RETURN(std::string reference, ReadFile((root / "cache/testdata/nats_cache_seed.json").string()));
  FuzzInputWriter r;
  r.Uint64(now_unix).Blob(pki.intermediate.CertDer()).Rest(reference);
  return Write(dir, "seed_reference_server", r.data());
}

absl::Status ConfigCorpus(const std::filesystem::path& dir) {
  const std::vector<std::pair<std::string, std::string>> configs = {
      {"signer", R"({"listener": {"listen": "127.0.0.1:7443", "tls": {"cert_file": "s.pem", "key_file": "k.pem",
 "ca_file": "ca.pem", "verify": true, "timeout": 0.5, "pinned_certs": ["00ff"],
 "cipher_suites": ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256",
 "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"], "curve_preferences": ["CurveP256"]},
 "health_listen": "127.0.0.1:0"}, "admin_principals": ["operator"], "signing_threads": 4,
 "identities": [{"name": "dev", "cert_file": "dev.pem", "key_file": "dev-key.pem", "allowed_principals": ["*"]},
 {"name": "web", "cert_store": "PKCS11", "cert_match_by": "Subject", "cert_match": "web.example.org",
  "pkcs11": {"module": "/usr/lib/softhsm/libsofthsm2.so", "token_label": "sigil", "pin_file": "/pin"}}]})"},
      {"verifier", R"({"listener": {"listen": "127.0.0.1:0", "plaintext_development_only": true},
 "profiles": {"default": {"ocsp_peer": true}, "strict": {"ocsp_peer": {"verify": true, "ca_timeout": 2.5,
 "allowed_clockskew": 30, "warn_only": false, "unknown_is_good": true, "allow_when_ca_unreachable": true,
 "cache_ttl_when_next_update_unset": 3600, "cert_id_hash": "sha256", "max_response_bytes": 65536}},
 "edge": {"ocsp": {"mode": "must", "url": "http://ocsp.example.net"}}},
 "ocsp_cache": {"type": "local", "local_store": "_rc_", "preserve_revoked": true, "save_interval": 300},
 "store_dir": "staples", "admin_principals": ["operator"]})"},
      {"verifier_short_forms", R"({"profiles": {"default": {"ocsp_peer": false}}, "ocsp_cache": false})"},
      {"stapling", R"({"profiles": {"default": {"ocsp": {"mode": "auto"}}, "b": {"ocsp": {"mode": "ALWAYS"}}},
 "store_dir": "/var/lib/sigil"})"},
      {"bad_type", R"({"profiles": {"default": {"ocsp_peer": {"ca_timeout": "x"}}}})"},
      {"unknown_field", R"({"listener": {"listen": "a", "tls": {"nope": 1}}})"},
      {"empty", "{}"},
  };
  for (const auto& [name, json] : configs) SIGIL_RETURN_IF_ERROR(Write(dir, "seed_" + name, json));
  return absl::OkStatus();
}

absl::Status Run(const std::filesystem::path& root) {
  const absl::Time now = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  SIGIL_ASSIGN_OR_RETURN(Pki pki, MakePki());
  SIGIL_RETURN_IF_ERROR(OcspResponseCorpus(pki, now, root / "verifier/ocsp/testdata/ocsp_response_corpus"));
  SIGIL_RETURN_IF_ERROR(PeerVerifierCorpus(pki, now, root / "verifier/testdata/peer_verifier_corpus"));
  SIGIL_RETURN_IF_ERROR(NatsImportCorpus(pki, now, root));
  return ConfigCorpus(root / "common/testdata/config_corpus");
}

}  // namespace
}  // namespace sigil::testing

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s REPOSITORY_ROOT\n", argv[0]);
    return 2;
  }
  absl::Status status = sigil::testing::Run(argv[1]);
  if (!status.ok()) {
    std::fprintf(stderr, "make_fuzz_corpora: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
