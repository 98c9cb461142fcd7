// Publishes advisories through the AdvisoryBus to a real nats-server and reads them back with a libnats
// subscriber on the reference's wildcard subject.
#include "verifier/advisories/nats_publisher.h"

#include <nats/nats.h>
#include <stdlib.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/nats/nats_server.h"
#include "tests/pki/test_pki.h"
#include "verifier/advisories/advisory_bus.h"

namespace sigil::verifier::advisories {
namespace {

using ::sigil::testing::CertSpec;
using ::sigil::testing::KeySpec;
using ::sigil::testing::NatsServer;
using ::sigil::testing::SelfSigned;

struct ConnectionDeleter {
  void operator()(natsConnection* c) const { natsConnection_Destroy(c); }
};
struct SubscriptionDeleter {
  void operator()(natsSubscription* s) const { natsSubscription_Destroy(s); }
};
struct MsgDeleter {
  void operator()(natsMsg* m) const { natsMsg_Destroy(m); }
};

std::string TempDir(absl::string_view name) {
  const char* base = getenv("TEST_TMPDIR");
  return absl::StrCat(base != nullptr ? base : "/tmp", "/", name);
}

class NatsPublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = NatsServer::Start(TempDir("nats"));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    natsConnection* nc = nullptr;
    ASSERT_EQ(natsConnection_ConnectTo(&nc, server_->url().c_str()), NATS_OK);
    subscriber_.reset(nc);
    natsSubscription* sub = nullptr;
    ASSERT_EQ(natsConnection_SubscribeSync(&sub, subscriber_.get(), "$SYS.SERVER.*.OCSP.>"), NATS_OK);
    subscription_.reset(sub);
    ASSERT_EQ(natsConnection_FlushTimeout(subscriber_.get(), 5000), NATS_OK);

    CertSpec spec;
    spec.subject = {{"CN", "BadUserA1"}};
    auto cert = SelfSigned(spec, KeySpec::Ec());
    ASSERT_TRUE(cert.ok()) << cert.status();
    auto info = DescribeCertificate(cert->CertDer());
    ASSERT_TRUE(info.ok());
    peer_ = *info;
  }

  // The next message, or null after 5 s.
  std::unique_ptr<natsMsg, MsgDeleter> Next() {
    natsMsg* msg = nullptr;
    if (natsSubscription_NextMsg(&msg, subscription_.get(), 5000) != NATS_OK) return nullptr;
    return std::unique_ptr<natsMsg, MsgDeleter>(msg);
  }

  std::unique_ptr<NatsServer> server_;
  std::unique_ptr<natsConnection, ConnectionDeleter> subscriber_;
  std::unique_ptr<natsSubscription, SubscriptionDeleter> subscription_;
  CertInfo peer_;
};

