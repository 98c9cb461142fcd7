#include "common/tls_listener.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace sigil {
namespace {

constexpr const char* kTls13Suites[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                        "TLS_CHACHA20_POLY1305_SHA256"};
constexpr const char* kKnownCurves[] = {"CurveP256", "CurveP384", "CurveP521", "X25519"};

absl::Status TlsError(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("tls: ", message));
}

bool IsHexSha256(absl::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Refuses clients whose certificate key is not pinned. Runs after gRPC's own chain verification.
class PinnedCertVerifier : public grpc::experimental::ExternalCertificateVerifier {
 public:
  explicit PinnedCertVerifier(std::vector<std::string> pins) : pins_(pins.begin(), pins.end()) {}

  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)> /*callback*/, grpc::Status* sync_status) override {
    grpc::string_ref pem = request->peer_cert();
    auto certs = ParsePemCertificates(absl::string_view(pem.data(), pem.size()), "peer certificate");
    if (!certs.ok()) {
      *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no peer certificate to pin");
      return true;
    }
    std::string pin = SpkiSha256Hex((*certs)[0].get());
    if (pins_.count(pin) == 0) {
      LogWarning(absl::StrCat("TLS handshake refused: client key ", pin, " is not in pinned_certs"));
      *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                  "client certificate is not in pinned_certs");
      return true;
    }
    *sync_status = grpc::Status::OK;
    return true;
  }

  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {}

 private:
  const std::set<std::string> pins_;
};

}  // namespace

absl::StatusOr<std::string> CipherSuitesToOpenSsl(const std::vector<std::string>& names) {
  // OpenSSL knows every suite's IANA (standard) name; map through it instead of keeping a table.
  SslCtxPtr ctx(SSL_CTX_new(TLS_method()));
  if (!ctx || SSL_CTX_set_cipher_list(ctx.get(), "ALL:COMPLEMENTOFALL") != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "cannot list OpenSSL ciphers");
  }
  std::set<std::string> tls13_seen;
  std::vector<std::string> openssl_names;
  STACK_OF(SSL_CIPHER)* all = SSL_CTX_get_ciphers(ctx.get());
  for (const std::string& name : names) {
    bool is_tls13 = false;
    for (const char* s : kTls13Suites) is_tls13 |= (name == s);
    if (is_tls13) {
      tls13_seen.insert(name);
      continue;
    }
    const SSL_CIPHER* found = nullptr;
    for (int i = 0; i < sk_SSL_CIPHER_num(all); ++i) {
      const SSL_CIPHER* c = sk_SSL_CIPHER_value(all, i);
      const char* standard = SSL_CIPHER_standard_name(c);
      if (standard != nullptr && name == standard) found = c;
    }
    if (found == nullptr) return TlsError(absl::StrCat("cipher_suites: unknown cipher suite '", name, "'"));
    if (absl::string_view(SSL_CIPHER_get_version(found)) == "TLSv1.3") {
      return TlsError(absl::StrCat("cipher_suites: unknown cipher suite '", name, "'"));
    }
    openssl_names.push_back(SSL_CIPHER_get_name(found));
  }
  if (tls13_seen.size() != 3) {
    return TlsError(
        "cipher_suites cannot be honoured: gRPC listeners always allow the TLS 1.3 suites "
        "TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384 and TLS_CHACHA20_POLY1305_SHA256; list all three");
  }
  if (openssl_names.empty()) {
    return TlsError("cipher_suites cannot be honoured: name at least one TLS 1.2 suite");
  }
  return absl::StrJoin(openssl_names, ":");
}

