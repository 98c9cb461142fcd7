// StapleManager and VerifyStaple against real `openssl ocsp` responders (tests/ocsp/responder_harness.h)
// reached through in-test front ends (relay, POST/GET-only, faults). The clock is injected (FakeClock) and
// refreshes are run with RefreshDue(), so nothing sleeps. Cases are named after what they check.
#include "verifier/stapling/staple_manager.h"

#include <dirent.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cache/fake_clock.h"
#include "gtest/gtest.h"
#include "tests/ocsp/responder_harness.h"
#include "tests/ocsp/response_builder.h"
#include "tests/pki/mtls_pki.h"
#include "tests/pki/test_pki.h"
#include "verifier/ocsp/http_fetcher.h"
#include "verifier/stapling/certificates.h"
#include "verifier/stapling/staple_verifier.h"

namespace sigil::verifier::stapling {
namespace {

using ::sigil::testing::CertSpec;
using ::sigil::testing::Issued;
using ::sigil::testing::KeySpec;
using ::sigil::testing::OcspFrontend;
using ::sigil::testing::OpenSslResponder;

Issued Must(absl::StatusOr<Issued> issued) {
  EXPECT_TRUE(issued.ok()) << issued.status();
  return *std::move(issued);
}

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

struct World {
  std::string dir;
  std::unique_ptr<OcspFrontend> relay, post_only, get_only, fault;
  std::unique_ptr<OpenSslResponder> responder;
  Issued ca, other_ca, impostor_ca, delegate_no_eku;
  Issued ms_good, ms_revoked, ms_unknown, plain_good, plain_revoked, ms_no_aia, ms_dead_aia, ms_post_only,
      ms_get_only, ms_fault;
};
World* world = nullptr;

class WorldEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    world = new World;
    World& w = *world;
    w.dir = sigil::testing::MakeTestDir("staple_manager_test");
    for (auto* f : {&w.relay, &w.post_only, &w.get_only, &w.fault}) {
      auto started = OcspFrontend::Start();
      ASSERT_TRUE(started.ok()) << started.status();
      *f = *std::move(started);
    }
    const KeySpec ec = KeySpec::Ec();
    CertSpec ca_spec;
    ca_spec.subject = {{"O", "Sigil Tests"}, {"CN", "Staple CA"}};
    ca_spec.is_ca = true;
    w.ca = Must(sigil::testing::SelfSigned(ca_spec, ec));
    // Same name, different key: must not be taken for the issuer.
    w.impostor_ca = Must(sigil::testing::SelfSigned(ca_spec, ec));
    CertSpec other = ca_spec;
    other.subject = {{"O", "Sigil Tests"}, {"CN", "Other CA"}};
    w.other_ca = Must(sigil::testing::SelfSigned(other, ec));
    CertSpec no_eku;
    no_eku.subject = {{"CN", "Not An OCSP Responder"}};
    w.delegate_no_eku = Must(sigil::testing::IssueCert(no_eku, ec, w.ca));

    auto leaf = [&](const std::string& cn, std::vector<std::string> urls, bool must_staple) {
      CertSpec spec;
      spec.subject = {{"O", "Sigil Tests"}, {"CN", cn}};
      spec.ocsp_urls = std::move(urls);
      spec.must_staple = must_staple;
      spec.extended_key_usages = {"serverAuth"};
      return Must(sigil::testing::IssueCert(spec, ec, w.ca));
    };
    const std::string dead = absl::StrCat("http://127.0.0.1:", sigil::testing::UnusedPort(), "/");
    w.ms_good = leaf("good.sigil.test", {w.relay->url()}, true);
    w.ms_revoked = leaf("revoked.sigil.test", {w.relay->url()}, true);
    w.ms_unknown = leaf("unknown.sigil.test", {w.relay->url()}, true);  // Not in the index.
    w.plain_good = leaf("plain.sigil.test", {w.relay->url()}, false);
    w.plain_revoked = leaf("plain-revoked.sigil.test", {w.relay->url()}, false);
    w.ms_no_aia = leaf("no-aia.sigil.test", {}, true);
    w.ms_dead_aia = leaf("dead-aia.sigil.test", {dead}, true);
    w.ms_post_only = leaf("post-only.sigil.test", {w.post_only->url()}, true);
    w.ms_get_only = leaf("get-only.sigil.test", {w.get_only->url()}, true);
    w.ms_fault = leaf("fault.sigil.test", {w.fault->url()}, true);

