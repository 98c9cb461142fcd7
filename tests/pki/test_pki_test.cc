// Tests for tests/pki/test_pki: chains verify with X509_verify_cert, every requested extension is
// present and decodes as asked, all supported key types work, and the artefacts agree with the
// `openssl` command-line tool (SPKI pin pipeline, `openssl ca` index lines, `openssl ocsp -index`).
#include "tests/pki/test_pki.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sigil {
namespace testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

constexpr char kLeafOneline[] = "/O=Synadia Communications Inc./OU=NATS.io/CN=localhost";

// A fresh directory under TEST_TMPDIR named after the running test.
std::string MakeTestDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string root = base != nullptr ? base : ::testing::TempDir();
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = absl::StrCat(info->test_suite_name(), "_", info->name());
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  std::string dir = absl::StrCat(root, "/", name);
  mkdir(dir.c_str(), 0700);
  return dir;
}

// Single-quotes `s` for /bin/sh.
std::string Quote(absl::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr interleaved.
};

// Runs `command` through /bin/sh, capturing stdout and stderr.
CommandResult RunShell(const std::string& command) {
  CommandResult result;
  std::FILE* pipe = popen(absl::StrCat("(", command, ") 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

CertSpec CaSpec(absl::string_view cn) {
  CertSpec spec;
  spec.subject = {{"C", "US"}, {"O", "Sigil Test"}, {"CN", std::string(cn)}};
  spec.is_ca = true;
  return spec;
}

CertSpec LeafSpec() {
  CertSpec spec;
  spec.subject = {{"O", "Synadia Communications Inc."}, {"OU", "NATS.io"}, {"CN", "localhost"}};
  spec.dns_sans = {"localhost"};
  spec.ip_sans = {"127.0.0.1"};
  spec.extended_key_usages = {"serverAuth"};
  return spec;
}

// X509_verify_cert of `leaf` against `root` with `intermediates` untrusted; returns the
// X509_V_* result code (X509_V_OK on success).
int Verify(X509* leaf, X509* root, const std::vector<X509*>& intermediates = {},
           int purpose = X509_PURPOSE_SSL_SERVER, const char* host = nullptr) {
  X509StorePtr store(X509_STORE_new());
  EXPECT_EQ(X509_STORE_add_cert(store.get(), root), 1);
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (X509* cert : intermediates) sk_X509_push(untrusted, cert);
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  EXPECT_EQ(X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted), 1);
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  if (host != nullptr) {
    X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx.get()), host, 0);
  }
  int ok = X509_verify_cert(ctx.get());
  int error = X509_STORE_CTX_get_error(ctx.get());
  sk_X509_free(untrusted);
  if (ok == 1) return X509_V_OK;
  return error == X509_V_OK ? X509_V_ERR_UNSPECIFIED : error;
}

std::string VerifyError(int code) { return X509_verify_cert_error_string(code); }

// Finds the extension `nid` in `cert`, or null.
X509_EXTENSION* FindExtension(X509* cert, int nid) {
  int index = X509_get_ext_by_NID(cert, nid, -1);
  return index < 0 ? nullptr : X509_get_ext(cert, index);
}

