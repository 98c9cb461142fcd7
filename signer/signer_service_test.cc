// The Signer service over real mTLS: every scheme for RSA-2048/3072 and P-256/P-384 identities, verified
// against the certificate's public key; request errors with their codes; authorization by caller.
#include "signer/signer_service.h"

#include <openssl/evp.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/channel.h"
#include "common/config.h"
#include "common/grpc_server.h"
#include "common/openssl_util.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "signer/signature_scheme.h"
#include "signer/stores/registry.h"
#include "tests/pki/mtls_pki.h"

namespace sigil::signer {
namespace {

struct IdentityCase {
  std::string name;
  testing::KeySpec key;
  std::vector<uint32_t> schemes;
};

const std::vector<IdentityCase>& Cases() {
  static const auto* cases = new std::vector<IdentityCase>{
      {"rsa-2048", testing::KeySpec::Rsa(2048), {0x0806, 0x0805, 0x0804, 0x0601, 0x0501, 0x0401, 0x0201}},
      {"rsa-3072", testing::KeySpec::Rsa(3072), {0x0806, 0x0805, 0x0804, 0x0601, 0x0501, 0x0401, 0x0201}},
      {"p-256", testing::KeySpec::Ec(NID_X9_62_prime256v1), {0x0403}},
      {"p-384", testing::KeySpec::Ec(NID_secp384r1), {0x0503}},
  };
  return *cases;
}

class SignerServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string dir = testing::MakeTestDir("signer_service");
    auto pki = testing::MakeMtlsPki(dir);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = new testing::MtlsPki(*std::move(pki));

    config::v1::SignerConfig config;
    for (const IdentityCase& c : Cases()) {
      testing::CertSpec spec;
      spec.subject = {{"CN", c.name}};
      spec.extended_key_usages = {"serverAuth", "clientAuth"};
      auto issued = testing::IssueCert(spec, c.key, pki_->ca);
      ASSERT_TRUE(issued.ok()) << issued.status();
      std::string cert = absl::StrCat(dir, "/", c.name, ".pem");
      std::string key = absl::StrCat(dir, "/", c.name, "-key.pem");
      // The chain file carries the CA too; GetCertificateChain must leave the self-signed anchor out.
      ASSERT_TRUE(testing::WriteFile(cert, issued->CertPem() + pki_->ca.CertPem()).ok());
      ASSERT_TRUE(testing::WriteFile(key, issued->KeyPem()).ok());
      auto* ic = config.add_identities();
      ic->set_name(c.name);
      ic->set_cert_file(cert);
      ic->set_key_file(key);
      ic->add_allowed_principals("spiffe://sigil.test/operator");
    }
    // An identity only "other-service" may use.
    auto* restricted = config.add_identities();
    *restricted = config.identities(0);
    restricted->set_name("restricted");
    restricted->clear_allowed_principals();
    restricted->add_allowed_principals("other-service");

    std::vector<std::string> decisions;
    auto identities = IdentitySet::Create(config, CreateKeyStore, &decisions);
    ASSERT_TRUE(identities.ok()) << identities.status();
    identities_ = identities->release();
    pool_ = new SigningPool(2, 64);
    service_ = new SignerService(*identities_, {"spiffe://sigil.test/operator"}, *pool_);