    const int64_t revoked_at = sigil::testing::NowUnix() - 3600;
    std::string index;
    for (const Issued* c : {&w.ms_good, &w.plain_good, &w.ms_no_aia, &w.ms_dead_aia, &w.ms_post_only,
                            &w.ms_get_only, &w.ms_fault}) {
      index += sigil::testing::OpenSslIndexLine(c->cert.get(), 'V', 0);
    }
    for (const Issued* c : {&w.ms_revoked, &w.plain_revoked}) {
      index += sigil::testing::OpenSslIndexLine(c->cert.get(), 'R', revoked_at);
    }
    sigil::testing::OpenSslResponderSpec spec;
    spec.index_file = w.dir + "/index.txt";
    spec.ca_file = w.dir + "/ca.pem";
    spec.signer_cert_file = w.dir + "/ca.pem";
    spec.signer_key_file = w.dir + "/ca.key";
    spec.log_file = w.dir + "/responder.log";
    spec.next_update_minutes = 60;
    ASSERT_TRUE(sigil::testing::WriteFile(spec.index_file, index).ok());
    ASSERT_TRUE(sigil::testing::WriteFile(spec.ca_file, w.ca.CertPem()).ok());
    ASSERT_TRUE(sigil::testing::WriteFile(spec.signer_key_file, w.ca.KeyPem()).ok());
    auto responder = OpenSslResponder::Start(spec);
    ASSERT_TRUE(responder.ok()) << responder.status();
    w.responder = *std::move(responder);
    for (auto* f : {w.relay.get(), w.post_only.get(), w.get_only.get(), w.fault.get()}) {
      f->SetBackendPort(w.responder->port());
    }
    w.post_only->SetMode(OcspFrontend::Mode::kPostOnly);
    w.get_only->SetMode(OcspFrontend::Mode::kGetOnly);
  }
  void TearDown() override {
    delete world;
    world = nullptr;
  }
};
::testing::Environment* const kWorld = ::testing::AddGlobalTestEnvironment(new WorldEnvironment);

class StapleManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    world->fault->SetMode(OcspFrontend::Mode::kRelay);
    for (auto* f : {world->relay.get(), world->post_only.get(), world->get_only.get(), world->fault.get()}) {
      f->ResetCounts();
    }
    clock_ = std::make_shared<cache::FakeClock>(absl::Now());
    auto curl = ocsp::CurlHttpFetcher::Create();
    ASSERT_TRUE(curl.ok());
    fetcher_ = *std::move(curl);
    static int n = 0;
    store_dir_ = absl::StrCat(world->dir, "/store-", ++n);
    manager_ = NewManager();
  }

  StapleManagerOptions Options() {
    StapleManagerOptions options;
    options.store_dir = store_dir_;
    options.fetch_timeout = absl::Seconds(2);
    options.start_refresh_thread = false;
    options.profiles["default"] = StapleProfile{};
    options.profiles["must"] = StapleProfile{v1::MUST, ""};
    options.profiles["always"] = StapleProfile{v1::ALWAYS, ""};
    options.profiles["never"] = StapleProfile{v1::NEVER, ""};
    options.profiles["override"] = StapleProfile{v1::AUTO, world->relay->url()};
    return options;
  }

  std::unique_ptr<StapleManager> NewManager(StapleManagerOptions options) {
    auto manager = StapleManager::Create(std::move(options), fetcher_, clock_);
    EXPECT_TRUE(manager.ok()) << manager.status();
    return manager.ok() ? *std::move(manager) : nullptr;
  }
  std::unique_ptr<StapleManager> NewManager() { return NewManager(Options()); }

  static v1::GetStapleRequest Request(std::vector<const Issued*> chain, const std::string& profile = "",
                                      v1::StapleMode mode = v1::STAPLE_MODE_UNSPECIFIED) {
    v1::GetStapleRequest request;
    for (const Issued* c : chain) request.add_certificates(c->CertDer());
    request.set_profile(profile);
    request.set_mode(mode);
    return request;
  }

  absl::StatusOr<v1::GetStapleResponse> Get(const Issued& leaf, const std::string& profile = "",
                                            v1::StapleMode mode = v1::STAPLE_MODE_UNSPECIFIED) {
    return manager_->GetStaple(Request({&leaf, &world->ca}, profile, mode));
  }

  std::shared_ptr<cache::FakeClock> clock_;
  std::shared_ptr<ocsp::HttpFetcher> fetcher_;
  std::string store_dir_;
  std::unique_ptr<StapleManager> manager_;
};