TEST(GenerateKeyTest, RejectsBadSpecs) {
  EXPECT_EQ(GenerateKey(KeySpec::Rsa(256)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GenerateKey(KeySpec::Ec(NID_sha256)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

struct KeyCase {
  const char* name;
  KeySpec spec;
  const char* type;  // EVP_PKEY_is_a name.
  int bits;
  const char* group;  // EC group name, or null.
  int signature_nid;  // of a certificate signed by a key of this type.
};

class KeyTypeTest : public ::testing::TestWithParam<KeyCase> {};

TEST_P(KeyTypeTest, GeneratesKeyAndVerifyingChain) {
  const KeyCase& c = GetParam();
  absl::StatusOr<EvpPkeyPtr> key = GenerateKey(c.spec);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE(EVP_PKEY_is_a(key->get(), c.type));
  EXPECT_EQ(EVP_PKEY_get_bits(key->get()), c.bits);
  if (c.group != nullptr) {
    char group[64] = {0};
    size_t length = 0;
    ASSERT_EQ(EVP_PKEY_get_group_name(key->get(), group, sizeof(group), &length), 1);
    EXPECT_STREQ(group, c.group);
  }

  absl::StatusOr<Issued> ca = SelfSigned(CaSpec("Key Type CA"), c.spec);
  ASSERT_TRUE(ca.ok()) << ca.status();
  absl::StatusOr<Issued> leaf = IssueCert(LeafSpec(), c.spec, *ca);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  EXPECT_TRUE(EVP_PKEY_is_a(X509_get0_pubkey(leaf->cert.get()), c.type));
  EXPECT_EQ(EVP_PKEY_get_bits(X509_get0_pubkey(leaf->cert.get())), c.bits);
  EXPECT_EQ(X509_get_signature_nid(leaf->cert.get()), c.signature_nid);
  EXPECT_EQ(X509_get_signature_nid(ca->cert.get()), c.signature_nid);
  EXPECT_EQ(X509_check_private_key(leaf->cert.get(), leaf->key.get()), 1);

  uint32_t expected_usage = KU_DIGITAL_SIGNATURE;
  if (c.spec.type == KeySpec::kRsa) expected_usage |= KU_KEY_ENCIPHERMENT;
  EXPECT_EQ(X509_get_key_usage(leaf->cert.get()), expected_usage);

  int result = Verify(leaf->cert.get(), ca->cert.get(), {}, X509_PURPOSE_SSL_SERVER, "localhost");
  EXPECT_EQ(result, X509_V_OK) << VerifyError(result);
}

INSTANTIATE_TEST_SUITE_P(
    AllKeys, KeyTypeTest,
    ::testing::Values(
        KeyCase{"Rsa2048", KeySpec::Rsa(2048), "RSA", 2048, nullptr, NID_sha256WithRSAEncryption},
        KeyCase{"Rsa3072", KeySpec::Rsa(3072), "RSA", 3072, nullptr, NID_sha256WithRSAEncryption},
        KeyCase{"EcP256", KeySpec::Ec(NID_X9_62_prime256v1), "EC", 256, "prime256v1",
                NID_ecdsa_with_SHA256},
        KeyCase{"EcP384", KeySpec::Ec(NID_secp384r1), "EC", 384, "secp384r1",
                NID_ecdsa_with_SHA256}),
    [](const ::testing::TestParamInfo<KeyCase>& info) { return std::string(info.param.name); });

TEST(ChainTest, LeafVerifiesAgainstIssuingCa) {
  absl::StatusOr<Issued> ca = SelfSigned(CaSpec("Root"), KeySpec::Ec());
  ASSERT_TRUE(ca.ok()) << ca.status();
  absl::StatusOr<Issued> leaf = IssueCert(LeafSpec(), KeySpec::Ec(), *ca);
  ASSERT_TRUE(leaf.ok()) << leaf.status();

  int result = Verify(leaf->cert.get(), ca->cert.get(), {}, X509_PURPOSE_SSL_SERVER, "localhost");
  EXPECT_EQ(result, X509_V_OK) << VerifyError(result);
  EXPECT_EQ(X509_check_ip_asc(leaf->cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(Verify(leaf->cert.get(), ca->cert.get(), {}, X509_PURPOSE_SSL_SERVER, "example.com"),
            X509_V_ERR_HOSTNAME_MISMATCH);
  // serverAuth only: not usable as a TLS client certificate.
  EXPECT_EQ(Verify(leaf->cert.get(), ca->cert.get(), {}, X509_PURPOSE_SSL_CLIENT),
            X509_V_ERR_INVALID_PURPOSE);

  EXPECT_EQ(X509_check_ca(ca->cert.get()), 1);
  EXPECT_EQ(X509_check_ca(leaf->cert.get()), 0);
  EXPECT_EQ(X509_get_key_usage(ca->cert.get()),
            static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_EQ(X509_get_version(leaf->cert.get()), X509_VERSION_3);

  char* issuer = X509_NAME_oneline(X509_get_issuer_name(leaf->cert.get()), nullptr, 0);
  EXPECT_STREQ(issuer, "/C=US/O=Sigil Test/CN=Root");
  OPENSSL_free(issuer);
}

TEST(ChainTest, ThreeLevelChainNeedsTheIntermediate) {
  absl::StatusOr<Issued> root = SelfSigned(CaSpec("Root"), KeySpec::Rsa(2048));
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<Issued> intermediate = IssueCert(CaSpec("Intermediate"), KeySpec::Ec(), *root);
  ASSERT_TRUE(intermediate.ok()) << intermediate.status();
  CertSpec client = LeafSpec();
  client.extended_key_usages = {"clientAuth"};
  absl::StatusOr<Issued> leaf = IssueCert(client, KeySpec::Ec(), *intermediate);
  ASSERT_TRUE(leaf.ok()) << leaf.status();

  int result = Verify(leaf->cert.get(), root->cert.get(), {intermediate->cert.get()},
                      X509_PURPOSE_SSL_CLIENT);
  EXPECT_EQ(result, X509_V_OK) << VerifyError(result);
  EXPECT_EQ(Verify(leaf->cert.get(), root->cert.get(), {}, X509_PURPOSE_SSL_CLIENT),
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);

  // Key identifiers link each certificate to its issuer; the root's points at itself.
  auto same = [](const ASN1_OCTET_STRING* a, const ASN1_OCTET_STRING* b) {
    return a != nullptr && b != nullptr && ASN1_OCTET_STRING_cmp(a, b) == 0;
  };
  EXPECT_TRUE(same(X509_get0_authority_key_id(leaf->cert.get()),
                   X509_get0_subject_key_id(intermediate->cert.get())));
  EXPECT_TRUE(same(X509_get0_authority_key_id(intermediate->cert.get()),
                   X509_get0_subject_key_id(root->cert.get())));
  EXPECT_TRUE(same(X509_get0_authority_key_id(root->cert.get()),
                   X509_get0_subject_key_id(root->cert.get())));
  EXPECT_EQ(X509_get0_subject_key_id(leaf->cert.get())->length, 20);  // SHA-1.
}

TEST(ChainTest, ForeignCaAndExpiryAreRejected) {
  absl::StatusOr<Issued> ca = SelfSigned(CaSpec("Root"), KeySpec::Ec());
  absl::StatusOr<Issued> other = SelfSigned(CaSpec("Root"), KeySpec::Ec());  // Same name.
  ASSERT_TRUE(ca.ok() && other.ok());
  absl::StatusOr<Issued> leaf = IssueCert(LeafSpec(), KeySpec::Ec(), *ca);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  EXPECT_NE(Verify(leaf->cert.get(), other->cert.get()), X509_V_OK);

  CertSpec expired = LeafSpec();
  expired.not_before_unix = NowUnix() - 7200;
  expired.not_after_unix = NowUnix() - 3600;
  absl::StatusOr<Issued> old = IssueCert(expired, KeySpec::Ec(), *ca);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(Verify(old->cert.get(), ca->cert.get()), X509_V_ERR_CERT_HAS_EXPIRED);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notBefore(old->cert.get()),
                                 static_cast<time_t>(expired.not_before_unix)),
            0);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notAfter(old->cert.get()),
                                 static_cast<time_t>(expired.not_after_unix)),
            0);
}

TEST(ExtensionsTest, RequestedExtensionsArePresent) {
  absl::StatusOr<Issued> ca = SelfSigned(CaSpec("Root"), KeySpec::Ec());
  ASSERT_TRUE(ca.ok()) << ca.status();
  CertSpec spec = LeafSpec();
  spec.dns_sans = {"localhost", "sigil.test"};
  spec.ip_sans = {"127.0.0.1", "::1"};
  spec.uri_sans = {"spiffe://sigil.test/signer"};
  spec.ocsp_urls = {"http://127.0.0.1:8888/ocsp", "http://ocsp.sigil.test/"};
  spec.extended_key_usages = {"serverAuth", "clientAuth"};
  spec.must_staple = true;
  spec.serial = 0x1A2B;
  absl::StatusOr<Issued> leaf = IssueCert(spec, KeySpec::Rsa(2048), *ca);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  X509* cert = leaf->cert.get();

  char* subject = X509_NAME_oneline(X509_get_subject_name(cert), nullptr, 0);
  EXPECT_STREQ(subject, kLeafOneline);
  OPENSSL_free(subject);
  uint64_t serial = 0;
  ASSERT_EQ(ASN1_INTEGER_get_uint64(&serial, X509_get0_serialNumber(cert)), 1);
  EXPECT_EQ(serial, 0x1A2Bu);

  // SubjectAltName.
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  ASSERT_NE(names, nullptr);
  std::vector<std::string> dns, uris, ips;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    int type = 0;
    auto* value = static_cast<ASN1_STRING*>(GENERAL_NAME_get0_value(name, &type));
    std::string bytes(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                      ASN1_STRING_length(value));
    if (type == GEN_DNS) dns.push_back(bytes);
    if (type == GEN_URI) uris.push_back(bytes);
    if (type == GEN_IPADD) ips.push_back(bytes);
  }
  GENERAL_NAMES_free(names);
  EXPECT_THAT(dns, UnorderedElementsAre("localhost", "sigil.test"));
  EXPECT_THAT(uris, UnorderedElementsAre("spiffe://sigil.test/signer"));
  EXPECT_THAT(ips, UnorderedElementsAre(std::string("\x7f\0\0\x01", 4),
                                        std::string("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16)));
  EXPECT_EQ(X509_check_host(cert, "sigil.test", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert, "::1", 0), 1);
  EXPECT_EQ(X509_EXTENSION_get_critical(FindExtension(cert, NID_subject_alt_name)), 0);

  // AuthorityInfoAccess: id-ad-ocsp URIs, in order.
  STACK_OF(OPENSSL_STRING)* ocsp = X509_get1_ocsp(cert);
  ASSERT_NE(ocsp, nullptr);
  ASSERT_EQ(sk_OPENSSL_STRING_num(ocsp), 2);
  EXPECT_STREQ(sk_OPENSSL_STRING_value(ocsp, 0), "http://127.0.0.1:8888/ocsp");
  EXPECT_STREQ(sk_OPENSSL_STRING_value(ocsp, 1), "http://ocsp.sigil.test/");
  X509_email_free(ocsp);

  // ExtendedKeyUsage.
  ASSERT_TRUE(X509_get_extension_flags(cert) & EXFLAG_XKUSAGE);
  EXPECT_EQ(X509_get_extended_key_usage(cert), static_cast<uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));

  // TLS Feature (1.3.6.1.5.5.7.1.24) = SEQUENCE { INTEGER 5 }.
  ASN1_OBJECT* tls_feature_oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.24", 1);
  int index = X509_get_ext_by_OBJ(cert, tls_feature_oid, -1);
  ASN1_OBJECT_free(tls_feature_oid);
  ASSERT_GE(index, 0);
  X509_EXTENSION* feature = X509_get_ext(cert, index);
  EXPECT_EQ(X509_EXTENSION_get_critical(feature), 0);
  const ASN1_OCTET_STRING* feature_der = X509_EXTENSION_get_data(feature);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(feature_der)),
                        ASN1_STRING_length(feature_der)),
            std::string("\x30\x03\x02\x01\x05", 5));
  auto* features =
      static_cast<TLS_FEATURE*>(X509_get_ext_d2i(cert, NID_tlsfeature, nullptr, nullptr));
  ASSERT_NE(features, nullptr);
  ASSERT_EQ(sk_ASN1_INTEGER_num(features), 1);
  EXPECT_EQ(ASN1_INTEGER_get(sk_ASN1_INTEGER_value(features, 0)), 5);
  TLS_FEATURE_free(features);

  // Always-present extensions and their criticality.
  EXPECT_EQ(X509_EXTENSION_get_critical(FindExtension(cert, NID_basic_constraints)), 1);
  EXPECT_EQ(X509_EXTENSION_get_critical(FindExtension(cert, NID_key_usage)), 1);
  EXPECT_NE(FindExtension(cert, NID_subject_key_identifier), nullptr);
  EXPECT_NE(FindExtension(cert, NID_authority_key_identifier), nullptr);
  EXPECT_EQ(X509_get_key_usage(cert),
            static_cast<uint32_t>(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));

  int result = Verify(cert, ca->cert.get(), {}, X509_PURPOSE_SSL_CLIENT);
  EXPECT_EQ(result, X509_V_OK) << VerifyError(result);
}

TEST(ExtensionsTest, OptionalExtensionsAbsentUnlessRequested) {
  CertSpec spec;
  spec.subject = {{"CN", "bare"}};
  absl::StatusOr<Issued> bare = SelfSigned(spec, KeySpec::Ec());
  ASSERT_TRUE(bare.ok()) << bare.status();
  X509* cert = bare->cert.get();
  EXPECT_EQ(X509_get_ext_by_NID(cert, NID_subject_alt_name, -1), -1);
  EXPECT_EQ(X509_get_ext_by_NID(cert, NID_info_access, -1), -1);
  EXPECT_EQ(X509_get_ext_by_NID(cert, NID_ext_key_usage, -1), -1);
  EXPECT_EQ(X509_get_ext_by_NID(cert, NID_tlsfeature, -1), -1);
  EXPECT_EQ(X509_get_ext_count(cert), 4);  // BC, KU, SKI, AKI.
  EXPECT_EQ(X509_get_key_usage(cert), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));

  // Random serials are positive and distinct.
  absl::StatusOr<Issued> again = SelfSigned(spec, KeySpec::Ec());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(ASN1_STRING_type(X509_get0_serialNumber(cert)), V_ASN1_INTEGER);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(cert),
                             X509_get0_serialNumber(again->cert.get())),
            0);

  // An empty subject makes the SubjectAltName critical.
  CertSpec anonymous;
  anonymous.dns_sans = {"anonymous.test"};
  absl::StatusOr<Issued> nameless = SelfSigned(anonymous, KeySpec::Ec());
  ASSERT_TRUE(nameless.ok()) << nameless.status();
  EXPECT_EQ(X509_EXTENSION_get_critical(FindExtension(nameless->cert.get(), NID_subject_alt_name)),
            1);
}

