// PeerVerifier against real `openssl ocsp` responders (tests/ocsp/responder_harness.h) over a PKI the
// test generates: root → intermediates (AIA → the root's responder) → leaves (AIA → the intermediate's
// responders). Responders are reached through in-test HTTP front ends that relay or inject faults. The
// clock is injected (FakeClock); the cache is a real RocksDbOcspCache per test. Cases are named after
// what they check.
#include "verifier/peer_verifier.h"

#include <atomic>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "cache/fake_clock.h"
#include "cache/rocksdb_cache.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/ocsp/responder_harness.h"
#include "tests/pki/mtls_pki.h"
#include "tests/pki/test_pki.h"
#include "verifier/ocsp/ocsp_request.h"

namespace sigil::verifier {
namespace {

using ::sigil::testing::CertSpec;
using ::sigil::testing::Issued;
using ::sigil::testing::KeySpec;
using ::sigil::testing::OcspFrontend;
using ::sigil::testing::OpenSslResponder;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Counts fetches (HTTP exchanges) going through the real fetcher.
class CountingFetcher final : public ocsp::HttpFetcher {
 public:
  explicit CountingFetcher(std::unique_ptr<ocsp::HttpFetcher> real) : real_(std::move(real)) {}
  absl::StatusOr<std::string> Fetch(const ocsp::HttpRequest& request) override {
    count_.fetch_add(1);
    absl::StatusOr<std::string> body = real_->Fetch(request);
    absl::MutexLock lock(&mu_);
    last_status_ = body.status();
    return body;
  }
  int count() const { return count_.load(); }
  // The outcome of the last fetch.
  absl::Status last_status() const {
    absl::MutexLock lock(&mu_);
    return last_status_;
  }

 private:
  std::unique_ptr<ocsp::HttpFetcher> real_;
  std::atomic<int> count_{0};
  mutable absl::Mutex mu_;
  absl::Status last_status_ ABSL_GUARDED_BY(mu_);
};

Issued Must(absl::StatusOr<Issued> issued) {
  EXPECT_TRUE(issued.ok()) << issued.status();
  return *std::move(issued);
}

CertSpec Spec(const std::string& cn, std::vector<std::string> ocsp_urls, bool is_ca = false) {
  CertSpec spec;
  spec.subject = {{"O", "Sigil Tests"}, {"CN", cn}};
  spec.is_ca = is_ca;
  spec.ocsp_urls = std::move(ocsp_urls);
  return spec;
}

// Everything shared by the suite: PKI, responders, front ends.
struct World {
  std::string dir;
  std::unique_ptr<OcspFrontend> f_root, f_int, f_deleg, f_baddeleg, f_nonext, f_getonly, f_postonly, f_fault;
  Issued root, intermediate, revoked_int, unknown_int, noaia_int, delegate, bad_delegate;
  Issued good_client, good_client_rsa, unknown_client, revoked_client, server_leaf, deleg_client, baddeleg_client,
      nonext_client, getonly_client, postonly_client, fault_client, fault_revoked_client, concurrent_client,
      leaf_of_revoked_int, leaf_of_unknown_int, noaia_leaf, self_signed;
  std::vector<std::unique_ptr<OpenSslResponder>> responders;
};

World* world = nullptr;

std::unique_ptr<OcspFrontend> Frontend() {
  auto f = OcspFrontend::Start();
  EXPECT_TRUE(f.ok()) << f.status();
  return *std::move(f);
}

void WriteOrDie(const std::string& path, const std::string& contents) {
  ASSERT_TRUE(sigil::testing::WriteFile(path, contents).ok()) << path;
}

int StartResponder(const std::string& name, const std::string& index, const Issued& ca, const Issued& signer,
                   std::optional<int> nmin) {
  const std::string base = absl::StrCat(world->dir, "/", name);
  sigil::testing::OpenSslResponderSpec spec;
  spec.index_file = index;
  spec.ca_file = base + "-ca.pem";
  spec.signer_cert_file = base + "-signer.pem";
  spec.signer_key_file = base + "-signer.key";
  spec.log_file = base + ".log";
  spec.next_update_minutes = nmin;
  EXPECT_TRUE(sigil::testing::WriteFile(spec.ca_file, ca.CertPem()).ok());
  EXPECT_TRUE(sigil::testing::WriteFile(spec.signer_cert_file, signer.CertPem()).ok());
  EXPECT_TRUE(sigil::testing::WriteFile(spec.signer_key_file, signer.KeyPem()).ok());
  auto responder = OpenSslResponder::Start(spec);
  EXPECT_TRUE(responder.ok()) << responder.status();
  if (!responder.ok()) return 0;
  int port = (*responder)->port();
  world->responders.push_back(*std::move(responder));
  return port;
}

// Builds the world once for every suite of this file and tears it down at exit.
class WorldEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override {
    delete world;
    world = nullptr;
  }
};
::testing::Environment* const kWorld = ::testing::AddGlobalTestEnvironment(new WorldEnvironment);

class PeerVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override;

