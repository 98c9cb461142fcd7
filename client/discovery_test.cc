// Replica discovery against a real DNS server: dnsmasq (Debian's dnsmasq-base, run unprivileged-style on a free
// 127.0.0.1 port with only the records each test gives it) serves SRV and A records the way Kubernetes DNS does
// for a headless Service. Checks ResolveSrv's answers and errors, VerifierClient dialling replicas by their SRV
// names over mutual TLS (the replicas' certificates carry only those names), and the background refresh following
// records as dnsmasq is restarted with others, keeping the replicas it has when DNS fails.
#include "client/discovery.h"

#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/verifier_client.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/pki/test_pki.h"
#include "tests/process/process.h"

namespace sigil::client {
namespace {

using ::sigil::testing::CertSpec;
using ::sigil::testing::Issued;
using ::sigil::testing::KeySpec;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

template <typename T>
T Must(absl::StatusOr<T> value) {
  EXPECT_TRUE(value.ok()) << value.status();
  return *std::move(value);
}

// A port nothing listens on now (UDP and TCP), for dnsmasq, which cannot report a port it chose itself.
int FreeDnsPort() {
  for (int attempt = 0; attempt < 20; ++attempt) {
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    bind(udp, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    getsockname(udp, reinterpret_cast<sockaddr*>(&address), &length);
    int tcp = socket(AF_INET, SOCK_STREAM, 0);
    bool free = bind(tcp, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    close(tcp);
    close(udp);
    if (free) return ntohs(address.sin_port);
  }
  ADD_FAILURE() << "no free port for dnsmasq";
  return 0;
}

// dnsmasq answering only `records` (dnsmasq options such as --srv-host=..., --host-record=...) on 127.0.0.1:port.
class Dnsmasq {
 public:
  Dnsmasq() : port_(FreeDnsPort()) {}

  // (Re)starts dnsmasq on the same port with these records.
  void Start(const std::vector<std::string>& records) {
    process_.reset();
    std::vector<std::string> argv = {"/usr/sbin/dnsmasq", "--keep-in-foreground", "--log-facility=-",
                                     absl::StrCat("--port=", port_), "--listen-address=127.0.0.1",
                                     "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                                     "--pid-file=", "--cache-size=0"};
    // dnsmasq started as root switches to "nobody"; tell it to stay who it is.
    if (const passwd* self = getpwuid(geteuid()); self != nullptr) argv.push_back(absl::StrCat("--user=", self->pw_name));
    argv.insert(argv.end(), records.begin(), records.end());
    // The previous instance's sockets may take a moment to go; dnsmasq exits at once when it cannot bind.
    for (int attempt = 0; attempt < 50; ++attempt) {
      process_ = Must(testing::Process::Spawn(argv));
      if (process_->WaitForLog(std::regex("started, version"), absl::Seconds(10)).ok()) return;
      absl::SleepFor(absl::Milliseconds(100));
    }
    FAIL() << "dnsmasq did not start: " << process_->Log();
  }
  void Stop() { process_.reset(); }

  std::string server() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  const int port_;
  std::unique_ptr<testing::Process> process_;
};

// A replica that answers VerifyPeer with its own name as the reason.
class NamedVerifier final : public v1::Verifier::Service {
 public:
  explicit NamedVerifier(std::string name) : name_(std::move(name)) {}
  grpc::Status VerifyPeer(grpc::ServerContext*, const v1::VerifyPeerRequest*,
                          v1::VerifyPeerResponse* response) override {
    response->set_allowed(true);
    response->set_reason(name_);
    return grpc::Status::OK;
  }

 private:
  const std::string name_;
};

struct Replica {
  std::unique_ptr<NamedVerifier> service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

class DiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CertSpec ca_spec;
    ca_spec.subject = {{"CN", "discovery test CA"}};
    ca_spec.is_ca = true;
    ca_ = Must(testing::SelfSigned(ca_spec, KeySpec::Ec()));
    // Like deploy/'s verifierd certificate: the replicas' names under the headless Service, no IP.
    CertSpec server_spec;
    server_spec.subject = {{"CN", "verifierd"}};
    server_spec.dns_sans = {"*.verifierd-headless.test"};
    server_spec.extended_key_usages = {"serverAuth"};
    server_ = Must(testing::IssueCert(server_spec, KeySpec::Ec(), ca_));
    CertSpec client_spec;
    client_spec.subject = {{"CN", "fleet-server"}};
    client_spec.extended_key_usages = {"clientAuth"};
    client_ = Must(testing::IssueCert(client_spec, KeySpec::Ec(), ca_));
    dir_ = testing::TempDir();
    ASSERT_TRUE(testing::WriteFile(dir_ + "/ca.pem", ca_.CertPem()).ok());
    ASSERT_TRUE(testing::WriteFile(dir_ + "/client.pem", client_.CertPem()).ok());
    ASSERT_TRUE(testing::WriteFile(dir_ + "/client.key", client_.KeyPem()).ok());
  }

  // A replica on 127.0.0.1 with mTLS, named `name` in its answers.
  Replica StartReplica(const std::string& name) {
    Replica replica;
    replica.service = std::make_unique<NamedVerifier>(name);
    grpc::SslServerCredentialsOptions tls(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    tls.pem_root_certs = ca_.CertPem();
    tls.pem_key_cert_pairs.push_back({server_.KeyPem(), server_.CertPem()});
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(tls), &replica.port);
    builder.RegisterService(replica.service.get());
    replica.server = builder.BuildAndStart();
    EXPECT_NE(replica.server, nullptr);
    return replica;
  }

  VerifierClientOptions SrvOptions() const {
    VerifierClientOptions options;
    options.srv_name = "_grpc._tcp.verifierd-headless.test";
    options.dns_server = dns_.server();
    options.channel.ca_file = dir_ + "/ca.pem";
    options.channel.cert_file = dir_ + "/client.pem";
    options.channel.key_file = dir_ + "/client.key";
    return options;
  }

  Issued ca_, server_, client_;
  std::string dir_;
  Dnsmasq dns_;
};

// The SRV and A records Kubernetes DNS would publish for these replicas of a headless Service.
std::vector<std::string> ServiceRecords(const std::vector<std::pair<std::string, int>>& replicas) {
  std::vector<std::string> records;
  for (const auto& [name, port] : replicas) {
    records.push_back(absl::StrCat("--srv-host=_grpc._tcp.verifierd-headless.test,", name, ".verifierd-headless.test,",
                                   port));
    records.push_back(absl::StrCat("--host-record=", name, ".verifierd-headless.test,127.0.0.1"));
  }
  return records;
}

v1::VerifyPeerRequest Request(const std::string& leaf) {
  v1::VerifyPeerRequest request;
  request.set_peer_role(v1::CLIENT);
  request.add_chains()->add_certificates(leaf);
  return request;
}

TEST_F(DiscoveryTest, SrvRecordsAreTheReplicasByName) {
  dns_.Start(ServiceRecords({{"verifierd-1", 7445}, {"verifierd-0", 7444}}));
  auto endpoints = ResolveSrv("_grpc._tcp.verifierd-headless.test", dns_.server());
  ASSERT_TRUE(endpoints.ok()) << endpoints.status();
  EXPECT_THAT(*endpoints, ElementsAre("verifierd-0.verifierd-headless.test:7444",
                                      "verifierd-1.verifierd-headless.test:7445"));
}

TEST_F(DiscoveryTest, SrvLookupErrors) {
  // RFC 2782's "." target: the service is not offered, so no replica.
  dns_.Start({"--srv-host=_grpc._tcp.verifierd-headless.test"});
  auto none = ResolveSrv("_grpc._tcp.verifierd-headless.test", dns_.server());
  EXPECT_EQ(none.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(none.status().message(), HasSubstr("no usable SRV record"));
  auto unknown = ResolveSrv("_grpc._tcp.no-such-service.test", dns_.server());
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(unknown.status().message(), HasSubstr("SRV lookup of _grpc._tcp.no-such-service.test failed"));
  EXPECT_EQ(ResolveSrv("", dns_.server()).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveSrv("_grpc._tcp.x.test", "dns.example:53").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveSrv("_grpc._tcp.x.test", "127.0.0.1").status().code(), absl::StatusCode::kInvalidArgument);
  dns_.Stop();
  EXPECT_EQ(ResolveSrv("_grpc._tcp.verifierd-headless.test", dns_.server()).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(DiscoveryTest, AddressRecordsIncludeIpv6) {
  EXPECT_THAT(Must(ResolveAddresses("localhost:7444")), ElementsAre("127.0.0.1:7444"));
  EXPECT_THAT(Must(ResolveAddresses("[::1]:7444")), ElementsAre("[::1]:7444"));
  EXPECT_EQ(ResolveAddresses("localhost").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveAddresses("localhost:0").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveAddresses("[]:7444").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveAddresses("no-such-host.invalid:7444").status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(DiscoveryTest, ClientDialsSrvReplicasByNameOverMutualTls) {
  Replica r0 = StartReplica("verifierd-0");
  Replica r1 = StartReplica("verifierd-1");
  dns_.Start(ServiceRecords({{"verifierd-0", r0.port}, {"verifierd-1", r1.port}}));
  auto client = VerifierClient::Create(SrvOptions());
  ASSERT_TRUE(client.ok()) << client.status();
  const std::string n0 = absl::StrCat("verifierd-0.verifierd-headless.test:", r0.port);
  const std::string n1 = absl::StrCat("verifierd-1.verifierd-headless.test:", r1.port);
  EXPECT_THAT((*client)->Endpoints(), ::testing::UnorderedElementsAre(n0, n1));
  // Each certificate goes to the replica the ring names for it, and both replicas get some.
  std::set<std::string> answered_by;
  for (int i = 0; i < 20; ++i) {
    const std::string leaf = absl::StrCat("leaf-", i);
    auto verdict = (*client)->VerifyPeer(Request(leaf));
    ASSERT_TRUE(verdict.ok()) << verdict.status();
    const std::string owner = (*client)->ReplicasFor(leaf)[0];
    EXPECT_EQ(owner, verdict->reason() == "verifierd-0" ? n0 : n1) << leaf;
    answered_by.insert(verdict->reason());
  }
  EXPECT_THAT(answered_by, ::testing::UnorderedElementsAre("verifierd-0", "verifierd-1"));
}

TEST_F(DiscoveryTest, ReplicaNameTheCertificateDoesNotCarryFailsTls) {
  Replica r0 = StartReplica("verifierd-0");
  // The SRV target is outside *.verifierd-headless.test: the handshake must refuse it.
  dns_.Start({absl::StrCat("--srv-host=_grpc._tcp.verifierd-headless.test,verifierd-0.elsewhere.test,", r0.port),
              "--host-record=verifierd-0.elsewhere.test,127.0.0.1"});
  VerifierClientOptions options = SrvOptions();
  options.timeout = absl::Seconds(2);
  auto client = VerifierClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  auto verdict = (*client)->VerifyPeer(Request("leaf"));
  EXPECT_EQ(verdict.status().code(), absl::StatusCode::kUnavailable) << verdict.status();
}

TEST_F(DiscoveryTest, BackgroundRefreshFollowsTheRecordsAndKeepsReplicasWhenDnsFails) {
  Replica r0 = StartReplica("verifierd-0");
  Replica r1 = StartReplica("verifierd-1");
  const std::string n0 = absl::StrCat("verifierd-0.verifierd-headless.test:", r0.port);
  const std::string n1 = absl::StrCat("verifierd-1.verifierd-headless.test:", r1.port);
  dns_.Start(ServiceRecords({{"verifierd-0", r0.port}}));
  VerifierClientOptions options = SrvOptions();
  options.refresh_interval = absl::Milliseconds(100);
  auto client = VerifierClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_THAT((*client)->Endpoints(), ElementsAre(n0));

  auto wait_for = [&](auto done) {
    absl::Time give_up = absl::Now() + absl::Seconds(20);
    while (!done() && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(50));
    return done();
  };
  // Scale out: the new replica joins without any call from us.
  dns_.Start(ServiceRecords({{"verifierd-0", r0.port}, {"verifierd-1", r1.port}}));
  EXPECT_TRUE(wait_for([&] { return (*client)->Endpoints().size() == 2; }));
  EXPECT_THAT((*client)->Endpoints(), ElementsAre(n0, n1));
  // Scale in: verifierd-0 leaves.
  dns_.Start(ServiceRecords({{"verifierd-1", r1.port}}));
  EXPECT_TRUE(wait_for([&] { return (*client)->Endpoints() == std::vector<std::string>{n1}; }));
  auto before = (*client)->VerifyPeer(Request("leaf"));
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->reason(), "verifierd-1");
  // DNS answering no replica, then not answering at all: the replicas stay (and their connections with them),
  // the failure is reported.
  dns_.Start({"--srv-host=_grpc._tcp.verifierd-headless.test"});
  EXPECT_TRUE(wait_for([&] { return !(*client)->LastRefreshStatus().ok(); }));
  EXPECT_THAT((*client)->LastRefreshStatus().message(), HasSubstr("no usable SRV record"));
  dns_.Stop();
  EXPECT_TRUE(wait_for([&] {
    return (*client)->LastRefreshStatus().message().find("failed") != absl::string_view::npos;
  })) << (*client)->LastRefreshStatus();
  EXPECT_THAT((*client)->Endpoints(), ElementsAre(n1));
  auto verdict = (*client)->VerifyPeer(Request("leaf"));
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_EQ(verdict->reason(), "verifierd-1");
}

TEST_F(DiscoveryTest, CreateChecksTheDiscoveryOptions) {
  VerifierClientOptions two = SrvOptions();
  two.endpoints = {"127.0.0.1:1"};
  EXPECT_EQ(VerifierClient::Create(two).status().code(), absl::StatusCode::kInvalidArgument);
  VerifierClientOptions bad_server = SrvOptions();
  bad_server.dns_server = "resolver.example:53";
  EXPECT_EQ(VerifierClient::Create(bad_server).status().code(), absl::StatusCode::kInvalidArgument);
  VerifierClientOptions negative = SrvOptions();
  negative.refresh_interval = absl::Seconds(-1);
  EXPECT_EQ(VerifierClient::Create(negative).status().code(), absl::StatusCode::kInvalidArgument);
  // No DNS server answering: nothing to start from, a caller may retry.
  EXPECT_EQ(VerifierClient::Create(SrvOptions()).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sigil::client