TEST(ExtensionsTest, OcspSigningResponderCertificate) {
  absl::StatusOr<Issued> ca = SelfSigned(CaSpec("Root"), KeySpec::Ec());
  ASSERT_TRUE(ca.ok()) << ca.status();
  CertSpec spec;
  spec.subject = {{"CN", "OCSP Responder"}};
  spec.extended_key_usages = {"OCSPSigning"};
  absl::StatusOr<Issued> responder = IssueCert(spec, KeySpec::Ec(), *ca);
  ASSERT_TRUE(responder.ok()) << responder.status();
  EXPECT_EQ(X509_get_extended_key_usage(responder->cert.get()),
            static_cast<uint32_t>(XKU_OCSP_SIGN));
}

TEST(SpecValidationTest, BadInputsAreInvalidArgument) {
  absl::StatusOr<Issued> ca = SelfSigned(CaSpec("Root"), KeySpec::Ec());
  ASSERT_TRUE(ca.ok()) << ca.status();

  CertSpec bad_ip = LeafSpec();
  bad_ip.ip_sans = {"not-an-ip"};
  EXPECT_EQ(IssueCert(bad_ip, KeySpec::Ec(), *ca).status().code(),
            absl::StatusCode::kInvalidArgument);

  CertSpec bad_eku = LeafSpec();
  bad_eku.extended_key_usages = {"noSuchPurpose"};
  EXPECT_EQ(IssueCert(bad_eku, KeySpec::Ec(), *ca).status().code(),
            absl::StatusCode::kInvalidArgument);

  CertSpec bad_rdn = LeafSpec();
  bad_rdn.subject = {{"NoSuchAttribute", "x"}};
  EXPECT_EQ(SelfSigned(bad_rdn, KeySpec::Ec()).status().code(),
            absl::StatusCode::kInvalidArgument);

  CertSpec long_country = LeafSpec();
  long_country.subject = {{"C", "USA"}};  // countryName is exactly two letters.
  absl::Status status = SelfSigned(long_country, KeySpec::Ec()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("string too long"));  // OpenSSL's error text.

  CertSpec backwards = LeafSpec();
  backwards.not_after_unix = backwards.not_before_unix - 1;
  EXPECT_EQ(SelfSigned(backwards, KeySpec::Ec()).status().code(),
            absl::StatusCode::kInvalidArgument);

  Issued empty;
  EXPECT_EQ(IssueCert(LeafSpec(), KeySpec::Ec(), empty).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(EncodingTest, PemAndDerRoundTrip) {
  absl::StatusOr<Issued> ca = SelfSigned(CaSpec("Root"), KeySpec::Rsa(2048));
  ASSERT_TRUE(ca.ok()) << ca.status();

  std::string pem = ca->CertPem();
  EXPECT_TRUE(absl::StartsWith(pem, "-----BEGIN CERTIFICATE-----\n"));
  BioPtr pem_bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr from_pem(PEM_read_bio_X509(pem_bio.get(), nullptr, nullptr, nullptr));
  ASSERT_NE(from_pem, nullptr);
  EXPECT_EQ(X509_cmp(from_pem.get(), ca->cert.get()), 0);

  std::string der = ca->CertDer();
  const unsigned char* cursor = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr from_der(d2i_X509(nullptr, &cursor, static_cast<long>(der.size())));
  ASSERT_NE(from_der, nullptr);
  EXPECT_EQ(X509_cmp(from_der.get(), ca->cert.get()), 0);

  std::string key_pem = ca->KeyPem();
  EXPECT_TRUE(absl::StartsWith(key_pem, "-----BEGIN PRIVATE KEY-----\n"));
  BioPtr key_bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_eq(key.get(), ca->key.get()), 1);

  Issued empty;
  EXPECT_THAT(empty.CertPem(), IsEmpty());
  EXPECT_THAT(empty.KeyPem(), IsEmpty());
  EXPECT_THAT(empty.CertDer(), IsEmpty());
}

TEST(FileTest, WriteThenReadRoundTrips) {
  std::string dir = MakeTestDir();
  std::string path = dir + "/blob.bin";
  std::string contents("binary\0data\n\xff", 13);
  ASSERT_TRUE(WriteFile(path, contents).ok());
  absl::StatusOr<std::string> read = ReadFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, contents);

  ASSERT_TRUE(WriteFile(path, "short").ok());  // Truncates.
  EXPECT_EQ(*ReadFile(path), "short");

  EXPECT_EQ(ReadFile(dir + "/missing").status().code(), absl::StatusCode::kNotFound);
  absl::Status status = WriteFile(dir + "/no/such/dir/file", "x");
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("no/such/dir/file"));
}