  static v1::Chain Chain(std::vector<const Issued*> certs) {
    v1::Chain chain;
    for (const Issued* c : certs) chain.add_certificates(c->CertDer());
    return chain;
  }
  // The usual chain leaf → Intermediate CA → root.
  static v1::Chain Usual(const Issued& leaf) { return Chain({&leaf, &world->intermediate, &world->root}); }

  absl::StatusOr<v1::VerifyPeerResponse> Verify(std::vector<v1::Chain> chains, const std::string& profile = "",
                                                v1::PeerRole role = v1::CLIENT) {
    v1::VerifyPeerRequest request;
    request.set_peer_role(role);
    request.set_kind("Client");
    request.set_profile(profile);
    for (auto& c : chains) *request.add_chains() = std::move(c);
    return verifier_->Verify(request);
  }

  std::shared_ptr<cache::FakeClock> clock_;
  std::shared_ptr<cache::OcspCache> cache_;
  std::shared_ptr<CountingFetcher> fetcher_;
  std::unique_ptr<PeerVerifier> verifier_;
};

void WorldEnvironment::SetUp() {
    world = new World;
    World& w = *world;
    w.dir = sigil::testing::MakeTestDir("peer_verifier_test");
    w.f_root = Frontend();
    w.f_int = Frontend();
    w.f_deleg = Frontend();
    w.f_baddeleg = Frontend();
    w.f_nonext = Frontend();
    w.f_getonly = Frontend();
    w.f_postonly = Frontend();
    w.f_fault = Frontend();
    const std::string unreachable = absl::StrCat("http://127.0.0.1:", sigil::testing::UnusedPort(), "/");
    const KeySpec ec = KeySpec::Ec();

    w.root = Must(sigil::testing::SelfSigned(Spec("Test Root CA", {}, true), ec));
    w.intermediate = Must(sigil::testing::IssueCert(Spec("Intermediate CA", {w.f_root->url()}, true), ec, w.root));
    w.revoked_int = Must(sigil::testing::IssueCert(Spec("Revoked Intermediate CA", {w.f_root->url()}, true), ec, w.root));
    w.unknown_int = Must(sigil::testing::IssueCert(Spec("Unknown Intermediate CA", {w.f_root->url()}, true), ec, w.root));
    w.noaia_int = Must(sigil::testing::IssueCert(Spec("No AIA Intermediate CA", {}, true), ec, w.root));
    CertSpec delegate = Spec("OCSP Responder", {});
    delegate.extended_key_usages = {"OCSPSigning"};
    w.delegate = Must(sigil::testing::IssueCert(delegate, ec, w.intermediate));
    w.bad_delegate = Must(sigil::testing::IssueCert(Spec("Not An OCSP Responder", {}), ec, w.intermediate));

    auto leaf = [&](const std::string& cn, std::vector<std::string> urls, const Issued& issuer,
                    KeySpec key = KeySpec::Ec()) {
      CertSpec spec = Spec(cn, std::move(urls));
      spec.extended_key_usages = {"clientAuth", "serverAuth"};
      return Must(sigil::testing::IssueCert(spec, key, issuer));
    };
    w.good_client = leaf("UserA1", {w.f_int->url()}, w.intermediate);
    w.good_client_rsa = leaf("UserA2", {w.f_int->url()}, w.intermediate, KeySpec::Rsa(2048));
    w.unknown_client = leaf("UnknownUser", {w.f_int->url()}, w.intermediate);
    w.revoked_client = leaf("BadUserA1", {w.f_int->url()}, w.intermediate);
    w.server_leaf = leaf("server.sigil.test", {w.f_int->url()}, w.intermediate);
    w.deleg_client = leaf("DelegatedUser", {w.f_deleg->url()}, w.intermediate);
    w.baddeleg_client = leaf("BadDelegateUser", {w.f_baddeleg->url()}, w.intermediate);
    w.nonext_client = leaf("NoNextUpdateUser", {w.f_nonext->url()}, w.intermediate);
    w.getonly_client = leaf("GetOnlyUser", {unreachable, w.f_getonly->url()}, w.intermediate);
    w.postonly_client = leaf("PostOnlyUser", {unreachable, w.f_postonly->url()}, w.intermediate);
    w.fault_client = leaf("FaultUser", {w.f_fault->url()}, w.intermediate);
    w.fault_revoked_client = leaf("FaultRevokedUser", {w.f_fault->url()}, w.intermediate);
    w.concurrent_client = leaf("ConcurrentUser", {w.f_int->url()}, w.intermediate);
    w.leaf_of_revoked_int = leaf("UserOfRevokedCA", {}, w.revoked_int);
    w.leaf_of_unknown_int = leaf("UserOfUnknownCA", {}, w.unknown_int);
    w.noaia_leaf = leaf("NoAiaUser", {}, w.noaia_int);
    w.self_signed = Must(sigil::testing::SelfSigned(Spec("SelfSignedPeer", {}), ec));

    const int64_t revoked_at = sigil::testing::NowUnix() - 3600;
    const std::string root_index = w.dir + "/root-index.txt";
    WriteOrDie(root_index, sigil::testing::OpenSslIndexLine(w.intermediate.cert.get(), 'V', 0) +
                               sigil::testing::OpenSslIndexLine(w.revoked_int.cert.get(), 'R', revoked_at) +
                               sigil::testing::OpenSslIndexLine(w.noaia_int.cert.get(), 'V', 0));
    std::string int_index;
    for (const Issued* c : {&w.good_client, &w.good_client_rsa, &w.server_leaf, &w.deleg_client, &w.baddeleg_client,
                            &w.nonext_client, &w.getonly_client, &w.postonly_client, &w.fault_client,
                            &w.concurrent_client}) {
      int_index += sigil::testing::OpenSslIndexLine(c->cert.get(), 'V', 0);
    }
    for (const Issued* c : {&w.revoked_client, &w.fault_revoked_client}) {
      int_index += sigil::testing::OpenSslIndexLine(c->cert.get(), 'R', revoked_at);
    }
    WriteOrDie(w.dir + "/int-index.txt", int_index);

    w.f_root->SetBackendPort(StartResponder("root", root_index, w.root, w.root, 60));
    const int r_int = StartResponder("int", w.dir + "/int-index.txt", w.intermediate, w.intermediate, 60);
    w.f_int->SetBackendPort(r_int);
    w.f_getonly->SetBackendPort(r_int);
    w.f_postonly->SetBackendPort(r_int);
    w.f_fault->SetBackendPort(r_int);
    w.f_deleg->SetBackendPort(StartResponder("deleg", w.dir + "/int-index.txt", w.intermediate, w.delegate, 60));
    w.f_baddeleg->SetBackendPort(
        StartResponder("baddeleg", w.dir + "/int-index.txt", w.intermediate, w.bad_delegate, 60));
    w.f_nonext->SetBackendPort(
        StartResponder("nonext", w.dir + "/int-index.txt", w.intermediate, w.intermediate, std::nullopt));
    w.f_getonly->SetMode(OcspFrontend::Mode::kGetOnly);
    w.f_postonly->SetMode(OcspFrontend::Mode::kPostOnly);
}