TEST_F(NatsPublisherTest, SubscriberReceivesLinkInvalidThenRejectWithExactJson) {
  NatsPublisherOptions options;
  options.url = server_->url();
  options.server_id = "VERIFIERD1";
  auto publisher = NatsPublisher::Create(options);
  ASSERT_TRUE(publisher.ok()) << publisher.status();
  NatsPublisher* nats = publisher->get();
  std::vector<std::unique_ptr<AdvisoryPublisher>> publishers;
  publishers.push_back(std::make_unique<LogPublisher>());
  publishers.push_back(*std::move(publisher));
  auto bus = AdvisoryBus::Create({}, std::move(publishers));
  ASSERT_TRUE(bus.ok()) << bus.status();

  v1::ServerInfo server;
  server.set_name("edge-1");
  server.set_host("10.1.2.3");
  server.set_id("NAXQD6DG5FVZ");
  const absl::Time now = absl::Now();
  AdvisoryEvent link = BuildLinkInvalid({peer_, peer_, server, "Invalid OCSP response status: revoked", now, false});
  AdvisoryEvent reject = BuildPeerReject({peer_, "Client", server, "client not OCSP valid", now});
  const std::string link_json = link.message.json();
  const std::string reject_json = reject.message.json();
  (*bus)->Emit(std::move(link));
  (*bus)->Emit(std::move(reject));
  // An event from a server without an id goes to the configured server_id.
  v1::ServerInfo anonymous;
  anonymous.set_name("edge-2");
  (*bus)->Emit(BuildPeerReject({peer_, "Leafnode", anonymous, "server not OCSP valid", now}));

  auto first = Next();
  ASSERT_NE(first, nullptr);
  EXPECT_STREQ(natsMsg_GetSubject(first.get()), "$SYS.SERVER.NAXQD6DG5FVZ.OCSP.PEER.LINK.INVALID");
  EXPECT_EQ(std::string(natsMsg_GetData(first.get()), natsMsg_GetDataLength(first.get())), link_json);
  auto second = Next();
  ASSERT_NE(second, nullptr);
  EXPECT_STREQ(natsMsg_GetSubject(second.get()), "$SYS.SERVER.NAXQD6DG5FVZ.OCSP.PEER.CONN.REJECT");
  EXPECT_EQ(std::string(natsMsg_GetData(second.get()), natsMsg_GetDataLength(second.get())), reject_json);
  auto third = Next();
  ASSERT_NE(third, nullptr);
  EXPECT_STREQ(natsMsg_GetSubject(third.get()), "$SYS.SERVER.VERIFIERD1.OCSP.PEER.CONN.REJECT");
  (*bus)->Flush();
  EXPECT_EQ(nats->published(), 3u);
  EXPECT_EQ(nats->failures(), 0u);
}

TEST(NatsPublisherStartTest, AbsentServerNeitherFailsStartNorBlocksEmit) {
  // Nothing listens on port 1 of 127.0.0.1 for an unprivileged test; libnats keeps retrying in the
  // background and buffers.
  NatsPublisherOptions options;
  options.url = "nats://127.0.0.1:1";
  options.server_id = "VERIFIERD1";
  const absl::Time start = absl::Now();
  auto publisher = NatsPublisher::Create(options);
  ASSERT_TRUE(publisher.ok()) << publisher.status();
  std::vector<std::unique_ptr<AdvisoryPublisher>> publishers;
  publishers.push_back(*std::move(publisher));
  auto bus = AdvisoryBus::Create({}, std::move(publishers));
  ASSERT_TRUE(bus.ok());
  CertSpec spec;
  spec.subject = {{"CN", "x"}};
  auto cert = SelfSigned(spec, KeySpec::Ec());
  ASSERT_TRUE(cert.ok());
  auto info = DescribeCertificate(cert->CertDer());
  ASSERT_TRUE(info.ok());
  for (int i = 0; i < 100; ++i) (*bus)->Emit(BuildPeerReject({*info, "Client", {}, "client not OCSP valid", absl::Now()}));
  (*bus)->Flush();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(NatsPublisherStartTest, RejectsBadOptions) {
  NatsPublisherOptions options;
  options.server_id = "x";
  EXPECT_EQ(NatsPublisher::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.url = "nats://127.0.0.1:4222";
  options.server_id = "";
  EXPECT_EQ(NatsPublisher::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.server_id = "x";
  options.creds_file = "/nonexistent/creds";
  EXPECT_EQ(NatsPublisher::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AdvisorySubjectTest, SanitizesTheServerIdToken) {
  AdvisoryEvent event;
  event.message.set_type(std::string(kLinkInvalidType));
  event.server_id = "edge 1.eu*>";
  EXPECT_EQ(AdvisorySubject(event, "d"), "$SYS.SERVER.edge_1_eu__.OCSP.PEER.LINK.INVALID");
  event.server_id = "";
  EXPECT_EQ(AdvisorySubject(event, "d"), "$SYS.SERVER.d.OCSP.PEER.LINK.INVALID");
}

}  // namespace
}  // namespace sigil::verifier::advisories
