// A small TLS echo server that uses all three Sigil client features: its private key can live in signerd (the
// `sigil` OpenSSL provider, OSSL_STORE URI `sigil:identity=NAME`), client certificates are checked against OCSP by
// verifierd (InstallPeerVerification), and it staples its own OCSP response from verifierd (InstallStapling).
// See README.md next to this file. One thread per connection; each line a client sends comes back; a line "bye"
// is answered and then the connection is closed.
//
// Logs (stderr): "echo_server listening on ADDR (port N)", "Server is ready", then one line per handshake.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <openssl/store.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/tls_hooks.h"
#include "client/verifier_client.h"
#include "common/logging.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "address:port to listen on (IPv4)");
ABSL_FLAG(std::string, cert, "", "PEM certificate chain of this server (leaf first)");
ABSL_FLAG(std::string, key, "", "PEM private key file (local key mode); or use --key_uri");
ABSL_FLAG(std::string, key_uri, "", "OSSL_STORE URI of the key, e.g. sigil:identity=dev-ecdsa (remote key)");
ABSL_FLAG(std::string, provider_path, "", "directory holding sigil.so (for --key_uri); empty = OpenSSL's default");
ABSL_FLAG(std::string, client_ca, "", "PEM CA bundle client certificates must chain to (mTLS); empty = no mTLS");
ABSL_FLAG(std::string, verifier, "", "verifierd replicas host:port[,host:port...] (enables peer verification)");
ABSL_FLAG(std::string, verifier_srv, "",
          "or the SRV name of verifierd's headless Service, e.g. "
          "_grpc._tcp.verifierd-headless.sigil.svc.cluster.local");
ABSL_FLAG(std::string, verifier_service, "", "or a headless Service name:port whose addresses are the replicas");
ABSL_FLAG(std::string, verifier_dns_server, "", "a.b.c.d:port of the DNS server for --verifier_srv (default: system)");
ABSL_FLAG(std::string, verifier_server_name, "",
          "name verifierd's certificate must carry when dialled by IP (needed with --verifier_service)");
ABSL_FLAG(std::string, verifier_ca, "", "PEM CA bundle verifierd's certificate must chain to");
ABSL_FLAG(std::string, verifier_cert, "", "PEM client certificate for mTLS to verifierd");
ABSL_FLAG(std::string, verifier_key, "", "PEM client key for mTLS to verifierd");
ABSL_FLAG(std::string, profile, "", "verifierd profile for peer checks and staples");
ABSL_FLAG(bool, staple, false, "staple this server's OCSP response from verifierd");
ABSL_FLAG(bool, allow_when_verifier_unavailable, false, "admit clients when verifierd cannot be asked");
ABSL_FLAG(int, max_connections, 64, "connections served at once; more are closed at once");

