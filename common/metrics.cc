#include "common/metrics.h"

#include <arpa/inet.h>

#include <exception>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"

namespace sigil {

prometheus::Registry& MetricsRegistry() {
  // Never destroyed: components on other threads may still record while static destructors run.
  static prometheus::Registry* registry = new prometheus::Registry();
  return *registry;
}

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries* buckets = new prometheus::Histogram::BucketBoundaries{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return *buckets;
}

void ScrapeCollector::Add(ScrapeCallback callback) {
  absl::MutexLock lock(&mu_);
  callbacks_.push_back(std::move(callback));
}

std::vector<prometheus::MetricFamily> ScrapeCollector::Collect() const {
  std::vector<ScrapeCallback> callbacks;
  {
    absl::MutexLock lock(&mu_);
    callbacks = callbacks_;
  }
  std::vector<prometheus::MetricFamily> out;
  for (const ScrapeCallback& callback : callbacks) {
    for (prometheus::MetricFamily& family : callback()) out.push_back(std::move(family));
  }
  return out;
}

namespace {

prometheus::MetricFamily Family(std::string name, std::string help, prometheus::MetricType type,
                                const std::vector<Sample>& samples) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  for (const Sample& sample : samples) {
    prometheus::ClientMetric metric;
    for (const auto& [label, value] : sample.labels) metric.label.push_back({label, value});
    if (type == prometheus::MetricType::Counter) {
      metric.counter.value = sample.value;
    } else {
      metric.gauge.value = sample.value;
    }
    family.metric.push_back(std::move(metric));
  }
  return family;
}

}  // namespace

prometheus::MetricFamily GaugeFamily(std::string name, std::string help, const std::vector<Sample>& samples) {
  return Family(std::move(name), std::move(help), prometheus::MetricType::Gauge, samples);
}

prometheus::MetricFamily CounterFamily(std::string name, std::string help, const std::vector<Sample>& samples) {
  return Family(std::move(name), std::move(help), prometheus::MetricType::Counter, samples);
}

absl::StatusOr<MetricsOptions> ValidateMetrics(const config::v1::Metrics& metrics) {
  MetricsOptions options;
  if (metrics.listen().empty()) return options;
  const std::string& listen = metrics.listen();
  auto bad = [&listen] {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics: 'listen' must be <IPv4 address>:<port>, got [", listen, "]"));
  };
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return bad();
  const std::string host = listen.substr(0, colon);
  const absl::string_view port_text = absl::string_view(listen).substr(colon + 1);
  in_addr address;
  uint32_t port = 0;
  if (inet_pton(AF_INET, host.c_str(), &address) != 1 || port_text.empty() ||
      port_text.find_first_not_of("0123456789") != absl::string_view::npos || !absl::SimpleAtoi(port_text, &port) ||
      port > 65535) {
    return bad();
  }
  options.listen = listen;
  return options;
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const MetricsOptions& options, std::vector<std::shared_ptr<prometheus::Collectable>> collectors) {
  if (!options.enabled()) return absl::InvalidArgumentError("metrics: no 'listen' address");
  std::unique_ptr<prometheus::Exposer> exposer;
  // prometheus-cpp (civetweb) reports a failed bind by throwing; this is the one place Sigil catches.
  try {
    exposer = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
        "listening_ports", options.listen,
        "num_threads", "2",
        // A scraper that stalls is cut off instead of holding one of the two threads.
        "request_timeout_ms", "10000"});
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("metrics: cannot listen on ", options.listen, ": ", e.what()));
  }
  std::vector<int> ports = exposer->GetListeningPorts();
  if (ports.empty()) return absl::UnavailableError(absl::StrCat("metrics: cannot listen on ", options.listen));
  // The registry lives for the whole process: a non-owning pointer keeps the exposer's weak_ptr alive.
  collectors.insert(collectors.begin(),
                    std::shared_ptr<prometheus::Collectable>(&MetricsRegistry(), [](prometheus::Collectable*) {}));
  for (const auto& collectable : collectors) exposer->RegisterCollectable(collectable);
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(exposer), std::move(collectors), ports[0]));
}

MetricsServer::~MetricsServer() = default;

namespace {

// Whether `method` ("package.Service/Method") is a method of a service compiled into this binary: any
// protobuf-generated service, and gRPC's built-in health service (which is not protobuf-generated).
bool KnownMethod(absl::string_view method) {
  if (method == "grpc.health.v1.Health/Check" || method == "grpc.health.v1.Health/Watch") return true;
  const size_t slash = method.find('/');
  if (slash == absl::string_view::npos) return false;
  const std::string dotted = absl::StrCat(method.substr(0, slash), ".", method.substr(slash + 1));
  return google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(dotted) != nullptr;
}

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(prometheus::Family<prometheus::Counter>& handled,
                     prometheus::Family<prometheus::Histogram>& seconds, std::string method)
      : handled_(handled), seconds_(seconds), method_(std::move(method)), start_(absl::Now()) {}

  ~MetricsInterceptor() override {
    if (!recorded_) Record(grpc::StatusCode::CANCELLED);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      Record(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Record(grpc::StatusCode code) {
    recorded_ = true;
    const std::string code_name(absl::StatusCodeToString(static_cast<absl::StatusCode>(code)));
    handled_.Add({{"method", method_}, {"code", code_name}}).Increment();
    seconds_.Add({{"method", method_}}, LatencyBuckets()).Observe(absl::ToDoubleSeconds(absl::Now() - start_));
  }

  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& seconds_;
  const std::string method_;
  const absl::Time start_;
  // Set once the status is recorded. gRPC runs a call's interceptions one batch at a time and destroys the
  // interceptor after the last, so no lock is needed.
  bool recorded_ = false;
};

}  // namespace

MetricsInterceptorFactory::MetricsInterceptorFactory(prometheus::Registry& registry)
    : handled_(prometheus::BuildCounter()
                   .Name("sigil_grpc_server_handled_total")
                   .Help("RPCs completed on the server, by full method name and gRPC status code.")
                   .Register(registry)),
      seconds_(prometheus::BuildHistogram()
                   .Name("sigil_grpc_server_handling_seconds")
                   .Help("Time from an RPC's arrival to its status being sent, by full method name.")
                   .Register(registry)) {}

grpc::experimental::Interceptor* MetricsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  absl::string_view method = info->method() == nullptr ? "" : info->method();
  if (!method.empty() && method.front() == '/') method.remove_prefix(1);
  // A call to a method the server does not have still reaches interceptors with the name the client sent:
  // only methods this binary knows become labels, so a client cannot grow the label set.
  return new MetricsInterceptor(handled_, seconds_, KnownMethod(method) ? std::string(method) : "unknown");
}

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> MetricsInterceptors() {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> out;
  out.push_back(std::make_unique<MetricsInterceptorFactory>());
  return out;
}

}  // namespace sigil