TEST_F(StapleManagerTest, AutoStaplesMustStapleCertificateWithGoodStatus) {
  auto r = Get(world->ms_good);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status(), v1::GOOD);
  EXPECT_FALSE(r->staple().empty());
  EXPECT_FALSE(r->must_stop_serving());
  const absl::Time now = clock_->Now();
  EXPECT_NEAR(absl::ToDoubleMinutes(FromProto(r->next_update()) - now), 60, 1);
  // Refresh at half the remaining validity (30 min), ±10 % jitter.
  const double refresh_in = absl::ToDoubleMinutes(FromProto(r->next_refresh()) - now);
  EXPECT_GE(refresh_in, 30 * 0.9 - 1);
  EXPECT_LE(refresh_in, 30 * 1.1 + 1);
  EXPECT_EQ(manager_->registered(), 1u);
  // The second call is served from memory.
  world->relay->ResetCounts();
  auto again = Get(world->ms_good);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->staple(), r->staple());
  EXPECT_EQ(world->relay->requests(), 0);
}

TEST_F(StapleManagerTest, FetchesWithPostFirst) {
  ASSERT_TRUE(Get(world->ms_good).ok());
  EXPECT_EQ(world->relay->posts(), 1);
  EXPECT_EQ(world->relay->gets(), 0);
}

TEST_F(StapleManagerTest, PostOnlyResponderWorks) {
  auto r = Get(world->ms_post_only);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status(), v1::GOOD);
  EXPECT_EQ(world->post_only->gets(), 0);
}

TEST_F(StapleManagerTest, GetOnlyResponderGetsGetAfterRefusedPost) {
  auto r = Get(world->ms_get_only);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status(), v1::GOOD);
  EXPECT_EQ(world->get_only->posts(), 1);
  EXPECT_EQ(world->get_only->gets(), 1);
}

TEST_F(StapleManagerTest, AutoAndMustDoNotStapleCertificatesWithoutMustStaple) {
  for (const char* profile : {"", "must"}) {
    auto r = Get(world->plain_good, profile);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->staple().empty()) << profile;
    EXPECT_EQ(r->status(), v1::NOT_CHECKED) << profile;
  }
  EXPECT_EQ(manager_->registered(), 0u);
  EXPECT_EQ(world->relay->requests(), 0);
}

TEST_F(StapleManagerTest, AlwaysStaplesEveryCertificate) {
  auto r = Get(world->plain_good, "always");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status(), v1::GOOD);
  EXPECT_FALSE(r->staple().empty());
}

