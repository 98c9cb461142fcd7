// ImportNatsCache end to end with the real validator (verifier/import_validator.h): a NATS-format
// cache.json of real OCSP responses signed with OpenSSL (by the CA and by a delegated responder),
// S2-encoded with our encoder, imported over mTLS into a real RocksDB cache; then exported, read back and
// imported into a second cache. The seed's example file (real NATS-server responses from 2023, for CAs we
// do not have) decodes but is rejected entry by entry.
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cache/cache_service.h"
#include "cache/nats_cache_json.h"
#include "cache/ocsp_test_util.h"
#include "cache/rocksdb_cache.h"
#include "cache/s2_test_util.h"
#include "client/channel.h"
#include "common/grpc_server.h"
#include "common/tls_listener.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/pki/mtls_pki.h"
#include "verifier/import_validator.h"

namespace sigil::cache {
namespace {

using Status = CachedResponse::Status;
using sigil::testing::CertSpec;
using sigil::testing::Issued;
using sigil::testing::KeySpec;

class NatsImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = sigil::testing::MakeTestDir(
        absl::StrCat("nats_import_", ::testing::UnitTest::GetInstance()->current_test_info()->name()));
    auto pki = sigil::testing::MakeMtlsPki(dir_);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = std::make_unique<sigil::testing::MtlsPki>(*std::move(pki));

    // The OCSP PKI: a CA, a delegated responder, two leaves; and an unrelated CA.
    CertSpec ca_spec;
    ca_spec.subject = {{"O", "Tinghus"}, {"CN", "Intermediate CA"}};
    ca_spec.is_ca = true;
    auto ca = sigil::testing::SelfSigned(ca_spec, KeySpec::Ec());
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = std::make_unique<Issued>(*std::move(ca));
    CertSpec responder_spec;
    responder_spec.subject = {{"O", "Tinghus"}, {"CN", "OCSP Responder"}};
    responder_spec.extended_key_usages = {"OCSPSigning"};
    auto responder = sigil::testing::IssueCert(responder_spec, KeySpec::Ec(), *ca_);
    ASSERT_TRUE(responder.ok()) << responder.status();
    responder_ = std::make_unique<Issued>(*std::move(responder));
    for (const char* name : {"UserA1", "BadUserA1", "StaleUser", "ForeignUser"}) {
      CertSpec spec;
      spec.subject = {{"O", "Tinghus"}, {"CN", name}};
      spec.extended_key_usages = {"clientAuth"};
      auto leaf = sigil::testing::IssueCert(spec, KeySpec::Ec(), *ca_);
      ASSERT_TRUE(leaf.ok()) << leaf.status();
      leaves_.emplace(name, *std::move(leaf));
    }
    CertSpec other_spec;
    other_spec.subject = {{"CN", "Other CA"}};
    other_spec.is_ca = true;
    auto other = sigil::testing::SelfSigned(other_spec, KeySpec::Ec());
    ASSERT_TRUE(other.ok()) << other.status();
    other_ca_ = std::make_unique<Issued>(*std::move(other));
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(absl::ZeroDuration());
    server_.reset();
    service_.reset();
    cache_.reset();
  }

  void StartService(const std::string& store) {
    if (server_ != nullptr) server_->Shutdown(absl::ZeroDuration());
    server_.reset();
    service_.reset();
    cache_.reset();
    RocksDbOcspCacheOptions options;
    options.local_store = dir_ + "/" + store;
    auto cache = RocksDbOcspCache::Create(options, std::make_shared<SystemClock>());
    ASSERT_TRUE(cache.ok()) << cache.status();
    cache_ = *std::move(cache);
    CacheServiceOptions service_options;
    service_options.cache = cache_.get();
    service_options.validator = &validator_;
    service_options.admin_principals = {"operator"};
    service_ = std::make_unique<CacheService>(std::move(service_options));
    config::v1::Listener listener;
    listener.set_listen("127.0.0.1:0");
    listener.mutable_tls()->set_cert_file(pki_->server_cert);
    listener.mutable_tls()->set_key_file(pki_->server_key);
    listener.mutable_tls()->set_ca_file(pki_->ca_file);
    auto listener_options = ValidateListener(listener);
    ASSERT_TRUE(listener_options.ok()) << listener_options.status();
    auto server = RunningServer::Start(*listener_options, {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client::ChannelOptions channel_options;
    channel_options.target = absl::StrCat("127.0.0.1:", server_->port());
    channel_options.ca_file = pki_->ca_file;
    channel_options.cert_file = pki_->client_cert;
    channel_options.key_file = pki_->client_key;
    auto channel = client::MakeChannel(channel_options);
    ASSERT_TRUE(channel.ok()) << channel.status();
    stub_ = v1::Cache::NewStub(*channel);
  }

  grpc::Status Import(const std::string& json, const std::vector<std::string>& issuers,
                      v1::ImportNatsCacheResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    v1::ImportNatsCacheRequest request;
    request.set_cache_json(json);
    for (const std::string& issuer : issuers) request.add_issuers(issuer);
    return stub_->ImportNatsCache(&context, request, response);
  }

  // A cache.json entry for `leaf` holding `response_der`, whose non-normative fields claim `claimed`.
  CachedResponse NatsEntry(const std::string& leaf, const std::string& response_der, Status claimed) {
    CachedResponse r;
    r.key = CacheKey(leaves_.at(leaf).CertDer());
    r.subject = NameToString(X509_get_subject_name(leaves_.at(leaf).cert.get()));
    r.cached_at = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) - 60);
    r.resp_status = claimed;
    r.resp_expires = absl::Now() + absl::Hours(100);  // a lie the import must not believe
    r.response_der = response_der;
    return r;
  }