namespace sigil::examples {
namespace {

using SslPtr = std::unique_ptr<SSL, decltype(&SSL_free)>;
using StoreCtxPtr = std::unique_ptr<OSSL_STORE_CTX, decltype(&OSSL_STORE_close)>;
using StoreInfoPtr = std::unique_ptr<OSSL_STORE_INFO, decltype(&OSSL_STORE_INFO_free)>;

// OpenSSL's error queue as text (and cleared), for log lines.
std::string OpenSslErrors() {
  std::string out;
  unsigned long e;
  const char* data = nullptr;
  int flags = 0;
  while ((e = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    absl::StrAppend(&out, out.empty() ? "" : "; ", buf);
    // The detail a provider attached (the sigil provider: the failed RPC's status; never key material).
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && data[0] != '\0') absl::StrAppend(&out, " (", data, ")");
  }
  return out.empty() ? "no OpenSSL error" : out;
}

// Loads the key from an OSSL_STORE URI through the `sigil` provider (loaded with OpenSSL's `default` for
// everything else). The key object only refers to the identity in signerd; signing happens there.
absl::StatusOr<EvpPkeyPtr> LoadRemoteKey(const std::string& uri, const std::string& provider_path) {
  if (!provider_path.empty() && OSSL_PROVIDER_set_default_search_path(nullptr, provider_path.c_str()) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "OSSL_PROVIDER_set_default_search_path");
  }
  // Loaded once for the process lifetime (never unloaded: keys refer to it).
  if (OSSL_PROVIDER_load(nullptr, "sigil") == nullptr) {
    return OpenSslError(absl::StatusCode::kFailedPrecondition, "loading the sigil provider");
  }
  if (OSSL_PROVIDER_load(nullptr, "default") == nullptr) {
    return OpenSslError(absl::StatusCode::kFailedPrecondition, "loading the default provider");
  }
  StoreCtxPtr store(OSSL_STORE_open(uri.c_str(), nullptr, nullptr, nullptr, nullptr), &OSSL_STORE_close);
  if (store == nullptr) return OpenSslError(absl::StatusCode::kNotFound, absl::StrCat("OSSL_STORE_open ", uri));
  while (!OSSL_STORE_eof(store.get())) {
    StoreInfoPtr info(OSSL_STORE_load(store.get()), &OSSL_STORE_INFO_free);
    if (info == nullptr) continue;
    if (OSSL_STORE_INFO_get_type(info.get()) == OSSL_STORE_INFO_PKEY) {
      return EvpPkeyPtr(OSSL_STORE_INFO_get1_PKEY(info.get()));
    }
  }
  return OpenSslError(absl::StatusCode::kNotFound, absl::StrCat("no key at ", uri));
}

absl::StatusOr<SslCtxPtr> MakeContext() {
  SslCtxPtr ctx(SSL_CTX_new_ex(nullptr, nullptr, TLS_server_method()));
  if (ctx == nullptr) return OpenSslError(absl::StatusCode::kInternal, "SSL_CTX_new_ex");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  const std::string cert = absl::GetFlag(FLAGS_cert);
  if (cert.empty()) return absl::InvalidArgumentError("--cert is required");
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, absl::StrCat("--cert ", cert));
  }
  const std::string key = absl::GetFlag(FLAGS_key);
  const std::string key_uri = absl::GetFlag(FLAGS_key_uri);
  if (key.empty() == key_uri.empty()) return absl::InvalidArgumentError("give exactly one of --key and --key_uri");
  if (!key.empty()) {
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1) {
      return OpenSslError(absl::StatusCode::kInvalidArgument, absl::StrCat("--key ", key));
    }
  } else {
    SIGIL_ASSIGN_OR_RETURN(EvpPkeyPtr remote, LoadRemoteKey(key_uri, absl::GetFlag(FLAGS_provider_path)));
    if (SSL_CTX_use_PrivateKey(ctx.get(), remote.get()) != 1) {
      return OpenSslError(absl::StatusCode::kInvalidArgument, absl::StrCat("--key_uri ", key_uri));
    }
  }
  const std::string client_ca = absl::GetFlag(FLAGS_client_ca);
  if (!client_ca.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), client_ca.c_str(), nullptr) != 1) {
      return OpenSslError(absl::StatusCode::kInvalidArgument, absl::StrCat("--client_ca ", client_ca));
    }
    SSL_CTX_set_client_CA_list(ctx.get(), SSL_load_client_CA_file(client_ca.c_str()));
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }

  const std::string verifier = absl::GetFlag(FLAGS_verifier);
  const std::string srv = absl::GetFlag(FLAGS_verifier_srv);
  const std::string service = absl::GetFlag(FLAGS_verifier_service);
  if (verifier.empty() && srv.empty() && service.empty()) return ctx;
  client::VerifierClientOptions options;
  if (!verifier.empty()) options.endpoints = absl::StrSplit(verifier, ',', absl::SkipEmpty());
  options.srv_name = srv;
  options.service = service;
  options.dns_server = absl::GetFlag(FLAGS_verifier_dns_server);
  options.channel.server_name_override = absl::GetFlag(FLAGS_verifier_server_name);
  options.channel.ca_file = absl::GetFlag(FLAGS_verifier_ca);
  options.channel.cert_file = absl::GetFlag(FLAGS_verifier_cert);
  options.channel.key_file = absl::GetFlag(FLAGS_verifier_key);
  SIGIL_ASSIGN_OR_RETURN(std::unique_ptr<client::VerifierClient> made, client::VerifierClient::Create(options));
  std::shared_ptr<const client::VerifierClient> verifier_client = std::move(made);

  // ---- The lines a server adds (README.md) ----
  if (!client_ca.empty()) {
    client::PeerVerificationOptions peer;
    peer.profile = absl::GetFlag(FLAGS_profile);
    peer.allow_when_verifier_unavailable = absl::GetFlag(FLAGS_allow_when_verifier_unavailable);
    peer.on_check = [](const client::PeerCheck& check) {
      if (!check.status.ok()) {
        LogWarning(absl::StrCat("peer [", check.subject, "] not checked: ", check.status.ToString(),
                                check.accepted ? " (admitted)" : " (refused)"));
      } else {
        LogInfo(absl::StrCat("peer [", check.subject, "] ", check.accepted ? "accepted" : "rejected",
                             check.verdict.reason().empty() ? "" : ": ", check.verdict.reason()));
      }
    };
    SIGIL_RETURN_IF_ERROR(client::InstallPeerVerification(ctx.get(), verifier_client, peer));
  }
  if (absl::GetFlag(FLAGS_staple)) {
    client::StaplingOptions staple;
    staple.profile = absl::GetFlag(FLAGS_profile);
    staple.on_refresh = [](const absl::StatusOr<client::v1::GetStapleResponse>& answer) {
      if (!answer.ok()) LogWarning(absl::StrCat("staple refresh failed: ", answer.status().ToString()));
    };
    SIGIL_RETURN_IF_ERROR(client::InstallStapling(ctx.get(), verifier_client, staple));
  }
  // ---- end ----
  return ctx;
}