TEST(SpkiTest, MatchesOpensslCliPipeline) {
  std::string dir = MakeTestDir();
  for (const KeySpec& key_spec : {KeySpec::Rsa(2048), KeySpec::Ec(NID_X9_62_prime256v1),
                                  KeySpec::Ec(NID_secp384r1)}) {
    absl::StatusOr<Issued> issued = SelfSigned(LeafSpec(), key_spec);
    ASSERT_TRUE(issued.ok()) << issued.status();
    std::string pem_path = dir + "/cert.pem";
    ASSERT_TRUE(WriteFile(pem_path, issued->CertPem()).ok());

    std::string pin = SpkiSha256Hex(issued->cert.get());
    EXPECT_EQ(pin.size(), 64u);
    EXPECT_EQ(pin.find_first_not_of("0123456789abcdef"), std::string::npos) << pin;

    CommandResult cli = RunShell(absl::StrCat(
        "openssl x509 -noout -pubkey -in ", Quote(pem_path),
        " | openssl pkey -pubin -outform DER | openssl dgst -sha256"));
    ASSERT_EQ(cli.exit_code, 0) << cli.output;
    // "SHA2-256(stdin)= <hex>\n"
    std::vector<std::string> parts = absl::StrSplit(cli.output, "= ");
    ASSERT_EQ(parts.size(), 2u) << cli.output;
    EXPECT_EQ(pin, absl::StripTrailingAsciiWhitespace(parts[1]));
  }
  EXPECT_THAT(SpkiSha256Hex(nullptr), IsEmpty());
}