void PeerVerifierTest::SetUp() {
    world->f_fault->SetMode(OcspFrontend::Mode::kRelay);
    for (auto* f : {world->f_root.get(), world->f_int.get(), world->f_getonly.get(), world->f_postonly.get(),
                    world->f_fault.get()}) {
      f->ResetCounts();
    }
    clock_ = std::make_shared<cache::FakeClock>(absl::Now());
    cache::RocksDbOcspCacheOptions cache_options;
    static int n = 0;
    cache_options.local_store = absl::StrCat(world->dir, "/cache-", ++n);
    auto cache = cache::RocksDbOcspCache::Create(cache_options, clock_);
    ASSERT_TRUE(cache.ok()) << cache.status();
    cache_ = *std::move(cache);
    auto curl = ocsp::CurlHttpFetcher::Create();
    ASSERT_TRUE(curl.ok());
    fetcher_ = std::make_shared<CountingFetcher>(*std::move(curl));

    OcspPeerOptions base;
    base.verify = true;
    base.ca_timeout = absl::Seconds(1);
    std::map<std::string, OcspPeerOptions> profiles;
    profiles["default"] = base;
    OcspPeerOptions p = base;
    p.warn_only = true;
    profiles["warn_only"] = p;
    p = base;
    p.unknown_is_good = true;
    profiles["unknown_is_good"] = p;
    p = base;
    p.allow_when_ca_unreachable = true;
    profiles["allow_unreachable"] = p;
    p = base;
    p.cache_ttl_when_next_update_unset = absl::Seconds(60);
    profiles["ttl60"] = p;
    p = base;
    p.cert_id_digest = EVP_sha512();
    profiles["sha512"] = p;
    p = base;
    p.verify = false;
    profiles["disabled"] = p;
    auto verifier = PeerVerifier::Create(profiles, cache_, fetcher_, clock_);
    ASSERT_TRUE(verifier.ok()) << verifier.status();
    verifier_ = *std::move(verifier);
}

TEST_F(PeerVerifierTest, GoodClientsAllowed) {
  for (const Issued* leaf : {&world->good_client, &world->good_client_rsa}) {
    auto r = Verify({Usual(*leaf)});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->allowed());
    EXPECT_EQ(r->reason(), "");
    ASSERT_EQ(r->chains_size(), 1);
    const v1::ChainResult& c = r->chains(0);
    EXPECT_TRUE(c.valid());
    ASSERT_EQ(c.links_size(), 3);
    EXPECT_EQ(c.links(0).status(), v1::GOOD);
    EXPECT_EQ(c.links(0).source(), v1::RESPONDER);
    EXPECT_TRUE(c.links(0).valid());
    EXPECT_EQ(c.links(0).subject(), NameToString(X509_get_subject_name(leaf->cert.get())));
    EXPECT_EQ(c.links(0).issuer(), "CN=Intermediate CA,O=Sigil Tests");
    EXPECT_EQ(c.links(0).fingerprint(), cache::CacheKey(leaf->CertDer()));
    EXPECT_EQ(c.links(1).status(), v1::GOOD);
    EXPECT_EQ(c.links(2).status(), v1::NOT_CHECKED);  // The trust anchor.
  }
}

