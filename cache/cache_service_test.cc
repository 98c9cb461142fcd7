// The Cache service over real mTLS with a real RocksDB cache: authorization, GetStats, Lookup, Purge,
// ImportNatsCache (with a fake validator that decides per response; the real one is exercised in
// nats_import_test.cc) and ExportNatsCache read back.
#include "cache/cache_service.h"

#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cache/fake_clock.h"
#include "cache/nats_cache_json.h"
#include "cache/rocksdb_cache.h"
#include "cache/s2.h"
#include "client/channel.h"
#include "common/grpc_server.h"
#include "common/tls_listener.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/pki/mtls_pki.h"

namespace sigil::cache {
namespace {

using Status = CachedResponse::Status;

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

// Decides by response bytes: a known response validates to the recorded status and expiry; anything else
// is INVALID_ARGUMENT. Records the issuers it was given.
class FakeValidator final : public ResponseValidator {
 public:
  struct Verdict {
    Status status;
    absl::Time expires;
  };

  absl::StatusOr<CachedResponse> Validate(const CachedResponse& claimed, absl::Span<const std::string> issuers_der,
                                          absl::Time now) override {
    absl::MutexLock lock(&mu_);
    last_issuers_ = issuers_der.size();
    last_now_ = now;
    auto it = verdicts_.find(claimed.response_der);
    if (it == verdicts_.end()) return absl::InvalidArgumentError("Failed OCSP response parse: fake says no");
    CachedResponse out = claimed;
    out.resp_status = it->second.status;
    out.resp_expires = it->second.expires;
    out.issuer_fingerprint = CacheKey(issuers_der.front());
    out.issuer_subject = "CN=Fake Issuer";
    return out;
  }

  void Set(const std::string& der, Status status, absl::Time expires) {
    absl::MutexLock lock(&mu_);
    verdicts_[der] = Verdict{status, expires};
  }
  size_t last_issuers() {
    absl::MutexLock lock(&mu_);
    return last_issuers_;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, Verdict> verdicts_ ABSL_GUARDED_BY(mu_);
  size_t last_issuers_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_now_ ABSL_GUARDED_BY(mu_);
};

std::string NatsEntry(const std::string& key, const std::string& der, const std::string& status,
                      const std::string& cached_at = "2023-11-14T22:00:00Z",
                      const std::string& expires = "2030-01-01T00:00:00Z") {
  return absl::StrCat("\"", key, "\": {\"subject\": \"CN=", key.substr(0, 4), "\", \"cached_at\": \"", cached_at,
                      "\", \"resp_status\": \"", status, "\", \"resp_expires\": \"", expires, "\", \"resp\": \"",
                      absl::Base64Escape(s2::EncodeStream(der)), "\"}");
}

class CacheServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = sigil::testing::MakeTestDir(
        absl::StrCat("cache_service_", ::testing::UnitTest::GetInstance()->current_test_info()->name()));
    auto pki = sigil::testing::MakeMtlsPki(dir);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = std::make_unique<sigil::testing::MtlsPki>(*std::move(pki));
    clock_ = std::make_shared<FakeClock>(kNow);
    RocksDbOcspCacheOptions cache_options;
    cache_options.local_store = dir + "/_rc_";
    cache_options.preserve_revoked = preserve_revoked_;
    auto cache = RocksDbOcspCache::Create(cache_options, clock_);
    ASSERT_TRUE(cache.ok()) << cache.status();
    cache_ = *std::move(cache);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(absl::ZeroDuration());
    server_.reset();
    service_.reset();
  }

