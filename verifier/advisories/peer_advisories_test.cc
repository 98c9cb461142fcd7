// Advisories end to end: PeerVerifier (against a real `openssl ocsp` responder) emits into an AdvisoryBus
// whose NatsPublisher publishes to a real nats-server; a libnats subscriber on the reference's wildcard
// subject receives the link-invalid event, then the reject, with the exact JSON fields. Also: warn-only
// emits link events marked allowed and no reject; a good peer emits nothing; WatchAdvisories-style watchers
// see the same events.
#include <nats/nats.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cache/fake_clock.h"
#include "cache/none_cache.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/nats/nats_server.h"
#include "tests/ocsp/responder_harness.h"
#include "tests/pki/mtls_pki.h"
#include "tests/pki/test_pki.h"
#include "verifier/advisories/advisory_bus.h"
#include "verifier/advisories/nats_publisher.h"
#include "verifier/peer_verifier.h"

namespace sigil::verifier::advisories {
namespace {

using ::sigil::testing::CertSpec;
using ::sigil::testing::Issued;
using ::sigil::testing::KeySpec;

Issued Must(absl::StatusOr<Issued> issued) {
  EXPECT_TRUE(issued.ok()) << issued.status();
  return *std::move(issued);
}

struct ConnectionDeleter {
  void operator()(natsConnection* c) const { natsConnection_Destroy(c); }
};
struct SubscriptionDeleter {
  void operator()(natsSubscription* s) const { natsSubscription_Destroy(s); }
};

// Keeps every event it sees (a stand-in for a WatchAdvisories stream).
class Recorder : public AdvisoryWatcher {
 public:
  void OnAdvisory(const AdvisoryEvent& event) override { events.push_back(event.message); }
  std::vector<v1::Advisory> events;  // Under the bus's lock; read after Flush.
};

class PeerAdvisoriesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(sigil::testing::MakeTestDir("peer_advisories_test"));
    auto frontend = sigil::testing::OcspFrontend::Start();
    ASSERT_TRUE(frontend.ok()) << frontend.status();
    frontend_ = frontend->release();
    CertSpec ca_spec;
    ca_spec.subject = {{"C", "US"}, {"O", "Tinghus"}, {"CN", "Intermediate CA"}};
    ca_spec.is_ca = true;
    ca_ = new Issued(Must(sigil::testing::SelfSigned(ca_spec, KeySpec::Ec())));
    CertSpec leaf;
    leaf.subject = {{"C", "US"}, {"O", "Tinghus"}, {"CN", "BadUserA1"}};
    leaf.ocsp_urls = {frontend_->url()};
    revoked_ = new Issued(Must(sigil::testing::IssueCert(leaf, KeySpec::Ec(), *ca_)));
    leaf.subject = {{"C", "US"}, {"O", "Tinghus"}, {"CN", "UserA1"}};
    good_ = new Issued(Must(sigil::testing::IssueCert(leaf, KeySpec::Ec(), *ca_)));
    sigil::testing::OpenSslResponderSpec spec;
    spec.index_file = *dir_ + "/index.txt";
    spec.ca_file = *dir_ + "/ca.pem";
    spec.signer_cert_file = *dir_ + "/ca.pem";
    spec.signer_key_file = *dir_ + "/ca.key";
    spec.log_file = *dir_ + "/responder.log";
    ASSERT_TRUE(sigil::testing::WriteFile(spec.index_file,
                                          sigil::testing::OpenSslIndexLine(good_->cert.get(), 'V', 0) +
                                              sigil::testing::OpenSslIndexLine(revoked_->cert.get(), 'R',
                                                                               sigil::testing::NowUnix() - 3600))
                    .ok());
    ASSERT_TRUE(sigil::testing::WriteFile(spec.ca_file, ca_->CertPem()).ok());
    ASSERT_TRUE(sigil::testing::WriteFile(spec.signer_key_file, ca_->KeyPem()).ok());
    auto responder = sigil::testing::OpenSslResponder::Start(spec);
    ASSERT_TRUE(responder.ok()) << responder.status();
    responder_ = responder->release();
    frontend_->SetBackendPort(responder_->port());
    auto nats = sigil::testing::NatsServer::Start(*dir_ + "/nats");
    ASSERT_TRUE(nats.ok()) << nats.status();
    nats_ = nats->release();
  }
  static void TearDownTestSuite() {
    delete frontend_;
    delete responder_;
    delete nats_;
    delete ca_;
    delete revoked_;
    delete good_;
    delete dir_;
  }