TEST_F(PeerVerifierTest, UndelegatedSignerAccepted) {
  auto r = Verify({Usual(world->good_client)});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->allowed());
}

TEST_F(PeerVerifierTest, UnknownClientRejected) {
  auto r = Verify({Usual(world->unknown_client)});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->allowed());
  EXPECT_EQ(r->reason(), "client not OCSP valid");
  EXPECT_EQ(r->chains(0).links(0).status(), v1::UNKNOWN);
  EXPECT_EQ(r->chains(0).links(0).failure(), "Invalid OCSP response status: unknown");
  EXPECT_FALSE(r->chains(0).valid());
  EXPECT_EQ(r->chains(0).links(1).status(), v1::NOT_CHECKED);  // Evaluation stopped at the first failure.
}

TEST_F(PeerVerifierTest, RevokedClientRejected) {
  auto r = Verify({Usual(world->revoked_client)});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->allowed());
  EXPECT_EQ(r->reason(), "client not OCSP valid");
  EXPECT_EQ(r->chains(0).links(0).status(), v1::REVOKED);
  EXPECT_EQ(r->chains(0).links(0).failure(), "Invalid OCSP response status: revoked");
}

TEST_F(PeerVerifierTest, RevokedIntermediateRejected) {
  auto r = Verify({Chain({&world->leaf_of_revoked_int, &world->revoked_int, &world->root})});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->allowed());
  EXPECT_EQ(r->chains(0).links(0).status(), v1::NOT_CHECKED);  // No AIA on the leaf.
  EXPECT_EQ(r->chains(0).links(1).status(), v1::REVOKED);
  EXPECT_EQ(r->chains(0).links(1).failure(), "Invalid OCSP response status: revoked");
}

TEST_F(PeerVerifierTest, UnknownIntermediateRejected) {
  auto r = Verify({Chain({&world->leaf_of_unknown_int, &world->unknown_int, &world->root})});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->allowed());
  EXPECT_EQ(r->chains(0).links(1).status(), v1::UNKNOWN);
}

TEST_F(PeerVerifierTest, SelfSignedPeerAllowed) {
  auto r = Verify({Chain({&world->self_signed})});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->allowed());
  EXPECT_TRUE(r->chains(0).valid());
  EXPECT_EQ(fetcher_->count(), 0);
}

TEST_F(PeerVerifierTest, ChainWithoutAiaAllowed) {
  auto r = Verify({Chain({&world->noaia_leaf, &world->noaia_int, &world->root})});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->allowed());
  EXPECT_EQ(r->chains(0).links(0).status(), v1::NOT_CHECKED);
  EXPECT_EQ(fetcher_->count(), 0);
}

TEST_F(PeerVerifierTest, FirstValidChainAccepts) {
  auto r = Verify({Usual(world->revoked_client), Chain({&world->noaia_leaf, &world->noaia_int, &world->root}),
                   Usual(world->unknown_client)});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->allowed());
  EXPECT_FALSE(r->chains(0).valid());
  EXPECT_TRUE(r->chains(1).valid());
  EXPECT_EQ(r->chains(2).links(0).status(), v1::NOT_CHECKED);  // Not evaluated.
}

TEST_F(PeerVerifierTest, ServerRolePeer) {
  auto good = Verify({Usual(world->server_leaf)}, "", v1::SERVER);
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(good->allowed());
  auto bad = Verify({Usual(world->revoked_client)}, "", v1::SERVER);
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(bad->allowed());
  EXPECT_EQ(bad->reason(), "server not OCSP valid");
}

TEST_F(PeerVerifierTest, WarnOnlyAllowsButReports) {
  auto r = Verify({Usual(world->revoked_client)}, "warn_only");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->allowed());
  EXPECT_EQ(r->reason(), "client not OCSP valid");
  EXPECT_EQ(r->chains(0).links(0).failure(), "Invalid OCSP response status: revoked");
}

TEST_F(PeerVerifierTest, UnknownIsGood) {
  auto r = Verify({Usual(world->unknown_client)}, "unknown_is_good");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->allowed());
  EXPECT_EQ(r->chains(0).links(0).status(), v1::UNKNOWN);
  EXPECT_TRUE(r->chains(0).links(0).valid());
  // A revocation is still a revocation.
  auto revoked = Verify({Usual(world->revoked_client)}, "unknown_is_good");
  ASSERT_TRUE(revoked.ok());
  EXPECT_FALSE(revoked->allowed());
}