TEST_F(StapleManagerTest, NeverStaplesNothing) {
  auto r = Get(world->ms_good, "never");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->staple().empty());
  EXPECT_EQ(r->status(), v1::NOT_CHECKED);
  // The request's mode overrides the profile's.
  r = Get(world->ms_good, "always", v1::NEVER);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->staple().empty());
  EXPECT_EQ(world->relay->requests(), 0);
}

// The seed's shutdown column: auto never asks to stop; must and always do for revoked and unknown.
TEST_F(StapleManagerTest, RevokedStapleInEachMode) {
  struct Case {
    const Issued* leaf;
    v1::StapleMode mode;
    v1::OcspStatus status;
    bool stop;
  };
  const Case cases[] = {
      {&world->ms_revoked, v1::AUTO, v1::REVOKED, false},   {&world->ms_revoked, v1::MUST, v1::REVOKED, true},
      {&world->ms_revoked, v1::ALWAYS, v1::REVOKED, true},  {&world->ms_revoked, v1::NEVER, v1::NOT_CHECKED, false},
      {&world->plain_revoked, v1::AUTO, v1::NOT_CHECKED, false},
      {&world->plain_revoked, v1::MUST, v1::NOT_CHECKED, false},
      {&world->plain_revoked, v1::ALWAYS, v1::REVOKED, true}, {&world->ms_unknown, v1::AUTO, v1::UNKNOWN, false},
      {&world->ms_unknown, v1::MUST, v1::UNKNOWN, true},    {&world->ms_unknown, v1::ALWAYS, v1::UNKNOWN, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(NameToString(X509_get_subject_name(c.leaf->cert.get())), " mode ",
                              v1::StapleMode_Name(c.mode)));
    auto r = Get(*c.leaf, "", c.mode);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status(), c.status);
    EXPECT_EQ(r->must_stop_serving(), c.stop);
    EXPECT_EQ(r->staple().empty(), c.status == v1::NOT_CHECKED);
  }
}

