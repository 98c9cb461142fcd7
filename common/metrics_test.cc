#include "common/metrics.h"

#include <future>
#include <memory>
#include <string>

#include "common/metrics_test_util.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace sigil {
namespace {

using ::sigil::testing::SampleValue;
using ::sigil::testing::ScrapeMetrics;

absl::StatusOr<MetricsOptions> Validate(const std::string& listen) {
  config::v1::Metrics metrics;
  metrics.set_listen(listen);
  return ValidateMetrics(metrics);
}

TEST(ValidateMetricsTest, EmptyMeansDisabled) {
  auto options = Validate("");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_FALSE(options->enabled());
}

TEST(ValidateMetricsTest, AcceptsIpv4AndPort) {
  for (const char* listen : {"127.0.0.1:0", "0.0.0.0:9090", "10.1.2.3:65535"}) {
    auto options = Validate(listen);
    ASSERT_TRUE(options.ok()) << listen << ": " << options.status();
    EXPECT_TRUE(options->enabled());
    EXPECT_EQ(options->listen, listen);
  }
}

TEST(ValidateMetricsTest, RefusesEverythingElseWithTheExactMessage) {
  for (const char* listen : {"9090", ":9090", "localhost:9090", "[::1]:9090", "127.0.0.1:", "127.0.0.1:65536",
                             "127.0.0.1:-1", "127.0.0.1:90x", "127.0.0.1:9090s"}) {
    auto options = Validate(listen);
    ASSERT_FALSE(options.ok()) << listen;
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(options.status().message(),
              absl::StrCat("metrics: 'listen' must be <IPv4 address>:<port>, got [", listen, "]"));
  }
}

// A plaintext server with gRPC's built-in health service and the interceptor recording into `registry`.
struct HealthServer {
  explicit HealthServer(prometheus::Registry& registry) {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
    interceptors.push_back(std::make_unique<MetricsInterceptorFactory>(registry));
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
    server = builder.BuildAndStart();
    channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  }
  ~HealthServer() { server->Shutdown(); }

  grpc::Status Check(const std::string& service) {
    auto stub = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    return stub->Check(&context, request, &response);
  }

  int port = 0;
  std::unique_ptr<grpc::Server> server;
  std::shared_ptr<grpc::Channel> channel;
};

// The registry's text exposition, as a scrape would see it.
std::string Exposition(prometheus::Registry& registry) {
  auto collectable = std::shared_ptr<prometheus::Collectable>(&registry, [](prometheus::Collectable*) {});
  auto server = MetricsServer::Start(*Validate("127.0.0.1:0"), {collectable});
  if (!server.ok()) return std::string(server.status().message());
  auto text = ScrapeMetrics((*server)->port());
  return text.ok() ? *text : std::string(text.status().message());
}

TEST(MetricsInterceptorTest, CountsEachRpcByMethodAndCode) {
  prometheus::Registry registry;
  HealthServer server(registry);
  ASSERT_NE(server.server, nullptr);
  ASSERT_TRUE(server.Check("").ok());
  ASSERT_TRUE(server.Check("").ok());
  grpc::Status missing = server.Check("no.such.Service");
  ASSERT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);

  const std::string text = Exposition(registry);
  EXPECT_EQ(SampleValue(text, "sigil_grpc_server_handled_total",
                        {{"method", "grpc.health.v1.Health/Check"}, {"code", "OK"}}),
            2)
      << text;
  EXPECT_EQ(SampleValue(text, "sigil_grpc_server_handled_total",
                        {{"method", "grpc.health.v1.Health/Check"}, {"code", "NOT_FOUND"}}),
            1)
      << text;
  EXPECT_EQ(SampleValue(text, "sigil_grpc_server_handling_seconds_count", {{"method", "grpc.health.v1.Health/Check"}}),
            3)
      << text;
  EXPECT_EQ(SampleValue(text, "sigil_grpc_server_handling_seconds_bucket",
                        {{"method", "grpc.health.v1.Health/Check"}, {"le", "+Inf"}}),
            3)
      << text;
}

TEST(MetricsInterceptorTest, MethodsTheServerDoesNotHaveShareOneLabel) {
  prometheus::Registry registry;
  HealthServer server(registry);
  ASSERT_NE(server.server, nullptr);
  grpc::GenericStub stub(server.channel);
  for (const char* method : {"/no.Such/Method", "/another.Made.Up/Name"}) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                   [&done](grpc::Status status) { done.set_value(status); });
    EXPECT_EQ(done.get_future().get().error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }
  const std::string text = Exposition(registry);
  EXPECT_EQ(SampleValue(text, "sigil_grpc_server_handled_total", {{"method", "unknown"}, {"code", "UNIMPLEMENTED"}}),
            2)
      << text;
  EXPECT_EQ(text.find("no.Such"), std::string::npos) << text;
}

TEST(MetricsServerTest, ServesTheProcessRegistryAndScrapeCollectors) {
  prometheus::BuildCounter()
      .Name("sigil_metrics_test_total")
      .Help("test counter")
      .Register(MetricsRegistry())
      .Add({{"kind", "a"}})
      .Increment(5);
  auto collector = std::make_shared<ScrapeCollector>();
  int scrapes = 0;
  collector->Add([&scrapes] {
    ++scrapes;
    return std::vector<prometheus::MetricFamily>{
        GaugeFamily("sigil_metrics_test_gauge", "test gauge", {{{{"name", "x\"y"}}, 1.5}})};
  });
  auto server = MetricsServer::Start(*Validate("127.0.0.1:0"), {collector});
  ASSERT_TRUE(server.ok()) << server.status();
  auto text = ScrapeMetrics((*server)->port());
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(SampleValue(*text, "sigil_metrics_test_total", {{"kind", "a"}}), 5) << *text;
  EXPECT_EQ(SampleValue(*text, "sigil_metrics_test_gauge", {{"name", "x\"y"}}), 1.5) << *text;
  EXPECT_THAT(*text, ::testing::HasSubstr("# TYPE sigil_metrics_test_gauge gauge"));
  EXPECT_EQ(scrapes, 1);
}

TEST(MetricsServerTest, PortInUseIsUnavailable) {
  auto first = MetricsServer::Start(*Validate("127.0.0.1:0"));
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string listen = absl::StrCat("127.0.0.1:", (*first)->port());
  auto second = MetricsServer::Start(*Validate(listen));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(second.status().message()),
              ::testing::StartsWith(absl::StrCat("metrics: cannot listen on ", listen)));
}

TEST(MetricsServerTest, StoppedServerRefusesScrapes) {
  int port = 0;
  {
    auto server = MetricsServer::Start(*Validate("127.0.0.1:0"));
    ASSERT_TRUE(server.ok()) << server.status();
    port = (*server)->port();
    ASSERT_TRUE(ScrapeMetrics(port).ok());
  }
  EXPECT_EQ(ScrapeMetrics(port).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sigil