TEST_F(PeerVerifierTest, AllowWhenCaUnreachableWithoutCachedRevocation) {
  world->f_fault->SetMode(OcspFrontend::Mode::kClose);
  auto strict = Verify({Usual(world->fault_client)});
  ASSERT_TRUE(strict.ok());
  EXPECT_FALSE(strict->allowed());
  EXPECT_EQ(strict->chains(0).links(0).status(), v1::NO_RESPONSE);
  EXPECT_EQ(strict->chains(0).links(0).failure(), "Failed OCSP response fetch");
  auto lenient = Verify({Usual(world->fault_client)}, "allow_unreachable");
  ASSERT_TRUE(lenient.ok());
  EXPECT_TRUE(lenient->allowed());
  EXPECT_EQ(lenient->chains(0).links(0).status(), v1::NO_RESPONSE);
  EXPECT_TRUE(lenient->chains(0).links(0).valid());
}

TEST_F(PeerVerifierTest, AllowWhenCaUnreachableWithFreshCachedRevocation) {
  auto first = Verify({Usual(world->fault_revoked_client)});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->chains(0).links(0).status(), v1::REVOKED);
  world->f_fault->SetMode(OcspFrontend::Mode::kClose);
  const int fetches = fetcher_->count();
  auto r = Verify({Usual(world->fault_revoked_client)}, "allow_unreachable");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->allowed());
  EXPECT_EQ(r->chains(0).links(0).status(), v1::REVOKED);
  EXPECT_EQ(r->chains(0).links(0).source(), v1::CACHE);
  EXPECT_EQ(fetcher_->count(), fetches);  // Current in the cache: no fetch.
}

TEST_F(PeerVerifierTest, AllowWhenCaUnreachableWithStaleCachedRevocation) {
  auto first = Verify({Usual(world->fault_revoked_client)});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->chains(0).links(0).status(), v1::REVOKED);
  world->f_fault->SetMode(OcspFrontend::Mode::kClose);
  clock_->Advance(absl::Hours(3));  // The responses said NextUpdate = +60 min.
  // Rejected again and again: the revocation is not forgotten after one rejection.
  for (int i = 0; i < 3; ++i) {
    auto r = Verify({Usual(world->fault_revoked_client)}, "allow_unreachable");
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->allowed()) << "attempt " << i;
    EXPECT_EQ(r->chains(0).links(0).status(), v1::REVOKED);
    EXPECT_EQ(r->chains(0).links(0).source(), v1::CACHE);
    EXPECT_EQ(r->chains(0).links(0).failure(), "Invalid OCSP response status: revoked");
  }
  auto entry = cache_->Get(cache::CacheKey(world->fault_revoked_client.CertDer()));
  ASSERT_TRUE(entry.ok());
  EXPECT_TRUE(entry->has_value());
}

TEST_F(PeerVerifierTest, DelegatedSignerAccepted) {
  auto r = Verify({Usual(world->deleg_client)});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->allowed()) << r->DebugString();
}

TEST_F(PeerVerifierTest, BadDelegatedSignerWithoutEkuRejected) {
  auto r = Verify({Usual(world->baddeleg_client)});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->allowed());
  EXPECT_THAT(r->chains(0).links(0).failure(), StartsWith("Invalid OCSP response delegation: "));
  EXPECT_EQ(r->chains(0).links(0).status(), v1::NO_RESPONSE);
}

TEST_F(PeerVerifierTest, NextUpdateUnsetUsesTtl) {
  // The responder's ThisUpdate is the real now; 30 minutes later the default TTL (3600 s) still covers it
  // and a 60 s TTL does not.
  clock_->Advance(absl::Minutes(30));
  auto long_ttl = Verify({Usual(world->nonext_client)});
  ASSERT_TRUE(long_ttl.ok());
  EXPECT_TRUE(long_ttl->allowed()) << long_ttl->DebugString();
  auto entry = cache_->Get(cache::CacheKey(world->nonext_client.CertDer()));
  ASSERT_TRUE(entry.ok() && entry->has_value());
  EXPECT_GT((*entry)->resp_expires, clock_->Now());
  EXPECT_LE((*entry)->resp_expires, clock_->Now() - absl::Minutes(30) + absl::Seconds(3600) + absl::Seconds(5));

  auto short_ttl = Verify({Usual(world->nonext_client)}, "ttl60");
  ASSERT_TRUE(short_ttl.ok());
  EXPECT_FALSE(short_ttl->allowed());
  EXPECT_EQ(short_ttl->chains(0).links(0).failure(), "OCSP response not in effectivity window");
}

TEST_F(PeerVerifierTest, GetOnlyResponderAfterUnreachableUrl) {
  auto r = Verify({Usual(world->getonly_client)});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->allowed()) << r->DebugString();
  EXPECT_EQ(world->f_getonly->gets(), 1);
  EXPECT_EQ(world->f_getonly->posts(), 0);
}

TEST_F(PeerVerifierTest, PostOnlyResponderAfterUnreachableUrl) {
  auto r = Verify({Usual(world->postonly_client)});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->allowed()) << r->DebugString();
  EXPECT_EQ(world->f_postonly->gets(), 1);  // Refused with 405, then asked again by POST.
  EXPECT_EQ(world->f_postonly->posts(), 1);
}