TEST_F(StapleManagerTest, IssuerFromCaBundle) {
  auto r = manager_->GetStaple(Request({&world->ms_good, &world->other_ca, &world->impostor_ca, &world->ca}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status(), v1::GOOD);
}

TEST_F(StapleManagerTest, NoIssuerIsAClearError) {
  auto alone = manager_->GetStaple(Request({&world->ms_good}));
  EXPECT_EQ(alone.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(alone.status().message().find("send the leaf followed by its issuer"), std::string::npos)
      << alone.status();
  // Same name as the issuer, wrong key: the signature check refuses it.
  auto impostor = manager_->GetStaple(Request({&world->ms_good, &world->impostor_ca}));
  EXPECT_EQ(impostor.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(impostor.status().message().find("no issuer for [CN=good.sigil.test,O=Sigil Tests]"), std::string::npos)
      << impostor.status();
  EXPECT_EQ(manager_->GetStaple(v1::GetStapleRequest()).status().code(), absl::StatusCode::kInvalidArgument);
  v1::GetStapleRequest garbage;
  garbage.add_certificates("not a certificate");
  EXPECT_EQ(manager_->GetStaple(garbage).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Get(world->ms_good, "nosuchprofile").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(StapleManagerTest, UrlOverridesAia) {
  auto no_url = Get(world->ms_no_aia);
  EXPECT_EQ(no_url.status().code(), absl::StatusCode::kFailedPrecondition);
  // Profile url.
  auto r = Get(world->ms_no_aia, "override");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status(), v1::GOOD);
  // Request url over a dead AIA.
  v1::GetStapleRequest request = Request({&world->ms_dead_aia, &world->ca});
  request.set_url(world->relay->url());
  r = manager_->GetStaple(request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status(), v1::GOOD);
}

TEST_F(StapleManagerTest, ResponderDownAtStartGivesNoStapleAndBacksOff) {
  auto r = Get(world->ms_dead_aia);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->staple().empty());
  EXPECT_EQ(r->status(), v1::NO_RESPONSE);
  const double retry_in = absl::ToDoubleSeconds(FromProto(r->next_refresh()) - clock_->Now());
  EXPECT_GE(retry_in, 27);
  EXPECT_LE(retry_in, 33);
}

TEST_F(StapleManagerTest, RefreshAtHalfRemainingValidity) {
  auto first = Get(world->ms_good);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(manager_->RefreshDue(), 0) << "nothing is due yet";
  world->relay->ResetCounts();
  clock_->Set(FromProto(first->next_refresh()) + absl::Milliseconds(1));
  EXPECT_EQ(manager_->RefreshDue(), 1);
  EXPECT_EQ(world->relay->requests(), 1);
  auto second = Get(world->ms_good);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->status(), v1::GOOD);
  // The responder signs at real time: the new staple expires 60 min after it, the clock is ~30 min ahead.
  const absl::Duration remaining = FromProto(second->next_update()) - clock_->Now();
  const absl::Duration next = FromProto(second->next_refresh()) - clock_->Now();
  EXPECT_GE(next, remaining / 2 * 0.9 - absl::Seconds(2));
  EXPECT_LE(next, remaining / 2 * 1.1 + absl::Seconds(2));
}

TEST_F(StapleManagerTest, FailedRefreshKeepsTheValidStapleAndBacksOff) {
  auto first = Get(world->ms_fault);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->status(), v1::GOOD);
  for (OcspFrontend::Mode mode : {OcspFrontend::Mode::kStatus500, OcspFrontend::Mode::kGarbage}) {
    world->fault->SetMode(mode);
    absl::Duration previous_backoff;
    for (int attempt = 1; attempt <= 3; ++attempt) {
      auto before = Get(world->ms_fault);
      ASSERT_TRUE(before.ok());
      clock_->Set(FromProto(before->next_refresh()) + absl::Milliseconds(1));
      EXPECT_EQ(manager_->RefreshDue(), 1);
      auto after = Get(world->ms_fault);
      ASSERT_TRUE(after.ok());
      EXPECT_EQ(after->staple(), before->staple()) << "a failed refresh never replaces a valid staple";
      EXPECT_EQ(after->status(), v1::GOOD);
      const absl::Duration backoff = FromProto(after->next_refresh()) - clock_->Now();
      // 30 s, 60 s, 120 s, each ±10 %.
      const absl::Duration nominal = absl::Seconds(30) * (1 << (attempt - 1));
      EXPECT_GE(backoff, nominal * 0.9);
      EXPECT_LE(backoff, nominal * 1.1);
      if (attempt > 1) {
        EXPECT_GT(backoff, previous_backoff);
      }
      previous_backoff = backoff;
    }
    // Recovery resets the backoff.
    world->fault->SetMode(OcspFrontend::Mode::kRelay);
    auto before = Get(world->ms_fault);
    clock_->Set(FromProto(before->next_refresh()) + absl::Milliseconds(1));
    EXPECT_EQ(manager_->RefreshDue(), 1);
    auto recovered = Get(world->ms_fault);
    ASSERT_TRUE(recovered.ok());
    // Back to half the remaining validity (±10 %), no longer the backoff.
    const absl::Duration half = (FromProto(recovered->next_update()) - clock_->Now()) / 2;
    const absl::Duration next = FromProto(recovered->next_refresh()) - clock_->Now();
    EXPECT_GE(next, half * 0.9 - absl::Seconds(1));
    EXPECT_LE(next, half * 1.1 + absl::Seconds(1));
  }
}

TEST_F(StapleManagerTest, ExpiredStapleIsNotServed) {
  auto first = Get(world->ms_fault);
  ASSERT_TRUE(first.ok());
  world->fault->SetMode(OcspFrontend::Mode::kClose);
  clock_->Set(FromProto(first->next_update()) + absl::Minutes(5));
  manager_->RefreshDue();
  auto r = Get(world->ms_fault);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->staple().empty());
  EXPECT_EQ(r->status(), v1::NO_RESPONSE);
}