  // Starts the service: with the RocksDB cache unless `no_cache`, admins = the "operator" client.
  void Start(bool no_cache = false, bool plaintext = false) {
    CacheServiceOptions options;
    options.cache = no_cache ? nullptr : cache_.get();
    options.validator = &validator_;
    options.admin_principals = {"spiffe://sigil.test/operator"};
    options.clock = clock_;
    service_ = std::make_unique<CacheService>(std::move(options));
    config::v1::Listener listener;
    listener.set_listen("127.0.0.1:0");
    if (plaintext) {
      listener.set_plaintext_development_only(true);
    } else {
      listener.mutable_tls()->set_cert_file(pki_->server_cert);
      listener.mutable_tls()->set_key_file(pki_->server_key);
      listener.mutable_tls()->set_ca_file(pki_->ca_file);
      listener.mutable_tls()->set_timeout(5);
    }
    auto listener_options = ValidateListener(listener);
    ASSERT_TRUE(listener_options.ok()) << listener_options.status();
    auto server = RunningServer::Start(*listener_options, {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::unique_ptr<v1::Cache::Stub> Stub(const std::string& cert, const std::string& key, bool plaintext = false) {
    client::ChannelOptions options;
    options.target = absl::StrCat("127.0.0.1:", server_->port());
    options.plaintext = plaintext;
    if (!plaintext) {
      options.ca_file = pki_->ca_file;
      options.cert_file = cert;
      options.key_file = key;
    }
    auto channel = client::MakeChannel(options);
    EXPECT_TRUE(channel.ok()) << channel.status();
    return v1::Cache::NewStub(*channel);
  }
  std::unique_ptr<v1::Cache::Stub> Operator() { return Stub(pki_->client_cert, pki_->client_key); }
  std::unique_ptr<v1::Cache::Stub> OtherService() {
    return Stub(pki_->second_client_cert, pki_->second_client_key);
  }

  static void Deadline(grpc::ClientContext* context) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  }

  CachedResponse Entry(const std::string& cert, Status status) {
    CachedResponse r;
    r.key = CacheKey(cert);
    r.response_der = "der-of-" + cert;
    r.subject = "CN=" + cert;
    r.cached_at = kNow;
    r.resp_status = status;
    r.resp_expires = kNow + absl::Hours(1);
    r.issuer_subject = "CN=Issuer";
    return r;
  }

  grpc::Status GetStats(v1::Cache::Stub* stub, v1::CacheStats* stats) {
    grpc::ClientContext context;
    Deadline(&context);
    return stub->GetStats(&context, {}, stats);
  }
  grpc::Status Purge(v1::Cache::Stub* stub, const v1::PurgeRequest& request, int64_t* purged = nullptr) {
    grpc::ClientContext context;
    Deadline(&context);
    v1::PurgeResponse response;
    grpc::Status status = stub->Purge(&context, request, &response);
    if (purged != nullptr) *purged = response.purged();
    return status;
  }
  grpc::Status Import(v1::Cache::Stub* stub, const std::string& json, v1::ImportNatsCacheResponse* response,
                      bool with_issuer = true) {
    grpc::ClientContext context;
    Deadline(&context);
    v1::ImportNatsCacheRequest request;
    request.set_cache_json(json);
    if (with_issuer) request.add_issuers(pki_->ca.CertDer());
    return stub->ImportNatsCache(&context, request, response);
  }

  bool preserve_revoked_ = false;
  std::unique_ptr<sigil::testing::MtlsPki> pki_;
  std::shared_ptr<FakeClock> clock_;
  std::unique_ptr<RocksDbOcspCache> cache_;
  FakeValidator validator_;
  std::unique_ptr<CacheService> service_;
  std::unique_ptr<RunningServer> server_;
};

TEST_F(CacheServiceTest, GetStatsWithoutACacheIsTypeNoneWithZeros) {
  Start(/*no_cache=*/true);
  v1::CacheStats stats;
  grpc::Status status = GetStats(OtherService().get(), &stats);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(stats.cache_type(), "none");
  // The seed's names, zeros included, when printed as operators see them.
  std::string json;
  google::protobuf::util::JsonPrintOptions print;
  print.always_print_primitive_fields = true;
  print.preserve_proto_field_names = true;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(stats, &json, print).ok());
  for (const char* name : {"cache_hits", "cache_misses", "cached_responses", "cached_revoked_responses",
                           "cached_good_responses", "cached_unknown_responses"}) {
    EXPECT_NE(json.find(absl::StrCat("\"", name, "\":\"0\"")), std::string::npos) << name << " in " << json;
  }
}

TEST_F(CacheServiceTest, GetStatsCountsLocalEntries) {
  ASSERT_TRUE(cache_->Put(Entry("a", Status::kGood)).ok());
  ASSERT_TRUE(cache_->Put(Entry("b", Status::kRevoked)).ok());
  ASSERT_TRUE(cache_->Put(Entry("c", Status::kUnknown)).ok());
  ASSERT_TRUE(cache_->Get(CacheKey("a")).ok());
  ASSERT_TRUE(cache_->Get(CacheKey("zz")).ok());
  Start();
  v1::CacheStats stats;
  ASSERT_TRUE(GetStats(OtherService().get(), &stats).ok());
  EXPECT_EQ(stats.cache_type(), "local");
  EXPECT_EQ(stats.cache_hits(), 1);
  EXPECT_EQ(stats.cache_misses(), 1);
  EXPECT_EQ(stats.cached_responses(), 3);
  EXPECT_EQ(stats.cached_good_responses(), 1);
  EXPECT_EQ(stats.cached_revoked_responses(), 1);
  EXPECT_EQ(stats.cached_unknown_responses(), 1);
}

TEST_F(CacheServiceTest, UnauthenticatedCallersAreRefused) {
  Start(/*no_cache=*/false, /*plaintext=*/true);
  auto stub = Stub("", "", /*plaintext=*/true);
  v1::CacheStats stats;
  grpc::Status status = GetStats(stub.get(), &stats);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  v1::PurgeRequest purge;
  purge.set_all(true);
  EXPECT_EQ(Purge(stub.get(), purge).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(CacheServiceTest, Lookup) {
  const CachedResponse entry = Entry("cert-der", Status::kRevoked);
  ASSERT_TRUE(cache_->Put(entry).ok());
  Start();
  auto stub = OtherService();  // Any authenticated caller.

  grpc::ClientContext c1;
  Deadline(&c1);
  v1::LookupRequest by_fingerprint;
  by_fingerprint.set_fingerprint(entry.key);
  v1::CacheEntry got;
  grpc::Status status = stub->Lookup(&c1, by_fingerprint, &got);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(got.key(), entry.key);
  EXPECT_EQ(got.subject(), "CN=cert-der");
  EXPECT_EQ(got.resp_status(), v1::REVOKED);
  EXPECT_EQ(got.resp(), entry.response_der);
  EXPECT_EQ(got.issuer(), "CN=Issuer");
  EXPECT_EQ(got.cached_at().seconds(), absl::ToUnixSeconds(kNow));
  EXPECT_EQ(got.resp_expires().seconds(), absl::ToUnixSeconds(kNow + absl::Hours(1)));

  // By certificate: the key is the SHA-256 of the DER.
  const std::string cert_der = pki_->ca.CertDer();
  CachedResponse for_cert = Entry("x", Status::kGood);
  for_cert.key = CacheKey(cert_der);
  ASSERT_TRUE(cache_->Put(for_cert).ok());
  grpc::ClientContext c2;
  Deadline(&c2);
  v1::LookupRequest by_cert;
  by_cert.set_certificate(cert_der);
  status = stub->Lookup(&c2, by_cert, &got);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(got.key(), for_cert.key);

  struct Case {
    v1::LookupRequest request;
    grpc::StatusCode code;
  };
  std::vector<Case> cases(4);
  cases[0].request.set_fingerprint(CacheKey("absent"));
  cases[0].code = grpc::StatusCode::NOT_FOUND;
  cases[1].request.set_certificate("not a certificate");
  cases[1].code = grpc::StatusCode::INVALID_ARGUMENT;
  cases[2].request.set_fingerprint("not base64 of a digest");
  cases[2].code = grpc::StatusCode::INVALID_ARGUMENT;
  cases[3].code = grpc::StatusCode::INVALID_ARGUMENT;  // no target
  for (const Case& c : cases) {
    grpc::ClientContext context;
    Deadline(&context);
    status = stub->Lookup(&context, c.request, &got);
    EXPECT_EQ(status.error_code(), c.code) << c.request.ShortDebugString() << ": " << status.error_message();
  }
  // Lookups count no hit or miss.
  v1::CacheStats stats;
  ASSERT_TRUE(GetStats(stub.get(), &stats).ok());
  EXPECT_EQ(stats.cache_hits() + stats.cache_misses(), 0);
}

TEST_F(CacheServiceTest, PurgeIsForAdminsAndReturnsCounts) {
  for (const char* cert : {"g1", "g2", "u1"}) {
    ASSERT_TRUE(cache_->Put(Entry(cert, cert[0] == 'g' ? Status::kGood : Status::kUnknown)).ok());
  }
  ASSERT_TRUE(cache_->Put(Entry("r1", Status::kRevoked)).ok());
  Start();
  v1::PurgeRequest all;
  all.set_all(true);
  grpc::Status status = Purge(OtherService().get(), all);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(), "Purge is for the operators listed in admin_principals; other-service is not one");

  auto admin = Operator();
  int64_t purged = -1;
  v1::PurgeRequest one;
  one.set_fingerprint(CacheKey("g1"));
  ASSERT_TRUE(Purge(admin.get(), one, &purged).ok());
  EXPECT_EQ(purged, 1);
  v1::PurgeRequest unknown;
  unknown.set_status(v1::UNKNOWN);
  ASSERT_TRUE(Purge(admin.get(), unknown, &purged).ok());
  EXPECT_EQ(purged, 1);
  v1::PurgeRequest unspecified;
  unspecified.set_status(v1::RESPONSE_STATUS_UNSPECIFIED);
  EXPECT_EQ(Purge(admin.get(), unspecified).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::PurgeRequest not_all;
  not_all.set_all(false);
  EXPECT_EQ(Purge(admin.get(), not_all).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(Purge(admin.get(), all, &purged).ok());
  EXPECT_EQ(purged, 2);  // g2 and r1
  EXPECT_EQ(cache_->Stats().cached_responses, 0);
}

class PreserveRevokedServiceTest : public CacheServiceTest {
 protected:
  void SetUp() override {
    preserve_revoked_ = true;
    CacheServiceTest::SetUp();
  }
};

TEST_F(PreserveRevokedServiceTest, PurgeKeepsRevokedEntries) {
  ASSERT_TRUE(cache_->Put(Entry("g", Status::kGood)).ok());
  ASSERT_TRUE(cache_->Put(Entry("r", Status::kRevoked)).ok());
  Start();
  auto admin = Operator();
  int64_t purged = -1;
  v1::PurgeRequest revoked;
  revoked.set_status(v1::REVOKED);
  ASSERT_TRUE(Purge(admin.get(), revoked, &purged).ok());
  EXPECT_EQ(purged, 0);
  v1::PurgeRequest all;
  all.set_all(true);
  ASSERT_TRUE(Purge(admin.get(), all, &purged).ok());
  EXPECT_EQ(purged, 1);
  EXPECT_EQ(cache_->Stats().cached_revoked_responses, 1);
}

TEST_F(CacheServiceTest, ImportTakesStatusAndExpiryFromTheValidatedResponse) {
  const std::string k_good = CacheKey("good"), k_stale = CacheKey("stale"), k_invalid = CacheKey("invalid"),
                    k_revoked = CacheKey("revoked");
  // The file claims "good" for a response the validator finds revoked: the response wins.
  validator_.Set("resp-good", Status::kGood, kNow + absl::Hours(2));
  validator_.Set("resp-revoked", Status::kRevoked, kNow + absl::Hours(3));
  validator_.Set("resp-stale", Status::kGood, kNow - absl::Seconds(1));
  const std::string json = absl::StrCat(
      "{", absl::StrJoin(std::vector<std::string>{NatsEntry(k_good, "resp-good", "good", "2023-11-14T21:00:00.5Z"),
                          NatsEntry(k_revoked, "resp-revoked", "good"), NatsEntry(k_stale, "resp-stale", "good"),
                          NatsEntry(k_invalid, "resp-invalid", "good"), "\"bad-key\": {}"},
                         ","),
      "}");
  Start();
  v1::ImportNatsCacheResponse response;
  grpc::Status status = Import(Operator().get(), json, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.imported(), 2);
  EXPECT_EQ(response.rejected(), 3);
  const std::string rejections = absl::StrJoin(response.rejections(), "\n");
  EXPECT_NE(rejections.find("bad-key: key is not a certificate fingerprint"), std::string::npos) << rejections;
  EXPECT_NE(rejections.find(k_stale + ": stale: the response expired at"), std::string::npos) << rejections;
  EXPECT_NE(rejections.find(k_invalid + ": Failed OCSP response parse: fake says no"), std::string::npos)
      << rejections;
  EXPECT_EQ(validator_.last_issuers(), 1u);

  auto revoked = cache_->Peek(k_revoked);
  ASSERT_TRUE(revoked.ok() && revoked->has_value());
  EXPECT_EQ((*revoked)->resp_status, Status::kRevoked);
  EXPECT_EQ((*revoked)->resp_expires, kNow + absl::Hours(3));
  auto good = cache_->Peek(k_good);
  ASSERT_TRUE(good.ok() && good->has_value());
  EXPECT_EQ((*good)->cached_at, absl::FromUnixSeconds(1699995600) + absl::Milliseconds(500));  // kept
  EXPECT_EQ((*good)->issuer_subject, "CN=Fake Issuer");

  // A second import of an older answer does not replace a response that stays valid longer.
  validator_.Set("resp-good-older", Status::kGood, kNow + absl::Hours(1));
  ASSERT_TRUE(Import(Operator().get(), absl::StrCat("{", NatsEntry(k_good, "resp-good-older", "good"), "}"),
                     &response)
                  .ok());
  EXPECT_EQ(response.imported(), 0);
  EXPECT_EQ(response.rejected(), 1);
}

TEST_F(CacheServiceTest, ImportRequestErrors) {
  Start();
  v1::ImportNatsCacheResponse response;
  EXPECT_EQ(Import(OtherService().get(), "{}", &response).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  grpc::Status status = Import(Operator().get(), "{}", &response, /*with_issuer=*/false);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Import(Operator().get(), "[not json", &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  grpc::ClientContext context;
  Deadline(&context);
  v1::ImportNatsCacheRequest request;
  request.set_cache_json("{}");
  request.add_issuers("not DER");
  status = Operator()->ImportNatsCache(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message().rfind("issuers[0] is not one DER X.509 certificate", 0), 0u)
      << status.error_message();
}

TEST_F(CacheServiceTest, ExportReadsBack) {
  CachedResponse a = Entry("a", Status::kGood);
  CachedResponse b = Entry("b", Status::kRevoked);
  b.response_der = std::string(100000, '\x30');  // more than one S2 chunk
  ASSERT_TRUE(cache_->Put(a).ok());
  ASSERT_TRUE(cache_->Put(b).ok());
  Start();
  grpc::ClientContext denied;
  Deadline(&denied);
  v1::ExportNatsCacheResponse response;
  EXPECT_EQ(OtherService()->ExportNatsCache(&denied, {}, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  grpc::ClientContext context;
  Deadline(&context);
  grpc::Status status = Operator()->ExportNatsCache(&context, {}, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  absl::StatusOr<ParsedNatsCache> parsed = ParseNatsCacheJson(response.cache_json());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->entries.size(), 2u);
  std::map<std::string, CachedResponse> by_key;
  for (const CachedResponse& r : parsed->entries) by_key[r.key] = r;
  for (const CachedResponse& want : {a, b}) {
    ASSERT_EQ(by_key.count(want.key), 1u);
    const CachedResponse& got = by_key[want.key];
    EXPECT_EQ(got.response_der, want.response_der);
    EXPECT_EQ(got.subject, want.subject);
    EXPECT_EQ(got.resp_status, want.resp_status);
    EXPECT_EQ(got.cached_at, want.cached_at);
    EXPECT_EQ(got.resp_expires, want.resp_expires);
  }
}

TEST_F(CacheServiceTest, ExportWithoutACacheIsEmpty) {
  Start(/*no_cache=*/true);
  grpc::ClientContext context;
  Deadline(&context);
  v1::ExportNatsCacheResponse response;
  ASSERT_TRUE(Operator()->ExportNatsCache(&context, {}, &response).ok());
  EXPECT_EQ(response.cache_json(), "{}\n");
  v1::ImportNatsCacheResponse imported;
  EXPECT_EQ(Import(Operator().get(), "{}", &imported).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

}  // namespace
}  // namespace sigil::cache