  void SetUp() override {
    natsConnection* nc = nullptr;
    ASSERT_EQ(natsConnection_ConnectTo(&nc, nats_->url().c_str()), NATS_OK);
    subscriber_.reset(nc);
    natsSubscription* sub = nullptr;
    ASSERT_EQ(natsConnection_SubscribeSync(&sub, subscriber_.get(), "$SYS.SERVER.*.OCSP.>"), NATS_OK);
    subscription_.reset(sub);
    ASSERT_EQ(natsConnection_FlushTimeout(subscriber_.get(), 5000), NATS_OK);

    NatsPublisherOptions nats_options;
    nats_options.url = nats_->url();
    nats_options.server_id = "VERIFIERD";
    auto publisher = NatsPublisher::Create(nats_options);
    ASSERT_TRUE(publisher.ok()) << publisher.status();
    std::vector<std::unique_ptr<AdvisoryPublisher>> publishers;
    publishers.push_back(std::make_unique<LogPublisher>());
    publishers.push_back(*std::move(publisher));
    auto bus = AdvisoryBus::Create({}, std::move(publishers));
    ASSERT_TRUE(bus.ok());
    bus_ = *bus;
    bus_->AddWatcher(&recorder_);

    OcspPeerOptions strict;
    strict.verify = true;
    OcspPeerOptions warn = strict;
    warn.warn_only = true;
    auto verifier = PeerVerifier::Create({{"default", strict}, {"warn", warn}}, std::make_shared<cache::NoneOcspCache>(),
                                         *ocsp::CurlHttpFetcher::Create(),
                                         std::make_shared<cache::FakeClock>(absl::Now()), bus_);
    ASSERT_TRUE(verifier.ok()) << verifier.status();
    verifier_ = *std::move(verifier);
  }
  void TearDown() override {
    if (bus_ != nullptr) bus_->RemoveWatcher(&recorder_);
  }

  v1::VerifyPeerRequest Request(const Issued& leaf, const std::string& profile = "") {
    v1::VerifyPeerRequest request;
    request.set_peer_role(v1::CLIENT);
    request.set_kind("Client");
    request.set_profile(profile);
    v1::Chain* chain = request.add_chains();
    chain->add_certificates(leaf.CertDer());
    chain->add_certificates(ca_->CertDer());
    request.mutable_server()->set_name("edge-1");
    request.mutable_server()->set_host("10.1.2.3");
    request.mutable_server()->set_id("NEDGE1");
    return request;
  }

  // The next NATS message as (subject, parsed JSON); fails the test after 5 s.
  std::pair<std::string, google::protobuf::Struct> Next() {
    natsMsg* msg = nullptr;
    EXPECT_EQ(natsSubscription_NextMsg(&msg, subscription_.get(), 5000), NATS_OK);
    if (msg == nullptr) return {};
    std::string subject = natsMsg_GetSubject(msg);
    std::string data(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
    natsMsg_Destroy(msg);
    google::protobuf::Struct json;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(data, &json).ok()) << data;
    last_raw_ = data;
    return {subject, json};
  }

  static std::vector<std::string> Keys(const std::string& json) {
    // Top-level keys in order (the writer never nests strings with '":' in a way that matters here: keys
    // of nested objects are skipped by depth).
    std::vector<std::string> keys;
    int depth = 0;
    bool in_string = false;
    std::string current;
    for (size_t i = 0; i < json.size(); ++i) {
      char c = json[i];
      if (in_string) {
        if (c == '\\') {
          current += json[++i];
        } else if (c == '"') {
          in_string = false;
          if (depth == 1 && i + 1 < json.size() && json[i + 1] == ':') keys.push_back(current);
        } else {
          current += c;
        }
        continue;
      }
      if (c == '"') in_string = true, current.clear();
      if (c == '{') ++depth;
      if (c == '}') --depth;
    }
    return keys;
  }

  static void ExpectCert(const google::protobuf::Struct& cert, const Issued& issued) {
    const auto& f = cert.fields();
    EXPECT_EQ(f.at("subject").string_value(), NameToString(X509_get_subject_name(issued.cert.get())));
    EXPECT_EQ(f.at("issuer").string_value(), "CN=Intermediate CA,O=Tinghus,C=US");
    EXPECT_EQ(f.at("fingerprint").string_value(), cache::CacheKey(issued.CertDer()));
    EXPECT_EQ(f.at("raw").string_value(), absl::Base64Escape(issued.CertDer()));
    EXPECT_EQ(f.size(), 4u);
  }

  static std::string* dir_;
  static sigil::testing::OcspFrontend* frontend_;
  static sigil::testing::OpenSslResponder* responder_;
  static sigil::testing::NatsServer* nats_;
  static Issued* ca_;
  static Issued* revoked_;
  static Issued* good_;

  std::unique_ptr<natsConnection, ConnectionDeleter> subscriber_;
  std::unique_ptr<natsSubscription, SubscriptionDeleter> subscription_;
  std::shared_ptr<AdvisoryBus> bus_;
  Recorder recorder_;
  std::unique_ptr<PeerVerifier> verifier_;
  std::string last_raw_;
};