    config::v1::Listener listener;
    listener.set_listen("127.0.0.1:0");
    listener.mutable_tls()->set_cert_file(pki_->server_cert);
    listener.mutable_tls()->set_key_file(pki_->server_key);
    listener.mutable_tls()->set_ca_file(pki_->ca_file);
    listener.mutable_tls()->set_timeout(5);
    auto options = ValidateListener(listener);
    ASSERT_TRUE(options.ok()) << options.status();
    auto server = RunningServer::Start(*options, {service_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
  }

  static void TearDownTestSuite() {
    server_->Shutdown(absl::ZeroDuration());
    delete server_;
    delete service_;
    delete pool_;
    delete identities_;
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

  std::unique_ptr<v1::Signer::Stub> Operator() { return Stub(pki_->client_cert, pki_->client_key); }

  static void Deadline(grpc::ClientContext* context) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  }

  grpc::Status Sign(v1::Signer::Stub* stub, const std::string& identity, uint32_t scheme,
                    const std::string& digest, std::string* signature = nullptr) {
    grpc::ClientContext context;
    Deadline(&context);
    v1::SignRequest request;
    request.set_identity(identity);
    request.set_scheme(scheme);
    request.set_digest(digest);
    v1::SignResponse response;
    grpc::Status status = stub->Sign(&context, request, &response);
    if (signature != nullptr) *signature = response.signature();
    return status;
  }

  static testing::MtlsPki* pki_;
  static IdentitySet* identities_;
  static SigningPool* pool_;
  static SignerService* service_;
  static RunningServer* server_;
};

testing::MtlsPki* SignerServiceTest::pki_ = nullptr;
IdentitySet* SignerServiceTest::identities_ = nullptr;
SigningPool* SignerServiceTest::pool_ = nullptr;
SignerService* SignerServiceTest::service_ = nullptr;
RunningServer* SignerServiceTest::server_ = nullptr;

TEST_F(SignerServiceTest, EverySchemeOfEveryIdentityVerifiesWithItsCertificate) {
  auto stub = Operator();
  for (const IdentityCase& c : Cases()) {
    grpc::ClientContext context;
    Deadline(&context);
    v1::GetCertificateChainRequest request;
    request.set_identity(c.name);
    v1::GetCertificateChainResponse chain;
    ASSERT_TRUE(stub->GetCertificateChain(&context, request, &chain).ok()) << c.name;
    ASSERT_EQ(chain.certificates_size(), 1) << "the self-signed CA must not be sent";
    EXPECT_EQ(std::vector<uint32_t>(chain.schemes().begin(), chain.schemes().end()), c.schemes) << c.name;
    auto leaf = ParseDerCertificate(chain.certificates(0));
    ASSERT_TRUE(leaf.ok());
    for (uint32_t code : c.schemes) {
      const SignatureScheme* scheme = FindScheme(code);
      std::string digest = Digest(scheme->md(), absl::StrCat("transcript for ", c.name));
      std::string signature;
      grpc::Status status = Sign(stub.get(), c.name, code, digest, &signature);
      ASSERT_TRUE(status.ok()) << c.name << " " << SchemeLabel(code) << ": " << status.error_message();
      EXPECT_TRUE(VerifySignature(X509_get0_pubkey(leaf->get()), *scheme, digest, signature).ok())
          << c.name << " " << SchemeLabel(code);
      std::string other = Digest(scheme->md(), "a different transcript");
      EXPECT_FALSE(VerifySignature(X509_get0_pubkey(leaf->get()), *scheme, other, signature).ok());
    }
  }
}

TEST_F(SignerServiceTest, ListIdentitiesShowsOnlyWhatTheCallerMayUse) {
  auto stub = Operator();
  grpc::ClientContext context;
  Deadline(&context);
  v1::ListIdentitiesResponse response;
  ASSERT_TRUE(stub->ListIdentities(&context, {}, &response).ok());
  std::vector<std::string> names;
  for (const auto& identity : response.identities()) names.push_back(identity.name());
  EXPECT_EQ(names, (std::vector<std::string>{"p-256", "p-384", "rsa-2048", "rsa-3072"}));
  EXPECT_EQ(response.identities(2).key_type(), "RSA");
  EXPECT_EQ(response.identities(2).key_bits(), 2048u);
  EXPECT_EQ(response.identities(2).subject(), "CN=rsa-2048");
  EXPECT_EQ(response.identities(2).store(), "PEM");
}

TEST_F(SignerServiceTest, BadRequestsAreInvalidArgument) {
  auto stub = Operator();
  grpc::Status status = Sign(stub.get(), "rsa-2048", 0x0804, std::string(20, 'x'));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "digest is 20 bytes; rsa_pss_rsae_sha256 needs a 32-byte digest");

  status = Sign(stub.get(), "rsa-2048", 0x0807, std::string(32, 'x'));  // ed25519: not a scheme we make
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "unknown signature scheme 0x0807");

  status = Sign(stub.get(), "p-256", 0x0401, std::string(32, 'x'));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "this identity's key cannot make 0x0401 rsa_pkcs1_sha256");

  status = Sign(stub.get(), "p-256", 0x0503, std::string(48, 'x'));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  status = Sign(stub.get(), "rsa-3072", 0x0403, std::string(32, 'x'));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SignerServiceTest, UnknownIdentityIsNotFound) {
  auto stub = Operator();
  grpc::Status status = Sign(stub.get(), "no-such-identity", 0x0403, std::string(32, 'x'));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "no identity named 'no-such-identity'");
}