TEST_F(PeerVerifierTest, Sha512CertIdAccepted) {
  auto r = Verify({Usual(world->good_client)}, "sha512");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->allowed()) << r->DebugString();
  EXPECT_EQ(world->f_int->requests(), 1);
}

// Faults of the responder in front of FaultUser: each is a failed fetch or a failed parse.
struct FaultCase {
  std::string name;
  OcspFrontend::Mode mode;
  std::string failure_prefix;
};

class PeerVerifierFaultTest : public PeerVerifierTest, public ::testing::WithParamInterface<FaultCase> {};

TEST_P(PeerVerifierFaultTest, Rejected) {
  world->f_fault->SetMode(GetParam().mode);
  const absl::Time start = absl::Now();
  auto r = Verify({Usual(world->fault_client)});
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->allowed());
  EXPECT_EQ(r->reason(), "client not OCSP valid");
  EXPECT_THAT(r->chains(0).links(0).failure(), StartsWith(GetParam().failure_prefix));
  EXPECT_LT(took, absl::Milliseconds(2500));  // ca_timeout (1 s) bounds the link.
}

INSTANTIATE_TEST_SUITE_P(
    Faults, PeerVerifierFaultTest,
    ::testing::Values(FaultCase{"ResponderTimeout", OcspFrontend::Mode::kHang, "Failed OCSP response fetch"},
                      FaultCase{"SlowBodyByteByByte", OcspFrontend::Mode::kSlowBody, "Failed OCSP response fetch"},
                      FaultCase{"Http500", OcspFrontend::Mode::kStatus500, "Failed OCSP response fetch"},
                      FaultCase{"GarbageBody", OcspFrontend::Mode::kGarbage, "Failed OCSP response parse"},
                      FaultCase{"OversizedBody", OcspFrontend::Mode::kOversized, "Failed OCSP response fetch"},
                      FaultCase{"TenMegabyteBody", OcspFrontend::Mode::kHuge, "Failed OCSP response fetch"},
                      FaultCase{"WrongContentType", OcspFrontend::Mode::kWrongContentType,
                                "Failed OCSP response fetch"},
                      FaultCase{"ConnectionClosed", OcspFrontend::Mode::kClose, "Failed OCSP response fetch"}),
    [](const ::testing::TestParamInfo<FaultCase>& info) { return info.param.name; });

// A responder that answers with a 10 MiB body (issue 10): the fetch stops at max_response_bytes (64 KiB in
// this profile) instead of reading the body, the link fails and the peer is rejected, as for any failed fetch.
TEST_F(PeerVerifierTest, TenMegabyteBodyIsCutAtMaxResponseBytes) {
  world->f_fault->SetMode(OcspFrontend::Mode::kHuge);
  auto r = Verify({Usual(world->fault_client)});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->allowed());
  EXPECT_EQ(r->reason(), "client not OCSP valid");
  EXPECT_EQ(r->chains(0).links(0).failure(), "Failed OCSP response fetch") << r->DebugString();
  // The fetch itself was stopped by the bound, not by a timeout or a reset.
  EXPECT_EQ(fetcher_->last_status().code(), absl::StatusCode::kResourceExhausted) << fetcher_->last_status();
  EXPECT_THAT(fetcher_->last_status().message(), HasSubstr("response body exceeds 65536 bytes"));
  // The front end's handler ends when the verifier hangs up; wait for it (bounded), then check that only a
  // small part of the body ever left it: the client stopped reading, it did not drain 10 MiB.
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (world->f_fault->huge_body_bytes_sent() < 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  const int64_t sent = world->f_fault->huge_body_bytes_sent();
  EXPECT_GE(sent, 64 * 1024);
  EXPECT_LT(sent, OcspFrontend::kHugeBodyBytes / 2) << "bytes the verifier's side accepted: " << sent;
}

TEST_F(PeerVerifierTest, ResponseForAnotherSerialRejected) {
  // A genuine, CA-signed response from the real responder, but about UserA1.
  auto request = ocsp::BuildRequestDer(world->good_client.cert.get(), world->intermediate.cert.get(), EVP_sha1());
  ASSERT_TRUE(request.ok());
  auto curl = ocsp::CurlHttpFetcher::Create();
  ASSERT_TRUE(curl.ok());
  auto other = ocsp::FetchOcspResponse(**curl, {world->f_int->url()}, *request, absl::Seconds(2), 65536);
  ASSERT_TRUE(other.ok()) << other.status();
  world->f_fault->SetFixedBody(*other);
  world->f_fault->SetMode(OcspFrontend::Mode::kFixedBody);
  auto r = Verify({Usual(world->fault_client)});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->allowed());
  EXPECT_EQ(r->chains(0).links(0).failure(),
            "Failed OCSP response parse: no single response for this certificate (CertID mismatch)");
}