std::string* PeerAdvisoriesTest::dir_ = nullptr;
sigil::testing::OcspFrontend* PeerAdvisoriesTest::frontend_ = nullptr;
sigil::testing::OpenSslResponder* PeerAdvisoriesTest::responder_ = nullptr;
sigil::testing::NatsServer* PeerAdvisoriesTest::nats_ = nullptr;
Issued* PeerAdvisoriesTest::ca_ = nullptr;
Issued* PeerAdvisoriesTest::revoked_ = nullptr;
Issued* PeerAdvisoriesTest::good_ = nullptr;

TEST_F(PeerAdvisoriesTest, RejectedPeerPublishesLinkInvalidThenRejectOnNats) {
  auto verdict = verifier_->Verify(Request(*revoked_));
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_FALSE(verdict->allowed());

  auto [link_subject, link] = Next();
  const std::string link_raw = last_raw_;
  EXPECT_EQ(link_subject, "$SYS.SERVER.NEDGE1.OCSP.PEER.LINK.INVALID");
  EXPECT_EQ(Keys(link_raw), (std::vector<std::string>{"type", "id", "timestamp", "link", "peer", "server", "reason"}))
      << link_raw;
  const auto& lf = link.fields();
  EXPECT_EQ(lf.at("type").string_value(), "io.nats.server.advisory.v1.ocsp_peer_link_invalid");
  EXPECT_EQ(lf.at("id").string_value().size(), 22u);
  EXPECT_EQ(lf.at("reason").string_value(), "Invalid OCSP response status: revoked");
  ExpectCert(lf.at("link").struct_value(), *revoked_);
  ExpectCert(lf.at("peer").struct_value(), *revoked_);
  const auto& server = lf.at("server").struct_value().fields();
  EXPECT_EQ(server.at("name").string_value(), "edge-1");
  EXPECT_EQ(server.at("host").string_value(), "10.1.2.3");
  EXPECT_EQ(server.at("id").string_value(), "NEDGE1");

  auto [reject_subject, reject] = Next();
  const std::string reject_raw = last_raw_;
  EXPECT_EQ(reject_subject, "$SYS.SERVER.NEDGE1.OCSP.PEER.CONN.REJECT");
  EXPECT_EQ(Keys(reject_raw),
            (std::vector<std::string>{"type", "id", "timestamp", "kind", "peer", "server", "reason"}))
      << reject_raw;
  const auto& rf = reject.fields();
  EXPECT_EQ(rf.at("type").string_value(), "io.nats.server.advisory.v1.ocsp_peer_reject");
  EXPECT_EQ(rf.at("kind").string_value(), "Client");
  EXPECT_EQ(rf.at("reason").string_value(), "client not OCSP valid");
  ExpectCert(rf.at("peer").struct_value(), *revoked_);
  EXPECT_NE(rf.at("id").string_value(), lf.at("id").string_value());

  bus_->Flush();
  ASSERT_EQ(recorder_.events.size(), 2u);
  EXPECT_EQ(recorder_.events[0].json(), link_raw);
  EXPECT_EQ(recorder_.events[1].json(), reject_raw);
}

TEST_F(PeerAdvisoriesTest, WarnOnlyEmitsLinkEventMarkedAllowedAndNoReject) {
  auto verdict = verifier_->Verify(Request(*revoked_, "warn"));
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_TRUE(verdict->allowed());
  auto [subject, link] = Next();
  EXPECT_EQ(subject, "$SYS.SERVER.NEDGE1.OCSP.PEER.LINK.INVALID");
  EXPECT_TRUE(link.fields().at("allowed").bool_value());
  bus_->Flush();
  EXPECT_EQ(recorder_.events.size(), 1u) << "no reject event for a peer warn_only let through";
}

TEST_F(PeerAdvisoriesTest, GoodPeerEmitsNothingAndCallerFillsServer) {
  auto verdict = verifier_->Verify(Request(*good_));
  ASSERT_TRUE(verdict.ok());
  EXPECT_TRUE(verdict->allowed());
  bus_->Flush();
  EXPECT_TRUE(recorder_.events.empty());
  // Without request.server, the caller's identity describes the asking server.
  v1::VerifyPeerRequest request = Request(*revoked_);
  request.clear_server();
  v1::ServerInfo caller;
  caller.set_name("edge-2.sigil.test");
  ASSERT_TRUE(verifier_->Verify(request, caller).ok());
  auto [subject, link] = Next();
  EXPECT_EQ(subject, "$SYS.SERVER.VERIFIERD.OCSP.PEER.LINK.INVALID") << "no id: the configured server_id";
  EXPECT_EQ(link.fields().at("server").struct_value().fields().at("name").string_value(), "edge-2.sigil.test");
}

}  // namespace
}  // namespace sigil::verifier::advisories
