#include "client/discovery.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sys/socket.h>

#include <memory>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sigil::client {
namespace {

absl::Status ParsePort(absl::string_view text, absl::string_view whole, int* port) {
  if (!absl::SimpleAtoi(text, port) || *port <= 0 || *port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("\"", whole, "\" is not name:port"));
  }
  return absl::OkStatus();
}

// Splits "host:port" / "[v6]:port".
absl::Status SplitHostPort(absl::string_view whole, std::string* host, int* port) {
  size_t colon = whole.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(absl::StrCat("\"", whole, "\" is not name:port"));
  }
  absl::string_view name = whole.substr(0, colon);
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat("\"", whole, "\" is not name:port"));
  *host = std::string(name);
  return ParsePort(whole.substr(colon + 1), whole, port);
}

absl::StatusOr<sockaddr_in> ParseDnsServer(absl::string_view dns_server) {
  std::string host;
  int port = 0;
  absl::Status split = SplitHostPort(dns_server, &host, &port);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  if (!split.ok() || inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("dns_server \"", dns_server, "\" is not a.b.c.d:port"));
  }
  address.sin_port = htons(static_cast<uint16_t>(port));
  return address;
}

// The resolver state of one lookup, closed on every path.
class ResolverState {
 public:
  ResolverState() = default;
  ResolverState(const ResolverState&) = delete;
  ResolverState& operator=(const ResolverState&) = delete;
  ~ResolverState() {
    if (initialised_) res_nclose(&state_);
  }

  absl::Status Init(absl::string_view dns_server) {
    if (res_ninit(&state_) != 0) return absl::UnavailableError("cannot initialise the DNS resolver");
    initialised_ = true;
    if (!dns_server.empty()) {
      absl::StatusOr<sockaddr_in> server = ParseDnsServer(dns_server);
      if (!server.ok()) return server.status();
      // glibc honours an application's own server list set after res_ninit (the resolv.conf one is replaced).
      state_.nscount = 1;
      state_.nsaddr_list[0] = *server;
    }
    return absl::OkStatus();
  }

  res_state get() { return &state_; }

 private:
  struct __res_state state_ {};
  bool initialised_ = false;
};

}  // namespace

absl::Status ValidateDnsServer(absl::string_view dns_server) { return ParseDnsServer(dns_server).status(); }

absl::StatusOr<std::vector<std::string>> ResolveAddresses(absl::string_view name_and_port) {
  std::string host;
  int port = 0;
  if (absl::Status split = SplitHostPort(name_and_port, &host, &port); !split.ok()) return split;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &raw);
  if (rc != 0) return absl::UnavailableError(absl::StrCat("cannot resolve ", host, ": ", gai_strerror(rc)));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> result(raw, &freeaddrinfo);
  std::set<std::string> out;
  for (addrinfo* ai = result.get(); ai != nullptr; ai = ai->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    if (ai->ai_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(ai->ai_addr);
      if (inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text)) != nullptr) out.insert(absl::StrCat(text, ":", port));
    } else if (ai->ai_family == AF_INET6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(ai->ai_addr);
      if (inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text)) != nullptr) {
        out.insert(absl::StrCat("[", text, "]:", port));
      }
    }
  }
  if (out.empty()) return absl::UnavailableError(absl::StrCat(host, " has no IPv4 or IPv6 address"));
  if (out.size() > kMaxDiscoveredReplicas) {
    return absl::FailedPreconditionError(
        absl::StrCat(host, " has ", out.size(), " addresses; at most ", kMaxDiscoveredReplicas, " are accepted"));
  }
  return std::vector<std::string>(out.begin(), out.end());
}

absl::StatusOr<std::vector<std::string>> ResolveSrv(absl::string_view srv_name, absl::string_view dns_server) {
  if (srv_name.empty()) return absl::InvalidArgumentError("SRV name is empty");
  ResolverState resolver;
  if (absl::Status init = resolver.Init(dns_server); !init.ok()) return init;
  const std::string name(srv_name);
  // The largest DNS message there is; glibc retries over TCP when a UDP answer is truncated.
  std::vector<unsigned char> answer(NS_MAXMSG);
  int length = res_nquery(resolver.get(), name.c_str(), ns_c_in, ns_t_srv, answer.data(),
                          static_cast<int>(answer.size()));
  if (length < 0) {
    return absl::UnavailableError(
        absl::StrCat("SRV lookup of ", name, " failed: ", hstrerror(resolver.get()->res_h_errno)));
  }
  ns_msg message;
  if (ns_initparse(answer.data(), length, &message) != 0) {
    return absl::UnavailableError(absl::StrCat("SRV answer for ", name, " cannot be parsed"));
  }
  std::set<std::string> out;
  const int count = ns_msg_count(message, ns_s_an);
  for (int i = 0; i < count; ++i) {
    ns_rr record;
    if (ns_parserr(&message, ns_s_an, i, &record) != 0) {
      return absl::UnavailableError(absl::StrCat("SRV answer for ", name, " has a malformed record"));
    }
    if (ns_rr_type(record) != ns_t_srv) continue;  // e.g. a CNAME on the way
    // RDATA: priority(2) weight(2) port(2) target(compressed name).
    const unsigned char* rdata = ns_rr_rdata(record);
    if (ns_rr_rdlen(record) < 7) {
      return absl::UnavailableError(absl::StrCat("SRV answer for ", name, " has a truncated record"));
    }
    const unsigned port = ns_get16(rdata + 4);
    char target[NS_MAXDNAME];
    if (dn_expand(ns_msg_base(message), ns_msg_end(message), rdata + 6, target, sizeof(target)) < 0) {
      return absl::UnavailableError(absl::StrCat("SRV answer for ", name, " has a malformed target"));
    }
    // RFC 2782: target "." means the service is decidedly not available there.
    if (target[0] == '\0' || (target[0] == '.' && target[1] == '\0') || port == 0) continue;
    out.insert(absl::StrCat(target, ":", port));
    if (out.size() > kMaxDiscoveredReplicas) {
      return absl::FailedPreconditionError(absl::StrCat(name, " has more than ", kMaxDiscoveredReplicas,
                                                        " SRV records; at most that many are accepted"));
    }
  }
  if (out.empty()) return absl::UnavailableError(absl::StrCat(name, " has no usable SRV record"));
  return std::vector<std::string>(out.begin(), out.end());
}

}  // namespace sigil::client