TEST_F(PeerVerifierTest, ThisUpdateInTheFutureRejected) {
  clock_->Advance(-absl::Minutes(10));
  auto r = Verify({Usual(world->good_client)});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->allowed());
  EXPECT_EQ(r->chains(0).links(0).failure(), "OCSP response not in effectivity window");
}

TEST_F(PeerVerifierTest, StaleResponseRejected) {
  clock_->Advance(absl::Hours(3));
  auto r = Verify({Usual(world->good_client)});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->allowed());
  EXPECT_EQ(r->chains(0).links(0).failure(), "OCSP response not in effectivity window");
}

TEST_F(PeerVerifierTest, SecondVerificationHitsTheCache) {
  cache::CacheStats before = cache_->Stats();
  EXPECT_EQ(before.cache_hits, 0);
  EXPECT_EQ(before.cache_misses, 0);
  auto first = Verify({Usual(world->good_client)});
  ASSERT_TRUE(first.ok() && first->allowed());
  cache::CacheStats after_first = cache_->Stats();
  EXPECT_EQ(after_first.cache_misses, 2);  // Leaf and intermediate.
  EXPECT_EQ(after_first.cache_hits, 0);
  EXPECT_EQ(after_first.cached_responses, 2);
  EXPECT_EQ(after_first.cached_good_responses, 2);
  const int fetches = fetcher_->count();
  EXPECT_EQ(fetches, 2);

  auto second = Verify({Usual(world->good_client)});
  ASSERT_TRUE(second.ok() && second->allowed());
  EXPECT_EQ(second->chains(0).links(0).source(), v1::CACHE);
  EXPECT_EQ(second->chains(0).links(1).source(), v1::CACHE);
  cache::CacheStats after_second = cache_->Stats();
  EXPECT_EQ(after_second.cache_hits, 2);
  EXPECT_EQ(after_second.cache_misses, 2);
  EXPECT_EQ(after_second.cached_responses, 2);
  EXPECT_EQ(fetcher_->count(), fetches);
}

v1::VerifyPeerRequest Request(std::vector<v1::Chain> chains, const std::string& profile = "") {
  v1::VerifyPeerRequest request;
  request.set_peer_role(v1::CLIENT);
  request.set_kind("Client");
  request.set_profile(profile);
  for (auto& c : chains) *request.add_chains() = std::move(c);
  return request;
}

TEST_F(PeerVerifierTest, MemoryAnswerIsVerifysAnswer) {
  const v1::VerifyPeerRequest request = Request({Usual(world->good_client)});
  EXPECT_FALSE(verifier_->VerifyFromMemory(request).has_value());  // Never seen.
  auto fetched = verifier_->Verify(request);
  ASSERT_TRUE(fetched.ok() && fetched->allowed());
  // Just fetched and stored: not yet confirmed against the cache.
  EXPECT_FALSE(verifier_->VerifyFromMemory(request).has_value());
  auto cached = verifier_->Verify(request);  // Reads the cache: confirms both links.
  ASSERT_TRUE(cached.ok() && cached->allowed());
  const cache::CacheStats before = verifier_->cache()->Stats();

  std::optional<v1::VerifyPeerResponse> remembered = verifier_->VerifyFromMemory(request);
  ASSERT_TRUE(remembered.has_value());
  // Exactly the slow path's answer: verdict, every link's subject, issuer, fingerprint, status, source.
  EXPECT_EQ(remembered->DebugString(), cached->DebugString());
  EXPECT_TRUE(remembered->allowed());
  EXPECT_EQ(remembered->chains(0).links(0).status(), v1::GOOD);
  EXPECT_EQ(remembered->chains(0).links(0).source(), v1::CACHE);
  EXPECT_EQ(remembered->chains(0).links(1).source(), v1::CACHE);
  EXPECT_EQ(remembered->chains(0).links(2).status(), v1::NOT_CHECKED);
  // Counted as the two cache hits Verify would have made; nothing fetched.
  const cache::CacheStats after = verifier_->cache()->Stats();
  EXPECT_EQ(after.cache_hits, before.cache_hits + 2);
  EXPECT_EQ(after.cache_misses, before.cache_misses);
  EXPECT_EQ(fetcher_->count(), 2);
  // And Verify still says the same afterwards.
  auto again = verifier_->Verify(request);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->DebugString(), remembered->DebugString());
}

TEST_F(PeerVerifierTest, MemoryAnswersUnknownIsGoodLikeVerify) {
  const v1::VerifyPeerRequest request = Request({Usual(world->unknown_client)}, "unknown_is_good");
  ASSERT_TRUE(verifier_->Verify(request).ok());
  auto cached = verifier_->Verify(request);
  ASSERT_TRUE(cached.ok() && cached->allowed());
  std::optional<v1::VerifyPeerResponse> remembered = verifier_->VerifyFromMemory(request);
  ASSERT_TRUE(remembered.has_value());
  EXPECT_EQ(remembered->chains(0).links(0).status(), v1::UNKNOWN);
  EXPECT_EQ(remembered->DebugString(), cached->DebugString());
  // The same certificate under the strict profile is a rejection: never answered from memory.
  EXPECT_FALSE(verifier_->VerifyFromMemory(Request({Usual(world->unknown_client)})).has_value());
}

