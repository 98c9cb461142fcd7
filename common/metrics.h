// Prometheus metrics for Sigil's daemons (prometheus-cpp from Debian).
//
// Components record into one process-wide registry (MetricsRegistry()): counters and histograms are cheap
// and always recorded, whether or not anything exposes them. Values that already live in a component
// (cache statistics, staple ages, dropped advisories) are read at scrape time through ScrapeCollector
// callbacks instead of being copied into gauges.
//
// MetricsServer exposes the registry and the collectors as GET /metrics (text exposition format) on a plain
// HTTP listener (civetweb, through prometheus::Exposer). It is off unless the daemon's `metrics.listen` is
// set. The endpoint has no TLS and no authentication: bind it to the pod network and protect it with a
// NetworkPolicy. Nothing secret is ever put in a label (no PINs, keys, digests or peer certificates).
//
// MetricsInterceptorFactory is a gRPC server interceptor that records, for every RPC of every service on a
// server, sigil_grpc_server_handled_total{method,code} and sigil_grpc_server_handling_seconds{method}, so
// services need no code of their own for RPC metrics.
//
// Thread-safety: everything here may be used from any thread.
#ifndef SIGIL_COMMON_METRICS_H_
#define SIGIL_COMMON_METRICS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/server_interceptor.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"
#include "sigil/config/v1/tls.pb.h"

namespace sigil {

// The process-wide registry components record into. Families are registered once (a function-local static
// per family is the usual pattern); registering the same name with the same help again returns the same
// family.
prometheus::Registry& MetricsRegistry();

// Bucket upper bounds in seconds for latencies from 100 µs to 10 s (RPCs, signatures, OCSP fetches).
const prometheus::Histogram::BucketBoundaries& LatencyBuckets();

// Produces metric families at scrape time. A callback must be quick (it runs on the HTTP thread while the
// scraper waits), must not block on a token or the network, and may be called concurrently with anything.
using ScrapeCallback = std::function<std::vector<prometheus::MetricFamily>()>;

// A Collectable made of scrape-time callbacks. What a callback reads must outlive the MetricsServer that
// exposes this collector (declare the server after those objects, so it is destroyed first).
class ScrapeCollector final : public prometheus::Collectable {
 public:
  void Add(ScrapeCallback callback) ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<prometheus::MetricFamily> Collect() const override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // Guards members below.
  mutable absl::Mutex mu_;
  std::vector<ScrapeCallback> callbacks_ ABSL_GUARDED_BY(mu_);
};

// One sample of a scrape-time family: label pairs and a value.
struct Sample {
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};
// A gauge (or counter) family for a ScrapeCallback.
prometheus::MetricFamily GaugeFamily(std::string name, std::string help, const std::vector<Sample>& samples);
prometheus::MetricFamily CounterFamily(std::string name, std::string help, const std::vector<Sample>& samples);

// The validated `metrics` config: empty listen = no endpoint.
struct MetricsOptions {
  // "<IPv4 address>:<port>"; port 0 lets the OS choose.
  std::string listen;
  bool enabled() const { return !listen.empty(); }
};

// INVALID_ARGUMENT "metrics: 'listen' must be <IPv4 address>:<port>, got [<value>]" when listen is set
// but not an IPv4 address and a port 0..65535 (Debian's civetweb is built without IPv6, and civetweb
// does not resolve host names).
absl::StatusOr<MetricsOptions> ValidateMetrics(const config::v1::Metrics& metrics);

// The HTTP endpoint serving GET /metrics: MetricsRegistry() and `collectors`.
class MetricsServer {
 public:
  // Starts listening on options.listen (must be enabled). UNAVAILABLE "metrics: cannot listen on <listen>:
  // <civetweb's reason>" when the address cannot be bound. `collectors` are kept alive by the server.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const MetricsOptions& options, std::vector<std::shared_ptr<prometheus::Collectable>> collectors = {});
  // Stops the HTTP listener (waits for scrapes in progress).
  ~MetricsServer();

  // The bound port.
  int port() const { return port_; }

 private:
  MetricsServer(std::unique_ptr<prometheus::Exposer> exposer,
                std::vector<std::shared_ptr<prometheus::Collectable>> collectables, int port)
      : exposer_(std::move(exposer)), collectables_(std::move(collectables)), port_(port) {}

  std::unique_ptr<prometheus::Exposer> exposer_;
  // What the exposer holds weakly: the registry (a non-owning shared_ptr) and the collectors.
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  const int port_;
};

// Records every RPC on a server it is installed on (grpc::ServerBuilder::experimental()
// .SetInterceptorCreators, or the `interceptors` argument of common/grpc_server.h):
//   sigil_grpc_server_handled_total{method="sigil.signer.v1.Signer/Sign",code="OK"}   counter
//   sigil_grpc_server_handling_seconds{method="..."}                                   histogram
// `method` is the full method name without its leading '/', `code` the gRPC status code name ("OK",
// "NOT_FOUND", ...). Time runs from the interceptor's creation (the call's arrival) to the status being
// sent; a call that ends without a status (the client went away) counts as CANCELLED. Records into
// `registry` (MetricsRegistry() by default; tests pass their own).
class MetricsInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(prometheus::Registry& registry = MetricsRegistry());
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override;

 private:
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& seconds_;
};

// The interceptor factories a daemon installs: one MetricsInterceptorFactory recording into
// MetricsRegistry().
std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> MetricsInterceptors();

}  // namespace sigil

#endif  // SIGIL_COMMON_METRICS_H_
