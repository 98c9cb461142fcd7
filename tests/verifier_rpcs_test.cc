// The Verifier service's stapling and advisory RPCs over a real gRPC server (in-process, 127.0.0.1, OS-chosen
// port) with the real parts behind it: StapleManager and PeerVerifier against a real `openssl ocsp`
// responder, AdvisoryBus feeding WatchAdvisories. Checks GetStaple → VerifyStaple round trip, must-stop in
// must mode, and that a rejected VerifyPeer streams link_invalid then reject to a watcher, with the caller
// (no request.server) described by its connection.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cache/clock.h"
#include "cache/none_cache.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "sigil/verifier/v1/verifier.grpc.pb.h"
#include "tests/ocsp/responder_harness.h"
#include "tests/pki/mtls_pki.h"
#include "tests/pki/test_pki.h"
#include "verifier/advisories/advisory_bus.h"
#include "verifier/ocsp/http_fetcher.h"
#include "verifier/peer_verifier.h"
#include "verifier/stapling/staple_manager.h"
#include "verifier/verifier_service.h"

namespace sigil::verifier {
namespace {

using ::sigil::testing::CertSpec;
using ::sigil::testing::Issued;
using ::sigil::testing::KeySpec;

Issued Must(absl::StatusOr<Issued> issued) {
  EXPECT_TRUE(issued.ok()) << issued.status();
  return *std::move(issued);
}

class VerifierRpcsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = sigil::testing::MakeTestDir("verifier_rpcs_test");
    auto frontend = sigil::testing::OcspFrontend::Start();
    ASSERT_TRUE(frontend.ok()) << frontend.status();
    frontend_ = *std::move(frontend);
    CertSpec ca_spec;
    ca_spec.subject = {{"O", "Sigil Tests"}, {"CN", "RPC CA"}};
    ca_spec.is_ca = true;
    ca_ = Must(sigil::testing::SelfSigned(ca_spec, KeySpec::Ec()));
    CertSpec leaf;
    leaf.ocsp_urls = {frontend_->url()};
    leaf.must_staple = true;
    leaf.subject = {{"CN", "server.sigil.test"}};
    server_leaf_ = Must(sigil::testing::IssueCert(leaf, KeySpec::Ec(), ca_));
    leaf.subject = {{"CN", "revoked.sigil.test"}};
    revoked_ = Must(sigil::testing::IssueCert(leaf, KeySpec::Ec(), ca_));
    sigil::testing::OpenSslResponderSpec spec;
    spec.index_file = dir_ + "/index.txt";
    spec.ca_file = dir_ + "/ca.pem";
    spec.signer_cert_file = dir_ + "/ca.pem";
    spec.signer_key_file = dir_ + "/ca.key";
    spec.log_file = dir_ + "/responder.log";
    ASSERT_TRUE(sigil::testing::WriteFile(spec.index_file,
                                          sigil::testing::OpenSslIndexLine(server_leaf_.cert.get(), 'V', 0) +
                                              sigil::testing::OpenSslIndexLine(revoked_.cert.get(), 'R',
                                                                               sigil::testing::NowUnix() - 60))
                    .ok());
    ASSERT_TRUE(sigil::testing::WriteFile(spec.ca_file, ca_.CertPem()).ok());
    ASSERT_TRUE(sigil::testing::WriteFile(spec.signer_key_file, ca_.KeyPem()).ok());
    auto responder = sigil::testing::OpenSslResponder::Start(spec);
    ASSERT_TRUE(responder.ok()) << responder.status();
    responder_ = *std::move(responder);
    frontend_->SetBackendPort(responder_->port());

    auto clock = std::make_shared<const cache::SystemClock>();
    std::shared_ptr<ocsp::HttpFetcher> fetcher = *ocsp::CurlHttpFetcher::Create();
    auto bus = advisories::AdvisoryBus::Create({}, {});
    ASSERT_TRUE(bus.ok());
    bus_ = *bus;
    OcspPeerOptions peer;
    peer.verify = true;
    std::map<std::string, OcspPeerOptions> profiles = {{"default", peer}};
    auto verifier = PeerVerifier::Create(profiles, std::make_shared<cache::NoneOcspCache>(), fetcher, clock, bus_);
    ASSERT_TRUE(verifier.ok()) << verifier.status();
    peer_verifier_ = *std::move(verifier);
    stapling::StapleManagerOptions staple_options;
    staple_options.store_dir = dir_ + "/store";
    staple_options.profiles["must"] = stapling::StapleProfile{v1::MUST, ""};
    auto staples = stapling::StapleManager::Create(staple_options, fetcher, clock);
    ASSERT_TRUE(staples.ok()) << staples.status();
    staples_ = *std::move(staples);