TEST_F(PeerVerifierTest, RejectionsAndWarnOnlyAreNeverAnsweredFromMemory) {
  for (const std::string profile : {"", "warn_only"}) {
    const v1::VerifyPeerRequest request = Request({Usual(world->revoked_client)}, profile);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(verifier_->Verify(request).ok());
    EXPECT_FALSE(verifier_->VerifyFromMemory(request).has_value()) << profile;
  }
}

TEST_F(PeerVerifierTest, CacheWritesUnconfirmMemory) {
  const v1::VerifyPeerRequest request = Request({Usual(world->good_client)});
  ASSERT_TRUE(verifier_->Verify(request).ok());
  ASSERT_TRUE(verifier_->Verify(request).ok());
  ASSERT_TRUE(verifier_->VerifyFromMemory(request).has_value());

  // A delete through the verifier's cache (as the cache service does): memory no longer answers.
  ASSERT_TRUE(verifier_->cache()->Delete(cache::CacheKey(world->good_client.CertDer())).ok());
  EXPECT_FALSE(verifier_->VerifyFromMemory(request).has_value());
  auto after_delete = verifier_->Verify(request);  // Cache miss; the verdict in memory is still current.
  ASSERT_TRUE(after_delete.ok() && after_delete->allowed());
  EXPECT_EQ(fetcher_->count(), 2);
  ASSERT_TRUE(verifier_->VerifyFromMemory(request).has_value());

  // A purge too.
  ASSERT_TRUE(verifier_->cache()->Purge(cache::PurgeFilter::All()).ok());
  EXPECT_FALSE(verifier_->VerifyFromMemory(request).has_value());
}

TEST_F(PeerVerifierTest, ExpiredVerdictsAreNotAnsweredFromMemory) {
  const v1::VerifyPeerRequest request = Request({Usual(world->good_client)});
  ASSERT_TRUE(verifier_->Verify(request).ok());
  ASSERT_TRUE(verifier_->Verify(request).ok());
  ASSERT_TRUE(verifier_->VerifyFromMemory(request).has_value());
  clock_->Advance(absl::Hours(24 * 400));  // Past every response's window.
  EXPECT_FALSE(verifier_->VerifyFromMemory(request).has_value());
}

TEST_F(PeerVerifierTest, BadRequestsAreLeftToVerify) {
  const v1::VerifyPeerRequest good = Request({Usual(world->good_client)});
  ASSERT_TRUE(verifier_->Verify(good).ok());
  ASSERT_TRUE(verifier_->Verify(good).ok());
  v1::VerifyPeerRequest no_role = good;
  no_role.set_peer_role(v1::PeerRole());
  EXPECT_FALSE(verifier_->VerifyFromMemory(no_role).has_value());
  v1::VerifyPeerRequest unknown_profile = good;
  unknown_profile.set_profile("nope");
  EXPECT_FALSE(verifier_->VerifyFromMemory(unknown_profile).has_value());
  // Known certificates in the wrong order: the issuer check was never passed for these links.
  EXPECT_FALSE(
      verifier_->VerifyFromMemory(Request({Chain({&world->intermediate, &world->good_client, &world->root})}))
          .has_value());
  EXPECT_FALSE(verifier_->VerifyFromMemory(Request({})).has_value());
}

TEST_F(PeerVerifierTest, ConcurrentVerificationsShareOneFetchPerLink) {
  constexpr int kThreads = 100;
  std::vector<std::thread> threads;
  std::atomic<int> allowed{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      auto r = Verify({Usual(world->concurrent_client)});
      if (r.ok() && r->allowed()) allowed.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), kThreads);
  EXPECT_EQ(fetcher_->count(), 2);  // One per eligible link: the leaf and the intermediate.
}

TEST_F(PeerVerifierTest, DisabledProfileChecksNothing) {
  auto r = Verify({Usual(world->revoked_client)}, "disabled");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->allowed());
  EXPECT_EQ(r->chains(0).links(0).status(), v1::NOT_CHECKED);
  EXPECT_EQ(fetcher_->count(), 0);
}

TEST_F(PeerVerifierTest, InvalidArguments) {
  EXPECT_EQ(Verify({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Verify({v1::Chain()}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Verify({Usual(world->good_client)}, "nope").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Verify({Usual(world->good_client)}, "", v1::PEER_ROLE_UNSPECIFIED).status().code(),
            absl::StatusCode::kInvalidArgument);
  v1::Chain garbage;
  garbage.add_certificates("not DER");
  EXPECT_EQ(Verify({garbage}).status().code(), absl::StatusCode::kInvalidArgument);
  // Links out of order: the intermediate is not issued by the leaf.
  EXPECT_EQ(Verify({Chain({&world->intermediate, &world->good_client})}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(fetcher_->count(), 0);
}

}  // namespace
}  // namespace sigil::verifier