TEST_F(StapleManagerTest, PersistedStapleServedAfterRestartWithResponderDown) {
  auto first = Get(world->ms_fault);
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->staple().empty());
  manager_.reset();
  world->fault->SetMode(OcspFrontend::Mode::kClose);
  world->fault->ResetCounts();
  clock_->Advance(absl::Minutes(10));
  manager_ = NewManager();
  auto r = Get(world->ms_fault);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->staple(), first->staple());
  EXPECT_EQ(r->status(), v1::GOOD);
  EXPECT_EQ(world->fault->requests(), 0) << "a valid persisted staple needs no responder";
  // Refresh is scheduled at half of what remains (~25 min), not immediately.
  EXPECT_GT(FromProto(r->next_refresh()) - clock_->Now(), absl::Minutes(10));
}

TEST_F(StapleManagerTest, ExpiredPersistedStapleIsNotServed) {
  auto first = Get(world->ms_fault);
  ASSERT_TRUE(first.ok());
  manager_.reset();
  world->fault->SetMode(OcspFrontend::Mode::kClose);
  clock_->Set(FromProto(first->next_update()) + absl::Minutes(5));
  manager_ = NewManager();
  auto r = Get(world->ms_fault);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->staple().empty());
  EXPECT_EQ(r->status(), v1::NO_RESPONSE);
}

TEST_F(StapleManagerTest, WithoutStoreDirNothingIsPersisted) {
  StapleManagerOptions options = Options();
  options.store_dir = "";
  manager_ = NewManager(options);
  ASSERT_TRUE(Get(world->ms_good).ok());
  // (The fixture's first manager created the directory; nothing was written into it.)
  DIR* dir = opendir((store_dir_ + "/staples").c_str());
  ASSERT_NE(dir, nullptr);
  int files = 0;
  while (dirent* e = readdir(dir)) files += e->d_name[0] == '.' ? 0 : 1;
  closedir(dir);
  EXPECT_EQ(files, 0);
}

TEST_F(StapleManagerTest, BackgroundThreadRefreshesWithSystemClock) {
  // The one test on the system clock: the thread must fetch, after min_backoff, a staple whose first fetch
  // failed. Polls for at most 20 s; normally done in ~100 ms.
  StapleManagerOptions fast = Options();
  fast.start_refresh_thread = true;
  fast.min_backoff = absl::Milliseconds(100);
  fast.jitter = 0;
  auto backing_off = StapleManager::Create(fast, fetcher_, std::make_shared<cache::SystemClock>());
  ASSERT_TRUE(backing_off.ok());
  world->fault->SetMode(OcspFrontend::Mode::kStatus500);
  auto r = (*backing_off)->GetStaple(Request({&world->ms_fault, &world->ca}));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->staple().empty());
  world->fault->SetMode(OcspFrontend::Mode::kRelay);
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    r = (*backing_off)->GetStaple(Request({&world->ms_fault, &world->ca}));
    if (r.ok() && !r->staple().empty()) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status(), v1::GOOD) << "the refresh thread fetched the staple after the backoff";
}

// VerifyStaple: what a route/gateway checks on its peer's staple.
class VerifyStapleTest : public StapleManagerTest {
 protected:
  absl::StatusOr<v1::VerifyStapleResponse> Verify(const std::string& staple, const Issued& leaf,
                                                  absl::Time now) {
    v1::VerifyStapleRequest request;
    request.set_staple(staple);
    request.add_certificates(leaf.CertDer());
    request.add_certificates(world->ca.CertDer());
    return VerifyStaple(request, profiles_, now);
  }
  std::map<std::string, OcspPeerOptions> profiles_;
};