    VerifierServiceParts parts;
    parts.peer_verifier = peer_verifier_.get();
    parts.staples = staples_.get();
    parts.staple_check_profiles = profiles;
    parts.clock = clock;
    parts.advisories = bus_;
    auto service = VerifierService::Create(std::move(parts));
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::Verifier::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    service_.reset();
  }

  static void Deadline(grpc::ClientContext* context) {
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  }

  std::string dir_;
  std::unique_ptr<sigil::testing::OcspFrontend> frontend_;
  std::unique_ptr<sigil::testing::OpenSslResponder> responder_;
  Issued ca_, server_leaf_, revoked_;
  std::shared_ptr<advisories::AdvisoryBus> bus_;
  std::unique_ptr<PeerVerifier> peer_verifier_;
  std::unique_ptr<stapling::StapleManager> staples_;
  std::unique_ptr<VerifierService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Verifier::Stub> stub_;
};

TEST_F(VerifierRpcsTest, GetStapleThenVerifyStaple) {
  grpc::ClientContext context;
  Deadline(&context);
  v1::GetStapleRequest request;
  request.add_certificates(server_leaf_.CertDer());
  request.add_certificates(ca_.CertDer());
  v1::GetStapleResponse staple;
  grpc::Status status = stub_->GetStaple(&context, request, &staple);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(staple.status(), v1::GOOD);
  ASSERT_FALSE(staple.staple().empty());
  EXPECT_GT(staple.next_refresh().seconds(), 0);

  grpc::ClientContext verify_context;
  Deadline(&verify_context);
  v1::VerifyStapleRequest verify;
  verify.set_staple(staple.staple());
  verify.add_certificates(server_leaf_.CertDer());
  verify.add_certificates(ca_.CertDer());
  v1::VerifyStapleResponse verdict;
  status = stub_->VerifyStaple(&verify_context, verify, &verdict);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(verdict.valid());
  EXPECT_EQ(verdict.status(), v1::GOOD);
}

TEST_F(VerifierRpcsTest, RevokedStapleUnderMustTellsTheServerToStop) {
  grpc::ClientContext context;
  Deadline(&context);
  v1::GetStapleRequest request;
  request.add_certificates(revoked_.CertDer());
  request.add_certificates(ca_.CertDer());
  request.set_profile("must");
  v1::GetStapleResponse staple;
  grpc::Status status = stub_->GetStaple(&context, request, &staple);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(staple.status(), v1::REVOKED);
  EXPECT_TRUE(staple.must_stop_serving());
}

TEST_F(VerifierRpcsTest, RejectedPeerStreamsLinkInvalidThenReject) {
  grpc::ClientContext watch_context;
  Deadline(&watch_context);
  auto reader = stub_->WatchAdvisories(&watch_context, v1::WatchAdvisoriesRequest());
  reader->WaitForInitialMetadata();

  grpc::ClientContext context;
  Deadline(&context);
  v1::VerifyPeerRequest request;
  request.set_peer_role(v1::CLIENT);
  request.set_kind("Client");
  v1::Chain* chain = request.add_chains();
  chain->add_certificates(revoked_.CertDer());
  chain->add_certificates(ca_.CertDer());
  v1::VerifyPeerResponse verdict;
  grpc::Status status = stub_->VerifyPeer(&context, request, &verdict);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(verdict.allowed());

  v1::Advisory first, second;
  ASSERT_TRUE(reader->Read(&first));
  ASSERT_TRUE(reader->Read(&second));
  EXPECT_EQ(first.type(), "io.nats.server.advisory.v1.ocsp_peer_link_invalid");
  EXPECT_EQ(second.type(), "io.nats.server.advisory.v1.ocsp_peer_reject");
  google::protobuf::Struct json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(second.json(), &json).ok()) << second.json();
  EXPECT_EQ(json.fields().at("reason").string_value(), "client not OCSP valid");
  // No request.server: the caller's connection describes it (plaintext here, so "anonymous").
  const auto& server = json.fields().at("server").struct_value().fields();
  EXPECT_EQ(server.at("name").string_value(), "anonymous");
  EXPECT_EQ(server.at("host").string_value(), "127.0.0.1");
  watch_context.TryCancel();
  reader->Finish();
}

}  // namespace
}  // namespace sigil::verifier
