// Finding verifierd replicas in DNS: a Kubernetes headless Service's SRV records (stable replica names) or its
// address records (replica IPs).
//
// verifierd runs as a StatefulSet behind a headless Service (deploy/base/verifierd.yaml). Kubernetes DNS publishes
// one SRV record per ready replica for each named port of such a Service,
//   _grpc._tcp.verifierd-headless.sigil.svc.cluster.local.  SRV  0 N 7444
//       verifierd-0.verifierd-headless.sigil.svc.cluster.local.
// whose target is the replica's stable name. Routing by those names (ResolveSrv) keeps a certificate on the same
// replica, and so on that replica's persistent OCSP cache, across restarts that change the pod's IP, and the names
// are what the replicas' certificates carry. The Service's A/AAAA records (ResolveAddresses) list the same replicas
// by IP, which changes with every restart and needs a server-name override for TLS; it remains for clusters whose
// DNS publishes no SRV records.
//
// Both are blocking lookups meant for start-up and a background refresh, never for a handshake thread. Thread-safe:
// each call uses its own resolver state.
#ifndef SIGIL_CLIENT_DISCOVERY_H_
#define SIGIL_CLIENT_DISCOVERY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sigil::client {

// At most this many replicas are accepted from one lookup (a bound on what a DNS answer may make us dial).
inline constexpr size_t kMaxDiscoveredReplicas = 256;

// Resolves "name:port" (or "[v6-literal]:port") to one endpoint per address, "a.b.c.d:port" for IPv4 and
// "[v6]:port" for IPv6, sorted, through the system resolver (getaddrinfo: /etc/hosts, then DNS).
// INVALID_ARGUMENT when there is no valid ":port"; UNAVAILABLE when the name does not resolve (callers may retry);
// FAILED_PRECONDITION for more than kMaxDiscoveredReplicas addresses.
absl::StatusOr<std::vector<std::string>> ResolveAddresses(absl::string_view name_and_port);

// Looks up the SRV records of `srv_name` (e.g. "_grpc._tcp.verifierd-headless.sigil.svc.cluster.local") and
// returns one "target:port" per record, sorted and de-duplicated (targets without the trailing dot; priority and
// weight are ignored: every target is a replica). `dns_server` is "a.b.c.d:port" of the DNS server to ask; empty =
// the servers in /etc/resolv.conf. INVALID_ARGUMENT for an empty name or a malformed dns_server; UNAVAILABLE when
// the lookup fails (no such name, no SRV records, server unreachable) or the answer cannot be parsed;
// FAILED_PRECONDITION for more than kMaxDiscoveredReplicas records.
absl::StatusOr<std::vector<std::string>> ResolveSrv(absl::string_view srv_name, absl::string_view dns_server = "");

// Checks "a.b.c.d:port" (port 1..65535). INVALID_ARGUMENT naming the problem otherwise.
absl::Status ValidateDnsServer(absl::string_view dns_server);

}  // namespace sigil::client

#endif  // SIGIL_CLIENT_DISCOVERY_H_