TEST_F(SignerServiceTest, IdentityOfAnotherCallerLooksLikeAnUnknownOne) {
  auto stub = Operator();
  grpc::Status status = Sign(stub.get(), "restricted", 0x0804, std::string(32, 'x'));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "no identity named 'restricted'");

  auto other = Stub(pki_->second_client_cert, pki_->second_client_key);
  auto sha256 = FindScheme(0x0804);
  std::string signature;
  EXPECT_TRUE(Sign(other.get(), "restricted", 0x0804, Digest(sha256->md(), "m"), &signature).ok());
  status = Sign(other.get(), "rsa-2048", 0x0804, Digest(sha256->md(), "m"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
}

grpc::Status SignBatch(v1::Signer::Stub* stub, const v1::SignBatchRequest& request, v1::SignBatchResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  return stub->SignBatch(&context, request, response);
}

v1::SignRequest Item(const std::string& identity, uint32_t scheme, const std::string& digest) {
  v1::SignRequest item;
  item.set_identity(identity);
  item.set_scheme(scheme);
  item.set_digest(digest);
  return item;
}

TEST_F(SignerServiceTest, SignBatchGivesEachItemSignsOutcomeInOrder) {
  auto stub = Operator();
  const std::string d256 = Digest(EVP_sha256(), "batch");
  v1::SignBatchRequest request;
  *request.add_requests() = Item("p-256", 0x0403, d256);
  *request.add_requests() = Item("rsa-2048", 0x0804, d256);
  *request.add_requests() = Item("rsa-2048", 0x0804, std::string(20, 'x'));
  *request.add_requests() = Item("p-256", 0x0401, d256);
  *request.add_requests() = Item("no-such-identity", 0x0403, d256);
  *request.add_requests() = Item("restricted", 0x0804, d256);
  *request.add_requests() = Item("p-384", 0x0503, Digest(EVP_sha384(), "batch"));
  v1::SignBatchResponse response;
  grpc::Status status = SignBatch(stub.get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), request.requests_size());

  // Each item gets exactly the code and message Sign gives for the same request.
  for (int i = 0; i < request.requests_size(); ++i) {
    const v1::SignRequest& item = request.requests(i);
    std::string unary_signature;
    grpc::Status unary = Sign(stub.get(), item.identity(), item.scheme(), item.digest(), &unary_signature);
    const auto& result = response.results(i);
    EXPECT_EQ(result.code(), static_cast<int>(unary.error_code())) << i;
    EXPECT_EQ(result.message(), unary.error_message()) << i;
    if (!unary.ok()) {
      EXPECT_TRUE(result.signature().empty()) << i;
      continue;
    }
    grpc::ClientContext context;
    Deadline(&context);
    v1::GetCertificateChainRequest chain_request;
    chain_request.set_identity(item.identity());
    v1::GetCertificateChainResponse chain;
    ASSERT_TRUE(stub->GetCertificateChain(&context, chain_request, &chain).ok());
    auto leaf = ParseDerCertificate(chain.certificates(0));
    ASSERT_TRUE(leaf.ok());
    EXPECT_TRUE(
        VerifySignature(X509_get0_pubkey(leaf->get()), *FindScheme(item.scheme()), item.digest(), result.signature())
            .ok())
        << i;
  }
  EXPECT_EQ(response.results(0).code(), 0);
  EXPECT_EQ(response.results(2).code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(response.results(4).code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
  EXPECT_EQ(response.results(5).message(), "no identity named 'restricted'");
}

TEST_F(SignerServiceTest, SignBatchSizeIsBounded) {
  auto stub = Operator();
  v1::SignBatchResponse response;
  grpc::Status status = SignBatch(stub.get(), v1::SignBatchRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "a SignBatch holds 1 to 64 requests (got 0)");

  v1::SignBatchRequest request;
  for (int i = 0; i < SignerService::kMaxSignBatch; ++i) {
    *request.add_requests() = Item("p-256", 0x0403, Digest(EVP_sha256(), absl::StrCat("m", i)));
  }
  status = SignBatch(stub.get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.results_size(), SignerService::kMaxSignBatch);
  for (const auto& result : response.results()) EXPECT_EQ(result.code(), 0) << result.message();

  *request.add_requests() = request.requests(0);
  response.Clear();
  status = SignBatch(stub.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "a SignBatch holds 1 to 64 requests (got 65)");
  EXPECT_EQ(response.results_size(), 0);
}

TEST_F(SignerServiceTest, SignBatchOfACallerAllowedNothingIsPermissionDeniedPerItem) {
  // An authenticated caller of the same CA that no identity allows.
  testing::CertSpec spec;
  spec.subject = {{"CN", "stranger"}};
  spec.extended_key_usages = {"clientAuth"};
  auto issued = testing::IssueCert(spec, testing::KeySpec::Ec(), pki_->ca);
  ASSERT_TRUE(issued.ok()) << issued.status();
  const std::string cert = absl::StrCat(pki_->dir, "/stranger.pem"), key = absl::StrCat(pki_->dir, "/stranger-key.pem");
  ASSERT_TRUE(testing::WriteFile(cert, issued->CertPem()).ok());
  ASSERT_TRUE(testing::WriteFile(key, issued->KeyPem()).ok());
  auto stranger = Stub(cert, key);
  v1::SignBatchRequest request;
  *request.add_requests() = Item("p-256", 0x0403, Digest(EVP_sha256(), "m"));
  v1::SignBatchResponse response;
  grpc::Status status = SignBatch(stranger.get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), 1);
  grpc::Status unary = Sign(stranger.get(), "p-256", 0x0403, Digest(EVP_sha256(), "m"));
  EXPECT_EQ(unary.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(response.results(0).code(), static_cast<int>(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_EQ(response.results(0).message(), unary.error_message());
}

struct ConfigCase {
  const char* name;
  const char* json;
  const char* message;
};

class IdentityConfigErrorTest : public ::testing::TestWithParam<ConfigCase> {};

TEST_P(IdentityConfigErrorTest, ExactError) {
  config::v1::SignerConfig config;
  ASSERT_TRUE(ParseJsonConfig(GetParam().json, "test", &config).ok());
  std::vector<std::string> decisions;
  auto set = IdentitySet::Create(config, CreateKeyStore, &decisions);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(set.status().message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Identities, IdentityConfigErrorTest,
    ::testing::Values(
        ConfigCase{"None", R"({})", "no identities configured"},
        ConfigCase{"NoName", R"({"identities": [{"cert_file": "a"}]})", "identity: 'name' is required"},
        ConfigCase{"NoPrincipals", R"({"identities": [{"name": "a", "cert_file": "a", "key_file": "b"}]})",
                   "identity 'a': 'allowed_principals' is required: the callers' mTLS principals (SAN DNS, SAN "
                   "URI or subject CN) allowed to sign with it, or \"*\" for any authenticated caller"},
        ConfigCase{"CertFileAndCertStore",
                   R"({"identities": [{"name": "a", "cert_file": "a", "cert_store": "WindowsCurrentUser",
                      "allowed_principals": ["*"]}]})",
                   "identity 'a': 'cert_file' and 'cert_store' may not both be configured"},
        ConfigCase{"CertStoreNotImplemented",
                   R"({"identities": [{"name": "a", "cert_store": "Vault", "cert_match": "x",
                      "allowed_principals": ["*"]}]})",
                   "identity 'a': cert store type not implemented: \"Vault\" (this build knows PEM, PKCS11)"},
        ConfigCase{"WindowsStoreOnLinux",
                   R"({"identities": [{"name": "a", "cert_store": "windowscurrentuser", "cert_match": "x",
                      "allowed_principals": ["*"]}]})",
                   "identity 'a': cert store type not implemented: windowscurrentuser is available only in the "
                   "Windows build of signerd"},
        ConfigCase{"CertMatchByNotImplemented",
                   R"({"identities": [{"name": "a", "cert_store": "pem", "pem_store": {"directory": "/"},
                      "cert_match_by": "SubjectAltName", "cert_match": "x", "allowed_principals": ["*"]}]})",
                   "identity 'a': cert match by type not implemented"},
        ConfigCase{"ProviderNameIsCaseInsensitive",
                   R"({"identities": [{"name": "a", "cert_store": "pEm", "cert_match": "x",
                      "allowed_principals": ["*"]}]})",
                   "identity 'a': 'pem_store.directory' is required with cert_store \"PEM\""},
        ConfigCase{"CertMatchRequired",
                   R"({"identities": [{"name": "a", "cert_store": "PEM", "pem_store": {"directory": "/"},
                      "allowed_principals": ["*"]}]})",
                   "identity 'a': 'cert_match' is required with 'cert_store'"},
        ConfigCase{"MatchWithoutStore",
                   R"({"identities": [{"name": "a", "cert_file": "a", "key_file": "b", "cert_match": "x",
                      "allowed_principals": ["*"]}]})",
                   "identity 'a': 'cert_match_by', 'cert_match' and 'cert_match_skip_invalid' need 'cert_store'"},
        ConfigCase{"NoKeyFile", R"({"identities": [{"name": "a", "cert_file": "a", "allowed_principals": ["*"]}]})",
                   "identity 'a': 'key_file' is required with 'cert_file'"},
        ConfigCase{"MissingCertFile",
                   R"({"identities": [{"name": "a", "cert_file": "/nonexistent.pem", "key_file": "b",
                      "allowed_principals": ["*"]}]})",
                   "identity 'a': cert_file: cannot open '/nonexistent.pem': no such file"}),
    [](const ::testing::TestParamInfo<ConfigCase>& info) { return info.param.name; });

}  // namespace
}  // namespace sigil::signer
