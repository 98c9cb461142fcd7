// tls_bench: full TLS handshakes per second against a TLS line-echo server (client/examples/echo_server).
// Each of --threads threads loops: TCP connect, a fresh TLS handshake (no session resumption) with the client
// certificate chain, the line "bye", the server's echo of it (so the server has finished the handshake, its
// client-certificate checks included, before it counts), close. Prints one JSON line (loadgen's shape):
// calls_per_s = handshakes per second, latency per connection. Exit status 1 on any failed connection.
//
// Why not `openssl s_time`: it closes right after its side of the handshake, so a server that checks the
// client certificate after the client's Finished (TLS 1.3) is not waited for, and it cannot send "bye".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

ABSL_FLAG(std::string, connect, "", "IPv4 host:port of the TLS echo server");
ABSL_FLAG(std::string, cert, "", "PEM client certificate chain (leaf first); empty = no client certificate");
ABSL_FLAG(std::string, key, "", "PEM client key");
ABSL_FLAG(int, threads, 4, "connections in flight at once (one per thread)");
ABSL_FLAG(double, duration, 10, "seconds measured");
ABSL_FLAG(double, warmup, 2, "seconds before measuring");
ABSL_FLAG(std::string, tls, "1.3", "TLS version: 1.2 or 1.3");
ABSL_FLAG(std::string, label, "", "label copied into the JSON line");

namespace {

using SslCtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;
using SslPtr = std::unique_ptr<SSL, decltype(&SSL_free)>;

struct Totals {
  absl::Mutex mu;
  std::vector<double> latencies_us ABSL_GUARDED_BY(mu);
  int64_t errors ABSL_GUARDED_BY(mu) = 0;
  std::string first_error ABSL_GUARDED_BY(mu);
};

std::string OpenSslErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    absl::StrAppend(&out, out.empty() ? "" : "; ", buf);
  }
  return out.empty() ? "closed" : out;
}

// One connection: handshake, "bye", its echo. Empty on success, else what failed.
std::string OneConnection(SSL_CTX* ctx, const sockaddr_in& addr) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "socket";
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "connect";
  }
  SslPtr ssl(SSL_new(ctx), &SSL_free);
  std::string error;
  if (ssl == nullptr || SSL_set_fd(ssl.get(), fd) != 1) {
    error = "SSL_new";
  } else if (SSL_connect(ssl.get()) != 1) {
    error = absl::StrCat("handshake: ", OpenSslErrors());
  } else if (SSL_write(ssl.get(), "bye\n", 4) != 4) {
    error = absl::StrCat("write: ", OpenSslErrors());
  } else {
    std::string got;
    char buf[64];
    while (got.find('\n') == std::string::npos) {
      int n = SSL_read(ssl.get(), buf, sizeof(buf));
      if (n <= 0) break;
      got.append(buf, n);
    }
    if (got != "bye\n") error = absl::StrCat("no echo (", OpenSslErrors(), ")");
    SSL_shutdown(ssl.get());
  }
  ERR_clear_error();
  close(fd);
  return error;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("tls_bench --connect 127.0.0.1:PORT --cert CHAIN.pem --key KEY.pem");
  absl::ParseCommandLine(argc, argv);
  std::vector<std::string> parts = absl::StrSplit(absl::GetFlag(FLAGS_connect), ':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  int port = 0;
  if (parts.size() != 2 || inet_pton(AF_INET, parts[0].c_str(), &addr.sin_addr) != 1 ||
      !absl::SimpleAtoi(parts[1], &port) || port <= 0 || port > 65535) {
    fprintf(stderr, "tls_bench: --connect must be IPv4:port\n");
    return 2;
  }
  addr.sin_port = htons(static_cast<uint16_t>(port));

  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
  const int version = absl::GetFlag(FLAGS_tls) == "1.2" ? TLS1_2_VERSION : TLS1_3_VERSION;
  SSL_CTX_set_min_proto_version(ctx.get(), version);
  SSL_CTX_set_max_proto_version(ctx.get(), version);
  // Every connection a full handshake: no session cache, no tickets.
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  // The server's certificate is not what is measured here (the example server's is checked by the e2e test).
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  const std::string cert = absl::GetFlag(FLAGS_cert);
  const std::string key = absl::GetFlag(FLAGS_key);
  if (!cert.empty() && (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1 ||
                        SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1)) {
    fprintf(stderr, "tls_bench: cannot load %s / key: %s\n", cert.c_str(), OpenSslErrors().c_str());
    return 2;
  }

  Totals totals;
  std::atomic<bool> measuring{false}, stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < absl::GetFlag(FLAGS_threads); ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        const absl::Time begin = absl::Now();
        std::string error = OneConnection(ctx.get(), addr);
        const double us = absl::ToDoubleMicroseconds(absl::Now() - begin);
        if (!measuring.load() || stop.load()) continue;
        absl::MutexLock lock(&totals.mu);
        if (error.empty()) {
          totals.latencies_us.push_back(us);
        } else if (totals.errors++ == 0) {
          totals.first_error = error;
        }
      }
    });
  }
  absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_warmup)));
  measuring = true;
  const absl::Time start = absl::Now();
  absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_duration)));
  stop = true;
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  for (std::thread& t : threads) t.join();

  absl::MutexLock lock(&totals.mu);
  std::vector<double>& l = totals.latencies_us;
  std::sort(l.begin(), l.end());
  auto pct = [&](double p) { return l.empty() ? 0.0 : l[std::min(l.size() - 1, static_cast<size_t>(p * l.size()))]; };
  printf("{\"label\":\"%s\",\"rpc\":\"tls_handshake\",\"target\":\"%s\",\"threads\":%d,\"tls\":\"%s\","
         "\"duration_s\":%.3f,"
         "\"calls\":%zu,\"errors\":%lld,\"calls_per_s\":%.1f,\"items_per_s\":%.1f,"
         "\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f}%s}\n",
         absl::GetFlag(FLAGS_label).c_str(), absl::GetFlag(FLAGS_connect).c_str(), absl::GetFlag(FLAGS_threads),
         absl::GetFlag(FLAGS_tls).c_str(), seconds, l.size(), static_cast<long long>(totals.errors),
         l.size() / seconds, l.size() / seconds, pct(0.5), pct(0.9), pct(0.99), pct(0.999), l.empty() ? 0.0 : l.back(),
         totals.errors == 0 ? "" : absl::StrCat(",\"first_error\":\"", totals.first_error, "\"").c_str());
  return totals.errors == 0 && !l.empty() ? 0 : 1;
}
