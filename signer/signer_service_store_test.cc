// The Signer service with store-backed identities over real mTLS: signatures from a store that may block
// run on the signing pool (and a full queue is a clean RESOURCE_EXHAUSTED), and the admin
// ReloadIdentities RPC serves a rotated certificate, for admins only.
#include <openssl/evp.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/channel.h"
#include "common/grpc_server.h"
#include "common/openssl_util.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "signer/signature_scheme.h"
#include "signer/signer_service.h"
#include "signer/signing_pool.h"
#include "signer/stores/pem/pem_key_store.h"
#include "tests/pki/mtls_pki.h"

namespace sigil::signer {
namespace {

// While closed, holds every Sign until the test opens it again. It starts open: loading an identity makes
// one test signature (identity.cc proves the key matches the certificate); SetUp closes it afterwards.
class Gate {
 public:
  void Open() { Set(true); }
  void Close() { Set(false); }
  void Wait() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&open_));
  }

 private:
  void Set(bool open) {
    absl::MutexLock lock(&mu_);
    open_ = open;
  }

  absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
};

class GatedKey : public SigningKey {
 public:
  GatedKey(std::unique_ptr<SigningKey> key, Gate* gate) : key_(std::move(key)), gate_(gate) {}
  const KeyInfo& info() const override { return key_->info(); }
  absl::StatusOr<std::string> Sign(const SignatureScheme& scheme, absl::string_view digest) override {
    gate_->Wait();
    return key_->Sign(scheme, digest);
  }
  bool MayBlock() const override { return true; }

 private:
  std::unique_ptr<SigningKey> key_;
  Gate* gate_;
};

// The PEM directory store, but its keys may block (behind the gate).
class GatedStore : public KeyStore {
 public:
  GatedStore(std::unique_ptr<KeyStore> store, Gate* gate) : store_(std::move(store)), gate_(gate) {}
  absl::string_view provider() const override { return "PEM"; }
  absl::StatusOr<std::vector<StoreCertificate>> Certificates() override { return store_->Certificates(); }
  absl::StatusOr<std::vector<std::string>> CaCertificates() override { return store_->CaCertificates(); }
  absl::StatusOr<std::unique_ptr<SigningKey>> OpenKey(const StoreCertificate& certificate) override {
    auto key = store_->OpenKey(certificate);
    if (!key.ok()) return key.status();
    return std::unique_ptr<SigningKey>(new GatedKey(*std::move(key), gate_));
  }

 private:
  std::unique_ptr<KeyStore> store_;
  Gate* gate_;
};

class SignerServiceStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTestDir(
        absl::StrCat("signer_store_", ::testing::UnitTest::GetInstance()->current_test_info()->name()));
    auto pki = testing::MakeMtlsPki(dir_);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = std::make_unique<testing::MtlsPki>(*std::move(pki));
    store_dir_ = absl::StrCat(dir_, "/store");
    ASSERT_EQ(mkdir(store_dir_.c_str(), 0700), 0);
    ASSERT_TRUE(AddLeaf("gen1", testing::NowUnix() - 7200).ok());

    config::v1::SignerConfig config;
    auto* ic = config.add_identities();
    ic->set_name("gated");
    ic->set_cert_store("pem");
    ic->mutable_pem_store()->set_directory(store_dir_);
    ic->set_cert_match("gated.sigil.test");
    ic->add_allowed_principals("spiffe://sigil.test/operator");
    ic->add_allowed_principals("other-service");
    std::vector<std::string> decisions;
    Gate* gate = &gate_;
    auto identities = IdentitySet::Create(
        config,
        [gate](const config::v1::IdentityConfig& ic) -> absl::StatusOr<std::unique_ptr<KeyStore>> {
          auto store = PemKeyStore::Create(ic.pem_store());
          if (!store.ok()) return store.status();
          return std::unique_ptr<KeyStore>(new GatedStore(*std::move(store), gate));
        },
        &decisions);
    ASSERT_TRUE(identities.ok()) << identities.status();
    identities_ = *std::move(identities);
    gate_.Close();
    // One signing thread and room for one waiting signature.
    pool_ = std::make_unique<SigningPool>(1, 1);
    service_ = std::make_unique<SignerService>(*identities_, std::vector<std::string>{"spiffe://sigil.test/operator"},
                                               *pool_);
    config::v1::Listener listener;
    listener.set_listen("127.0.0.1:0");
    listener.mutable_tls()->set_cert_file(pki_->server_cert);
    listener.mutable_tls()->set_key_file(pki_->server_key);
    listener.mutable_tls()->set_ca_file(pki_->ca_file);
    auto options = ValidateListener(listener);
    ASSERT_TRUE(options.ok()) << options.status();
    auto server = RunningServer::Start(*options, {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  void TearDown() override {
    gate_.Open();
    if (server_ != nullptr) server_->Shutdown(absl::ZeroDuration());
    server_.reset();
    service_.reset();
    pool_.reset();
  }

  absl::Status AddLeaf(const std::string& file, int64_t not_before) {
    testing::CertSpec spec;
    spec.subject = {{"CN", "gated.sigil.test"}};
    spec.not_before_unix = not_before;
    auto leaf = testing::IssueCert(spec, testing::KeySpec::Ec(), pki_->ca);
    if (!leaf.ok()) return leaf.status();
    if (auto s = testing::WriteFile(absl::StrCat(store_dir_, "/", file, ".pem"), leaf->CertPem()); !s.ok()) return s;
    return testing::WriteFile(absl::StrCat(store_dir_, "/", file, ".key"), leaf->KeyPem());
  }

  std::unique_ptr<v1::Signer::Stub> Stub(const std::string& cert, const std::string& key) {
    client::ChannelOptions options;
    options.target = absl::StrCat("127.0.0.1:", server_->port());
    options.ca_file = pki_->ca_file;
    options.cert_file = cert;
    options.key_file = key;
    auto channel = client::MakeChannel(options);
    EXPECT_TRUE(channel.ok());
    return v1::Signer::NewStub(*channel);
  }

  std::string LeafDer() {
    auto stub = Stub(pki_->client_cert, pki_->client_key);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::GetCertificateChainRequest request;
    request.set_identity("gated");
    v1::GetCertificateChainResponse response;
    EXPECT_TRUE(stub->GetCertificateChain(&context, request, &response).ok());
    return response.certificates_size() > 0 ? response.certificates(0) : "";
  }

  std::string dir_, store_dir_;
  std::unique_ptr<testing::MtlsPki> pki_;
  Gate gate_;
  std::unique_ptr<IdentitySet> identities_;
  std::unique_ptr<SigningPool> pool_;
  std::unique_ptr<SignerService> service_;
  std::unique_ptr<RunningServer> server_;
};

// An asynchronous Sign call.
struct PendingSign {
  grpc::ClientContext context;
  v1::SignRequest request;
  v1::SignResponse response;
  grpc::Status status;
  absl::Notification done;
};

void StartSign(v1::Signer::Stub* stub, PendingSign* call) {
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  call->request.set_identity("gated");
  call->request.set_scheme(0x0403);
  call->request.set_digest(Digest(EVP_sha256(), "queued"));
  stub->async()->Sign(&call->context, &call->request, &call->response, [call](grpc::Status status) {
    call->status = std::move(status);
    call->done.Notify();
  });
}

TEST_F(SignerServiceStoreTest, BlockingStoreSignsOnThePoolAndAFullQueueIsResourceExhausted) {
  auto stub = Stub(pki_->client_cert, pki_->client_key);
  PendingSign first, second, third;
  StartSign(stub.get(), &first);
  // The first signature occupies the only signing thread (held at the gate) ...
  absl::SleepFor(absl::Milliseconds(300));
  StartSign(stub.get(), &second);
  absl::SleepFor(absl::Milliseconds(300));
  // ... the second waits in the queue, so the third is refused at once.
  StartSign(stub.get(), &third);
  ASSERT_TRUE(third.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(third.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(third.status.error_message(), "too many signing tasks are waiting for the credential store (1)");
  EXPECT_FALSE(first.done.HasBeenNotified());

  // While signatures block, gRPC's threads still answer.
  EXPECT_FALSE(LeafDer().empty());

  gate_.Open();
  ASSERT_TRUE(first.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(second.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  auto leaf = ParseDerCertificate(LeafDer());
  ASSERT_TRUE(leaf.ok());
  for (PendingSign* call : {&first, &second}) {
    ASSERT_TRUE(call->status.ok()) << call->status.error_message();
    EXPECT_TRUE(VerifySignature(X509_get0_pubkey(leaf->get()), *FindScheme(0x0403), Digest(EVP_sha256(), "queued"),
                                call->response.signature())
                    .ok());
  }
}

// An asynchronous SignBatch call of `count` items for the gated identity, digests of "`tag` i".
struct PendingBatch {
  grpc::ClientContext context;
  v1::SignBatchRequest request;
  v1::SignBatchResponse response;
  grpc::Status status;
  absl::Notification done;
};

void StartBatch(v1::Signer::Stub* stub, const std::string& tag, int count, PendingBatch* call) {
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  for (int i = 0; i < count; ++i) {
    v1::SignRequest* item = call->request.add_requests();
    item->set_identity("gated");
    item->set_scheme(0x0403);
    item->set_digest(Digest(EVP_sha256(), absl::StrCat(tag, " ", i)));
  }
  stub->async()->SignBatch(&call->context, &call->request, &call->response, [call](grpc::Status status) {
    call->status = std::move(status);
    call->done.Notify();
  });
}

TEST_F(SignerServiceStoreTest, SignBatchItemsOfABlockingStoreShareOnePoolTaskPerThreadAndItsBound) {
  auto stub = Stub(pki_->client_cert, pki_->client_key);
  PendingSign first;
  StartSign(stub.get(), &first);
  // The unary signature occupies the only signing thread (held at the gate) ...
  absl::SleepFor(absl::Milliseconds(300));

  // ... a batch's three items make one task (the pool has one thread), which takes the only queue slot ...
  PendingBatch queued;
  StartBatch(stub.get(), "queued item", 3, &queued);
  absl::SleepFor(absl::Milliseconds(300));
  // ... so the next batch's task is refused: every item says so in its own result, and the call is OK.
  PendingBatch refused;
  StartBatch(stub.get(), "refused item", 2, &refused);
  ASSERT_TRUE(refused.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(refused.status.ok()) << refused.status.error_message();
  ASSERT_EQ(refused.response.results_size(), 2);
  for (const auto& result : refused.response.results()) {
    EXPECT_EQ(result.code(), static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
    EXPECT_EQ(result.message(), "too many signing tasks are waiting for the credential store (1)");
    EXPECT_TRUE(result.signature().empty());
  }
  // The queued batch cannot finish while its task waits behind the gate.
  EXPECT_FALSE(queued.done.HasBeenNotified());

  gate_.Open();
  ASSERT_TRUE(first.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(queued.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(queued.status.ok()) << queued.status.error_message();
  ASSERT_EQ(queued.response.results_size(), 3);
  auto leaf = ParseDerCertificate(LeafDer());
  ASSERT_TRUE(leaf.ok());
  for (int i = 0; i < 3; ++i) {
    const auto& result = queued.response.results(i);
    ASSERT_EQ(result.code(), 0) << result.message();
    EXPECT_TRUE(VerifySignature(X509_get0_pubkey(leaf->get()), *FindScheme(0x0403),
                                Digest(EVP_sha256(), absl::StrCat("queued item ", i)), result.signature())
                    .ok())
        << "item " << i;
  }
}

TEST_F(SignerServiceStoreTest, ReloadIdentitiesServesTheRotatedCertificateForAdminsOnly) {
  gate_.Open();
  const std::string before = LeafDer();
  ASSERT_FALSE(before.empty());
  ASSERT_TRUE(AddLeaf("gen2", testing::NowUnix() - 60).ok());
  EXPECT_EQ(LeafDer(), before) << "nothing changes before a re-lookup";

  v1::ReloadIdentitiesRequest request;
  {
    auto other = Stub(pki_->second_client_cert, pki_->second_client_key);
    grpc::ClientContext context;
    v1::ReloadIdentitiesResponse response;
    grpc::Status status = other->ReloadIdentities(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(status.error_message(), "the caller is not one of this signer's admin_principals");
  }
  EXPECT_EQ(LeafDer(), before);

  auto admin = Stub(pki_->client_cert, pki_->client_key);
  grpc::ClientContext context;
  v1::ReloadIdentitiesResponse response;
  grpc::Status status = admin->ReloadIdentities(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), 1);
  EXPECT_EQ(response.results(0).name(), "gated");
  EXPECT_TRUE(response.results(0).changed());
  EXPECT_EQ(response.results(0).subject(), "CN=gated.sigil.test");
  EXPECT_EQ(response.results(0).error(), "");
  const std::string after = LeafDer();
  EXPECT_NE(after, before);

  // A store that now selects nothing keeps the current certificate and says why.
  ASSERT_EQ(unlink(absl::StrCat(store_dir_, "/gen1.key").c_str()), 0);
  ASSERT_EQ(unlink(absl::StrCat(store_dir_, "/gen2.key").c_str()), 0);
  grpc::ClientContext again;
  response.Clear();
  ASSERT_TRUE(admin->ReloadIdentities(&again, request, &response).ok());
  ASSERT_EQ(response.results_size(), 1);
  EXPECT_FALSE(response.results(0).changed());
  EXPECT_EQ(response.results(0).error(),
            "identity 'gated': no certificate matches Subject \"gated.sigil.test\" among 0 certificate(s) with a key");
  EXPECT_EQ(LeafDer(), after);
}

}  // namespace
}  // namespace sigil::signer