void Serve(SSL_CTX* ctx, int fd, std::atomic<int>* active) {
  SslPtr ssl(SSL_new(ctx), &SSL_free);
  if (ssl == nullptr || SSL_set_fd(ssl.get(), fd) != 1) {
    close(fd);
    --*active;
    return;
  }
  if (SSL_accept(ssl.get()) != 1) {
    long verify = SSL_get_verify_result(ssl.get());
    LogWarning(absl::StrCat("handshake failed: ", OpenSslErrors(),
                            verify != X509_V_OK ? absl::StrCat(" (verify: ", X509_verify_cert_error_string(verify), ")")
                                                : ""));
  } else {
    LogInfo(absl::StrCat("handshake ok: ", SSL_get_version(ssl.get())));
    std::string pending;
    char buf[4096];
    bool done = false;
    while (!done) {
      int n = SSL_read(ssl.get(), buf, sizeof(buf));
      if (n <= 0) break;
      pending.append(buf, n);
      size_t eol;
      while ((eol = pending.find('\n')) != std::string::npos) {
        std::string line = pending.substr(0, eol + 1);
        pending.erase(0, eol + 1);
        if (SSL_write(ssl.get(), line.data(), static_cast<int>(line.size())) <= 0) done = true;
        if (line == "bye\n" || line == "bye\r\n") done = true;
        if (done) break;
      }
      if (pending.size() > 65536) break;  // a line longer than 64 KiB: give up on this client
    }
    SSL_shutdown(ssl.get());
  }
  ERR_clear_error();
  close(fd);
  --*active;
}

absl::Status Run() {
  SIGIL_ASSIGN_OR_RETURN(SslCtxPtr ctx, MakeContext());
  const std::string listen_on = absl::GetFlag(FLAGS_listen);
  std::vector<std::string> parts = absl::StrSplit(listen_on, ':');
  int port = 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (parts.size() != 2 || inet_pton(AF_INET, parts[0].c_str(), &addr.sin_addr) != 1 ||
      !absl::SimpleAtoi(parts[1], &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("--listen ", listen_on, ": expected IPv4:port"));
  }
  addr.sin_port = htons(static_cast<uint16_t>(port));
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listener, 64) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen_on));
  }
  socklen_t len = sizeof(addr);
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  LogInfo(absl::StrCat("echo_server listening on ", listen_on, " (port ", ntohs(addr.sin_port), ")"));
  LogInfo("Server is ready");
  std::atomic<int> active{0};
  const int max_connections = absl::GetFlag(FLAGS_max_connections);
  while (true) {
    int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    if (active.load() >= max_connections) {
      close(fd);
      continue;
    }
    ++active;
    std::thread(&Serve, ctx.get(), fd, &active).detach();
  }
}

}  // namespace
}  // namespace sigil::examples

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("echo_server --cert CHAIN.pem (--key KEY.pem | --key_uri sigil:identity=NAME) ...");
  absl::ParseCommandLine(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  absl::Status status = sigil::examples::Run();
  sigil::LogError(absl::StrCat("echo_server cannot start: ", status.ToString()));
  return 1;
}