TEST_F(VerifyStapleTest, GoodStapleIsValid) {
  auto staple = Get(world->ms_good);
  ASSERT_TRUE(staple.ok());
  auto v = Verify(staple->staple(), world->ms_good, clock_->Now());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->valid());
  EXPECT_EQ(v->status(), v1::GOOD);
  EXPECT_EQ(v->failure(), "");
}

TEST_F(VerifyStapleTest, RevokedStapleIsInvalid) {
  auto staple = Get(world->ms_revoked);
  ASSERT_TRUE(staple.ok());
  auto v = Verify(staple->staple(), world->ms_revoked, clock_->Now());
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->valid());
  EXPECT_EQ(v->status(), v1::REVOKED);
  EXPECT_EQ(v->failure(), "Invalid OCSP response status: revoked");
}

TEST_F(VerifyStapleTest, StapleForAnotherCertificateIsRefused) {
  auto staple = Get(world->ms_good);
  ASSERT_TRUE(staple.ok());
  auto v = Verify(staple->staple(), world->ms_revoked, clock_->Now());
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->valid());
  EXPECT_EQ(v->failure().rfind("Failed OCSP response parse", 0), 0u) << v->failure();
}

TEST_F(VerifyStapleTest, StaleStapleIsRefusedBeyondSkew) {
  auto staple = Get(world->ms_good);
  ASSERT_TRUE(staple.ok());
  const absl::Time next_update = FromProto(staple->next_update());
  auto within = Verify(staple->staple(), world->ms_good, next_update + absl::Seconds(20));
  ASSERT_TRUE(within.ok());
  EXPECT_TRUE(within->valid()) << "within the default 30 s skew";
  auto beyond = Verify(staple->staple(), world->ms_good, next_update + absl::Seconds(40));
  ASSERT_TRUE(beyond.ok());
  EXPECT_FALSE(beyond->valid());
  EXPECT_EQ(beyond->failure(), "OCSP response not in effectivity window");
}

TEST_F(VerifyStapleTest, UnauthorizedSignerIsRefused) {
  sigil::testing::ResponseSpec spec;
  auto der = sigil::testing::MakeOcspResponse(world->ms_good.cert.get(), world->ca.cert.get(),
                                              world->delegate_no_eku.cert.get(), world->delegate_no_eku.key.get(),
                                              spec);
  ASSERT_TRUE(der.ok()) << der.status();
  auto v = Verify(*der, world->ms_good, absl::Now());
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->valid());
  EXPECT_EQ(v->failure().rfind("Invalid OCSP response delegation", 0), 0u) << v->failure();
}

TEST_F(VerifyStapleTest, NoStapleAndBadRequests) {
  auto v = Verify("", world->ms_good, absl::Now());
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->valid());
  EXPECT_EQ(v->failure(), kNoStaple);
  v1::VerifyStapleRequest request;
  request.set_staple("x");
  EXPECT_EQ(VerifyStaple(request, profiles_, absl::Now()).status().code(), absl::StatusCode::kInvalidArgument);
  request.add_certificates(world->ms_good.CertDer());
  EXPECT_EQ(VerifyStaple(request, profiles_, absl::Now()).status().code(), absl::StatusCode::kInvalidArgument);
  request.add_certificates(world->ca.CertDer());
  request.set_profile("nosuch");
  EXPECT_EQ(VerifyStaple(request, profiles_, absl::Now()).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CertificatesTest, MustStapleDetection) {
  CertSpec spec;
  spec.subject = {{"CN", "x"}};
  spec.must_staple = true;
  auto ms = sigil::testing::SelfSigned(spec, KeySpec::Ec());
  spec.must_staple = false;
  auto plain = sigil::testing::SelfSigned(spec, KeySpec::Ec());
  ASSERT_TRUE(ms.ok() && plain.ok());
  EXPECT_TRUE(HasMustStaple(ms->cert.get()));
  EXPECT_FALSE(HasMustStaple(plain->cert.get()));
}

}  // namespace
}  // namespace sigil::verifier::stapling