TEST(IndexLineTest, FormatsFields) {
  CertSpec spec = LeafSpec();
  spec.serial = 0x0ABC;
  spec.not_after_unix = 1798761599;  // 2026-12-31 23:59:59 UTC.
  spec.not_before_unix = spec.not_after_unix - 86400;
  absl::StatusOr<Issued> leaf = SelfSigned(spec, KeySpec::Ec());
  ASSERT_TRUE(leaf.ok()) << leaf.status();

  EXPECT_EQ(OpenSslIndexLine(leaf->cert.get(), 'V', 0),
            absl::StrCat("V\t261231235959Z\t\t0ABC\tunknown\t", kLeafOneline, "\n"));
  EXPECT_EQ(OpenSslIndexLine(leaf->cert.get(), 'R', 1700000000),  // 2023-11-14 22:13:20 UTC.
            absl::StrCat("R\t261231235959Z\t231114221320Z\t0ABC\tunknown\t", kLeafOneline, "\n"));
  EXPECT_THAT(OpenSslIndexLine(leaf->cert.get(), 'E', 0), IsEmpty());
  EXPECT_THAT(OpenSslIndexLine(leaf->cert.get(), 'R', 4102444800), IsEmpty());  // Year 2100.
  EXPECT_THAT(OpenSslIndexLine(nullptr, 'V', 0), IsEmpty());

  // Large serials keep the top bit unsigned; notAfter after 2049 is GeneralizedTime, verbatim.
  spec.serial = 0x8000000000000001ull;
  spec.not_after_unix = 2556143999;  // 2050-12-31 23:59:59 UTC.
  absl::StatusOr<Issued> far = SelfSigned(spec, KeySpec::Ec());
  ASSERT_TRUE(far.ok()) << far.status();
  EXPECT_EQ(OpenSslIndexLine(far->cert.get(), 'V', 0),
            absl::StrCat("V\t20501231235959Z\t\t8000000000000001\tunknown\t", kLeafOneline, "\n"));
}

