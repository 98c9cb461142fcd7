// WatchAdvisories over a real in-process gRPC server (insecure, 127.0.0.1, OS-chosen port).
#include "verifier/advisories/watch_reactor.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "sigil/verifier/v1/verifier.grpc.pb.h"

namespace sigil::verifier::advisories {
namespace {

class WatchOnlyService final : public v1::Verifier::CallbackService {
 public:
  explicit WatchOnlyService(std::shared_ptr<AdvisoryBus> bus) : bus_(std::move(bus)) {}
  grpc::ServerWriteReactor<v1::Advisory>* WatchAdvisories(grpc::CallbackServerContext*,
                                                          const v1::WatchAdvisoriesRequest* request) override {
    return WatchAdvisoriesReactor::Start(bus_, *request, /*max_pending=*/4);
  }

 private:
  std::shared_ptr<AdvisoryBus> bus_;
};

AdvisoryEvent Event(absl::string_view type, const std::string& id) {
  AdvisoryEvent event;
  event.message.set_type(std::string(type));
  event.message.set_id(id);
  event.message.set_json(absl::StrCat("{\"id\":\"", id, "\"}"));
  return event;
}

class WatchReactorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto bus = AdvisoryBus::Create({}, {});
    ASSERT_TRUE(bus.ok());
    bus_ = *bus;
    service_ = std::make_unique<WatchOnlyService>(bus_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    stub_ = v1::Verifier::NewStub(channel_);
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }

  std::shared_ptr<AdvisoryBus> bus_;
  std::unique_ptr<WatchOnlyService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Verifier::Stub> stub_;
};

TEST_F(WatchReactorTest, StreamsFilteredEventsInOrder) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::WatchAdvisoriesRequest request;
  request.add_types(std::string(kPeerRejectType));
  std::unique_ptr<grpc::ClientReader<v1::Advisory>> reader = stub_->WatchAdvisories(&context, request);
  // Initial metadata arrives once the stream is registered with the bus.
  reader->WaitForInitialMetadata();
  v1::Advisory advisory;
  bus_->Emit(Event(kLinkInvalidType, "link-1"));  // Filtered out.
  bus_->Emit(Event(kPeerRejectType, "reject-1"));
  bus_->Emit(Event(kPeerRejectType, "reject-2"));
  ASSERT_TRUE(reader->Read(&advisory));
  EXPECT_EQ(advisory.id(), "reject-1");
  EXPECT_EQ(advisory.type(), kPeerRejectType);
  EXPECT_EQ(advisory.json(), "{\"id\":\"reject-1\"}");
  ASSERT_TRUE(reader->Read(&advisory));
  EXPECT_EQ(advisory.id(), "reject-2");
  context.TryCancel();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(WatchReactorTest, UnknownTypeIsInvalidArgument) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::WatchAdvisoriesRequest request;
  request.add_types("io.nats.server.advisory.v1.client_connect");
  auto reader = stub_->WatchAdvisories(&context, request);
  v1::Advisory advisory;
  EXPECT_FALSE(reader->Read(&advisory));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("unknown advisory type"), std::string::npos);
}

TEST_F(WatchReactorTest, ServerShutdownEndsTheStream) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto reader = stub_->WatchAdvisories(&context, v1::WatchAdvisoriesRequest());
  reader->WaitForInitialMetadata();
  bus_->Emit(Event(kLinkInvalidType, "first"));
  v1::Advisory advisory;
  ASSERT_TRUE(reader->Read(&advisory));
  EXPECT_EQ(advisory.id(), "first");
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  while (reader->Read(&advisory)) {
  }
  EXPECT_FALSE(reader->Finish().ok());
}

}  // namespace
}  // namespace sigil::verifier::advisories