absl::StatusOr<ListenerOptions> ValidateListener(const config::v1::Listener& listener) {
  ListenerOptions out;
  if (listener.listen().empty()) {
    return absl::InvalidArgumentError("listener: 'listen' is required (host:port)");
  }
  out.listen = listener.listen();
  out.health_listen = listener.health_listen();
  if (!out.health_listen.empty()) {
    out.decisions.push_back(absl::StrCat("health: plaintext grpc.health.v1 listener on ", out.health_listen,
                                         " (health_listen; no Sigil service is served there)"));
  }
  if (listener.plaintext_development_only()) {
    if (listener.has_tls()) {
      return absl::InvalidArgumentError(
          "listener: 'tls' and 'plaintext_development_only' may not both be configured");
    }
    out.plaintext = true;
    out.verify = false;
    out.decisions.push_back(absl::StrCat(
        "!!! PLAINTEXT listener on ", out.listen,
        " (plaintext_development_only): no TLS, no client authentication. Development only !!!"));
    return out;
  }
  if (!listener.has_tls()) {
    return absl::InvalidArgumentError(
        "listener: a 'tls' map is required (or 'plaintext_development_only' for development)");
  }
  const config::v1::TlsMap& tls = listener.tls();
  if (tls.insecure()) {
    return TlsError("'insecure' applies only to outgoing connections and is not accepted on a listener");
  }
  if (tls.verify_and_map()) {
    return TlsError(
        "'verify_and_map' cannot be honoured by a gRPC listener; Sigil authorizes callers by their "
        "certificate principals instead");
  }
  if (tls.verify_cert_and_check_known_urls()) {
    return TlsError("'verify_cert_and_check_known_urls' cannot be honoured by a gRPC listener");
  }
  if (tls.cert_file().empty()) return TlsError("'cert_file' is required");
  if (tls.key_file().empty()) return TlsError("'key_file' is required");

  auto cert_pem = ReadFileToString(tls.cert_file());
  if (!cert_pem.ok()) return TlsError(absl::StrCat("cert_file: ", cert_pem.status().message()));
  auto certs = ParsePemCertificates(*cert_pem, "cert_file");
  if (!certs.ok()) return TlsError(certs.status().message());
  auto key_pem = ReadFileToString(tls.key_file());
  if (!key_pem.ok()) return TlsError(absl::StrCat("key_file: ", key_pem.status().message()));
  auto key = ParsePemPrivateKey(*key_pem, "key_file");
  if (!key.ok()) return TlsError(key.status().message());
  if (X509_check_private_key((*certs)[0].get(), key->get()) != 1) {
    ClearOpenSslErrors();
    return TlsError("'key_file' does not match the certificate in 'cert_file'");
  }
  out.cert_chain_pem = *std::move(cert_pem);
  out.key_pem = *std::move(key_pem);
  out.decisions.push_back(absl::StrCat("TLS listener on ", out.listen, " presents ",
                                       NameToString(X509_get_subject_name((*certs)[0].get()))));

  out.verify = tls.has_verify() ? tls.verify() : true;
  if (out.verify) {
    std::string ca_path = tls.ca_file();
    if (ca_path.empty()) {
      ca_path = X509_get_default_cert_file();
      out.client_ca_source = absl::StrCat("system trust store ", ca_path);
    } else {
      out.client_ca_source = absl::StrCat("ca_file ", ca_path);
    }
    auto ca_pem = ReadFileToString(ca_path);
    if (!ca_pem.ok()) return TlsError(absl::StrCat("ca_file: ", ca_pem.status().message()));
    auto cas = ParsePemCertificates(*ca_pem, "ca_file");
    if (!cas.ok()) return TlsError(cas.status().message());
    out.client_ca_pem = *std::move(ca_pem);
    out.decisions.push_back(absl::StrCat("TLS verify: client certificates required, verified against ",
                                         out.client_ca_source));
  } else {
    out.decisions.push_back(
        "TLS verify is false: client certificates are not requested; callers are not authenticated");
  }

  if (tls.has_timeout()) {
    if (!(tls.timeout() > 0) || tls.timeout() > 3600) {
      return TlsError("'timeout' must be a positive number of seconds (at most 3600)");
    }
    out.handshake_timeout = absl::Seconds(tls.timeout());
  }
  out.decisions.push_back(
      absl::StrCat("TLS handshake timeout ", absl::FormatDuration(out.handshake_timeout)));

  for (const std::string& pin : tls.pinned_certs()) {
    if (!IsHexSha256(pin)) {
      return TlsError(absl::StrCat("pinned_certs entry '", pin,
                                   "' is not a hex SHA-256 of a public key (64 hex digits)"));
    }
    out.pinned_spki_sha256.push_back(absl::AsciiStrToLower(pin));
  }
  if (!out.pinned_spki_sha256.empty()) {
    if (!out.verify) {
      return TlsError("'pinned_certs' needs 'verify': client certificates must be requested to be pinned");
    }
    out.decisions.push_back(
        absl::StrCat("TLS pinned_certs: ", out.pinned_spki_sha256.size(), " client key(s) allowed"));
  }

  if (tls.cipher_suites_size() > 0) {
    SIGIL_ASSIGN_OR_RETURN(
        out.tls12_cipher_list,
        CipherSuitesToOpenSsl({tls.cipher_suites().begin(), tls.cipher_suites().end()}));
    out.decisions.push_back(absl::StrCat("TLS 1.2 cipher suites: ", out.tls12_cipher_list,
                                         " (TLS 1.3 suites: all three)"));
  }
  if (tls.curve_preferences_size() > 0) {
    bool has_p256 = false;
    for (const std::string& curve : tls.curve_preferences()) {
      bool known = false;
      for (const char* k : kKnownCurves) known |= (curve == k);
      if (!known) {
        return TlsError(absl::StrCat("curve_preferences: unknown curve '", curve,
                                     "' (CurveP256, CurveP384, CurveP521, X25519)"));
      }
      has_p256 |= (curve == "CurveP256");
    }
    if (!has_p256) {
      return TlsError(
          "curve_preferences cannot be honoured: gRPC 1.51 listeners negotiate P-256 (CurveP256) only; "
          "the list must contain CurveP256");
    }
    out.decisions.push_back("TLS curve_preferences: key exchange uses P-256 (gRPC 1.51 offers no other)");
  }
  return out;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ListenerOptions& options) {
  if (options.plaintext) return grpc::InsecureServerCredentials();
  if (!options.tls12_cipher_list.empty()) {
    // gRPC 1.51 exposes no per-credential cipher list; it reads this variable once, process-wide.
    setenv("GRPC_SSL_CIPHER_SUITES", options.tls12_cipher_list.c_str(), /*overwrite=*/1);
  }
  grpc::experimental::IdentityKeyCertPair pair;
  pair.private_key = options.key_pem;
  pair.certificate_chain = options.cert_chain_pem;
  auto provider = std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
      options.verify ? options.client_ca_pem : std::string(),
      std::vector<grpc::experimental::IdentityKeyCertPair>{pair});
  grpc::experimental::TlsServerCredentialsOptions tls_options(provider);
  tls_options.watch_identity_key_cert_pairs();
  if (options.verify) {
    tls_options.watch_root_certs();
    tls_options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    tls_options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  if (!options.pinned_spki_sha256.empty()) {
    tls_options.set_certificate_verifier(
        grpc::experimental::ExternalCertificateVerifier::Create<PinnedCertVerifier>(
            options.pinned_spki_sha256));
  }
  auto creds = grpc::experimental::TlsServerCredentials(tls_options);
  if (creds == nullptr) return absl::InternalError("gRPC refused the TLS server credentials");
  return creds;
}

void ApplyListenerArgs(const ListenerOptions& options, grpc::ServerBuilder* builder) {
  builder->AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                              static_cast<int>(absl::ToInt64Milliseconds(options.handshake_timeout)));
}

}  // namespace sigil