// Parses a UTCTime string ("YYMMDDHHMMSSZ") to Unix seconds.
int64_t ParseUtcTime(const std::string& text) {
  ASN1_TIME* time = ASN1_TIME_new();
  EXPECT_EQ(ASN1_UTCTIME_set_string(time, text.c_str()), 1) << text;
  struct tm tm = {};
  EXPECT_EQ(ASN1_TIME_to_tm(time, &tm), 1);
  ASN1_TIME_free(time);
  return static_cast<int64_t>(timegm(&tm));
}

TEST(IndexLineTest, MatchesWhatOpensslCaWrites) {
  std::string dir = MakeTestDir();
  absl::StatusOr<Issued> ca = SelfSigned(CaSpec("Index CA"), KeySpec::Ec());
  ASSERT_TRUE(ca.ok()) << ca.status();
  ASSERT_TRUE(WriteFile(dir + "/ca.pem", ca->CertPem()).ok());
  ASSERT_TRUE(WriteFile(dir + "/ca.key", ca->KeyPem()).ok());
  ASSERT_TRUE(WriteFile(dir + "/index.txt", "").ok());
  ASSERT_TRUE(WriteFile(dir + "/ca.cnf",
                        absl::StrCat("[ ca ]\ndefault_ca = test_ca\n[ test_ca ]\n",
                                     "database = ", dir, "/index.txt\n",
                                     "certificate = ", dir, "/ca.pem\n",
                                     "private_key = ", dir, "/ca.key\n",
                                     "default_md = sha256\nunique_subject = no\n"))
                  .ok());

  // A mix of serial spellings, subjects (including empty) and expiry encodings.
  std::vector<CertSpec> specs(4, LeafSpec());
  specs[0].serial = 0x0ABC;
  specs[1].serial = 0;  // Random.
  specs[2].serial = 77;
  specs[2].subject.clear();
  specs[3].serial = 0xFFFFFFFFFFFFFFFFull;
  specs[3].not_after_unix = 2556143999;  // 2050: GeneralizedTime.
  std::string expected;
  for (size_t i = 0; i < specs.size(); ++i) {
    absl::StatusOr<Issued> leaf = IssueCert(specs[i], KeySpec::Ec(), *ca);
    ASSERT_TRUE(leaf.ok()) << leaf.status();
    std::string path = absl::StrCat(dir, "/leaf", i, ".pem");
    ASSERT_TRUE(WriteFile(path, leaf->CertPem()).ok());
    bool revoke = i % 2 == 1;
    CommandResult cli = RunShell(absl::StrCat("openssl ca -config ", Quote(dir + "/ca.cnf"),
                                         revoke ? " -revoke " : " -valid ", Quote(path)));
    ASSERT_EQ(cli.exit_code, 0) << cli.output;
    if (!revoke) {
      expected += OpenSslIndexLine(leaf->cert.get(), 'V', 0);
      continue;
    }
    // `openssl ca -revoke` stamps the current time; reuse it so the lines compare exactly.
    absl::StatusOr<std::string> index = ReadFile(dir + "/index.txt");
    ASSERT_TRUE(index.ok()) << index.status();
    std::vector<std::string> lines = absl::StrSplit(*index, '\n', absl::SkipEmpty());
    ASSERT_EQ(lines.size(), i + 1) << *index;
    std::vector<std::string> fields = absl::StrSplit(lines.back(), '\t');
    ASSERT_EQ(fields.size(), 6u) << lines.back();
    expected += OpenSslIndexLine(leaf->cert.get(), 'R', ParseUtcTime(fields[2]));
  }
  absl::StatusOr<std::string> index = ReadFile(dir + "/index.txt");
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(*index, expected);
}