  std::string Response(const std::string& leaf, const Issued& signer, Status status, absl::Time this_update,
                       absl::Time next_update) {
    testing::OcspResponseSpec spec;
    spec.status = status;
    spec.this_update = this_update;
    spec.next_update = next_update;
    spec.revoked_at = this_update - absl::Hours(24);
    auto der = testing::MakeOcspResponse(leaves_.at(leaf).cert.get(), ca_->cert.get(), signer, spec);
    EXPECT_TRUE(der.ok()) << der.status();
    return der.ok() ? *der : "";
  }

  std::string dir_;
  std::unique_ptr<sigil::testing::MtlsPki> pki_;
  std::unique_ptr<Issued> ca_, responder_, other_ca_;
  std::map<std::string, Issued> leaves_;
  verifier::OcspImportValidator validator_;
  std::unique_ptr<RocksDbOcspCache> cache_;
  std::unique_ptr<CacheService> service_;
  std::unique_ptr<RunningServer> server_;
  std::unique_ptr<v1::Cache::Stub> stub_;
};

TEST_F(NatsImportTest, ImportsValidResponsesExportsAndReimports) {
  const absl::Time now = absl::Now();
  const absl::Time next_update = absl::FromUnixSeconds(absl::ToUnixSeconds(now) + 3600);
  const std::string good = Response("UserA1", *ca_, Status::kGood, now - absl::Minutes(5), next_update);
  const std::string revoked =
      Response("BadUserA1", *responder_, Status::kRevoked, now - absl::Minutes(5), next_update);
  const std::string stale =
      Response("StaleUser", *ca_, Status::kGood, now - absl::Hours(3), now - absl::Hours(2));
  const std::string foreign =
      Response("ForeignUser", *other_ca_, Status::kGood, now - absl::Minutes(5), next_update);
  std::vector<CachedResponse> file = {NatsEntry("UserA1", good, Status::kGood),
                                      NatsEntry("BadUserA1", revoked, Status::kGood),  // claims good
                                      NatsEntry("StaleUser", stale, Status::kGood),
                                      NatsEntry("ForeignUser", foreign, Status::kGood)};
  absl::StatusOr<std::string> json = SerializeNatsCacheJson(file);
  ASSERT_TRUE(json.ok()) << json.status();

  StartService("first");
  v1::ImportNatsCacheResponse response;
  grpc::Status status = Import(*json, {other_ca_->CertDer(), ca_->CertDer()}, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const std::string rejections = absl::StrJoin(response.rejections(), "\n");
  EXPECT_EQ(response.imported(), 2) << rejections;
  EXPECT_EQ(response.rejected(), 2) << rejections;
  EXPECT_NE(rejections.find(absl::StrCat(file[2].key, ": OCSP response not in effectivity window")),
            std::string::npos)
      << rejections;
  EXPECT_NE(rejections.find(absl::StrCat(file[3].key, ": ")), std::string::npos) << rejections;

  // Normative fields from the DER: BadUserA1 is revoked whatever the file said; expiry = NextUpdate.
  auto bad = cache_->Peek(file[1].key);
  ASSERT_TRUE(bad.ok() && bad->has_value());
  EXPECT_EQ((*bad)->resp_status, Status::kRevoked);
  EXPECT_EQ((*bad)->resp_expires, next_update);
  EXPECT_EQ((*bad)->cached_at, file[1].cached_at);
  EXPECT_EQ((*bad)->issuer_subject, "CN=Intermediate CA,O=Tinghus");
  EXPECT_EQ((*bad)->issuer_fingerprint, CacheKey(ca_->CertDer()));
  EXPECT_EQ((*bad)->response_der, revoked);
  EXPECT_EQ(cache_->Stats().cached_good_responses, 1);

  // Export, read back, import into a fresh cache: the same two entries.
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  v1::ExportNatsCacheResponse exported;
  status = stub_->ExportNatsCache(&context, {}, &exported);
  ASSERT_TRUE(status.ok()) << status.error_message();
  absl::StatusOr<ParsedNatsCache> read_back = ParseNatsCacheJson(exported.cache_json());
  ASSERT_TRUE(read_back.ok()) << read_back.status();
  ASSERT_EQ(read_back->entries.size(), 2u);
  for (const CachedResponse& r : read_back->entries) {
    EXPECT_TRUE(r.response_der == good || r.response_der == revoked);
    EXPECT_EQ(r.resp_expires, next_update);
  }

  StartService("second");
  status = Import(exported.cache_json(), {ca_->CertDer()}, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.imported(), 2) << absl::StrJoin(response.rejections(), "\n");
  EXPECT_EQ(response.rejected(), 0);
  EXPECT_EQ(cache_->Stats().cached_revoked_responses, 1);
}

TEST_F(NatsImportTest, SeedExampleDecodesButIsRejectedWithoutItsIssuer) {
  std::ifstream in(s2::testing::kSeedCacheJsonPath, std::ios::binary);
  std::stringstream seed;
  seed << in.rdbuf();
  StartService("seed");
  v1::ImportNatsCacheResponse response;
  grpc::Status status = Import(seed.str(), {ca_->CertDer()}, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.imported(), 0);
  EXPECT_EQ(response.rejected(), 3);
  for (const std::string& line : response.rejections()) {
    // Decoding succeeded (no S2 or base64 complaint); validation refused the response.
    EXPECT_EQ(line.find("not a valid S2 stream"), std::string::npos) << line;
    EXPECT_EQ(line.find("not base64"), std::string::npos) << line;
    EXPECT_NE(line.find("OCSP response"), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace sigil::cache