// Asks an `openssl ocsp -index` responder (no network: request and response go through files) about
// `leaf` and returns the client's status report.
CommandResult QueryOcsp(const std::string& dir, const std::string& leaf_path) {
  std::string ca = Quote(dir + "/ca.pem");
  std::string req = Quote(dir + "/req.der");
  std::string resp = Quote(dir + "/resp.der");
  // No nonce: the last step builds a fresh request, whose nonce could not match the response's.
  CommandResult request = RunShell(absl::StrCat("openssl ocsp -no_nonce -issuer ", ca, " -cert ",
                                                Quote(leaf_path), " -reqout ", req));
  if (request.exit_code != 0) return request;
  CommandResult respond = RunShell(absl::StrCat(
      "openssl ocsp -index ", Quote(dir + "/index.txt"), " -CA ", ca, " -rsigner ", ca, " -rkey ",
      Quote(dir + "/ca.key"), " -reqin ", req, " -respout ", resp));
  if (respond.exit_code != 0) return respond;
  return RunShell(absl::StrCat("openssl ocsp -no_nonce -respin ", resp, " -issuer ", ca, " -cert ",
                          Quote(leaf_path), " -CAfile ", ca, " -resp_text"));
}

TEST(IndexLineTest, OpensslOcspResponderReportsGoodAndRevoked) {
  std::string dir = MakeTestDir();
  absl::StatusOr<Issued> ca = SelfSigned(CaSpec("OCSP CA"), KeySpec::Ec());
  ASSERT_TRUE(ca.ok()) << ca.status();
  CertSpec spec = LeafSpec();
  spec.ocsp_urls = {"http://127.0.0.1:1/"};
  absl::StatusOr<Issued> good = IssueCert(spec, KeySpec::Ec(), *ca);
  absl::StatusOr<Issued> revoked = IssueCert(spec, KeySpec::Rsa(2048), *ca);
  absl::StatusOr<Issued> unlisted = IssueCert(spec, KeySpec::Ec(), *ca);
  ASSERT_TRUE(good.ok() && revoked.ok() && unlisted.ok());

  ASSERT_TRUE(WriteFile(dir + "/ca.pem", ca->CertPem()).ok());
  ASSERT_TRUE(WriteFile(dir + "/ca.key", ca->KeyPem()).ok());
  ASSERT_TRUE(WriteFile(dir + "/good.pem", good->CertPem()).ok());
  ASSERT_TRUE(WriteFile(dir + "/revoked.pem", revoked->CertPem()).ok());
  ASSERT_TRUE(WriteFile(dir + "/unlisted.pem", unlisted->CertPem()).ok());
  ASSERT_TRUE(WriteFile(dir + "/index.txt",
                        OpenSslIndexLine(good->cert.get(), 'V', 0) +
                            OpenSslIndexLine(revoked->cert.get(), 'R', 1700000000))
                  .ok());

  CommandResult result = QueryOcsp(dir, dir + "/good.pem");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("Response verify OK"));
  EXPECT_THAT(result.output, HasSubstr("good.pem: good"));

  result = QueryOcsp(dir, dir + "/revoked.pem");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("Response verify OK"));
  EXPECT_THAT(result.output, HasSubstr("revoked.pem: revoked"));
  EXPECT_THAT(result.output, HasSubstr("Revocation Time: Nov 14 22:13:20 2023 GMT"));

  // Not in the index: the lookup is by serial, so this proves the serial spelling matched above.
  result = QueryOcsp(dir, dir + "/unlisted.pem");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("unlisted.pem: unknown"));
  EXPECT_THAT(result.output, Not(HasSubstr("unlisted.pem: good")));
}

}  // namespace
}  // namespace testing
}  // namespace sigil
