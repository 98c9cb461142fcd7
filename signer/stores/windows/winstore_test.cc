// Unit tests of the Windows store core, cross-compiled with mingw-w64 and run under Wine
// (//signer/stores/windows:winstore_unit_test, fresh WINEPREFIX). Store listing, chains and the conformance
// suite run from the Linux side (windows_store_wine_test.cc); these cover the pure parts (matching, DER of
// r || s, the scheme table), the RDN decoding, the chain trust decision and NCrypt signing and its error
// paths through the test seam.
#include <gtest/gtest.h>

#include <iterator>
#include <string>
#include <vector>

#include "signer/stores/testing/adr_match_table.h"
#include "signer/stores/windows/cert_match.h"
#include "signer/stores/windows/cert_store.h"
#include "signer/stores/windows/ecdsa_der.h"
#include "signer/stores/windows/encoding.h"
#include "signer/stores/windows/ncrypt_key.h"
#include "signer/stores/windows/schemes.h"

namespace sigil::winstore {
namespace {

std::string Unhex(const char* hex) { return HexDecode(hex).value(); }

// ---- ECDSA r || s to DER ----

TEST(EcdsaRawToDer, SmallPositiveIntegers) {
  auto der = EcdsaRawToDer(Unhex("00010002"));  // r = 1, s = 2 (16-bit halves)
  ASSERT_TRUE(der.ok()) << der.status().ToString();
  EXPECT_EQ(HexEncode(*der), "3006020101020102");
}

TEST(EcdsaRawToDer, HighBitGetsALeadingZeroAndLeadingZerosAreDropped) {
  auto der = EcdsaRawToDer(Unhex("80FF" "007F"));
  ASSERT_TRUE(der.ok());
  EXPECT_EQ(HexEncode(*der), "3008020300" "80FF" "02017F");
}

TEST(EcdsaRawToDer, ZeroIsOneZeroOctet) {
  auto der = EcdsaRawToDer(Unhex("00000000"));
  ASSERT_TRUE(der.ok());
  EXPECT_EQ(HexEncode(*der), "3006020100020100");
}

TEST(EcdsaRawToDer, P521UsesLongFormSequenceLength) {
  std::string raw(132, '\xff');  // two 66-byte halves, high bit set: 67-byte INTEGERs
  auto der = EcdsaRawToDer(raw);
  ASSERT_TRUE(der.ok());
  // SEQUENCE, long form one length octet: 2 * (2 + 67) = 138 = 0x8A.
  EXPECT_EQ(HexEncode(der->substr(0, 6)), "30818A024300");
  EXPECT_EQ(der->size(), 3u + 138u);
}

TEST(EcdsaRawToDer, P256Length) {
  std::string raw(64, '\x01');
  auto der = EcdsaRawToDer(raw);
  ASSERT_TRUE(der.ok());
  EXPECT_EQ(HexEncode(der->substr(0, 4)), "30440220");
}

TEST(EcdsaRawToDer, OddOrEmptyIsInvalidArgument) {
  EXPECT_EQ(EcdsaRawToDer(Unhex("010203")).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(EcdsaRawToDer("").status().code(), Code::kInvalidArgument);
}

// ---- The scheme table (same as signer/signature_scheme.cc) ----

TEST(Schemes, PssNeedsRoomForSaltEqualToHashLength) {
  const KeyDescription rsa1024{KeyAlgorithm::kRsa, 1024};
  // emLen = 128 bytes: SHA-512 PSS needs 2 * 64 + 2 = 130.
  EXPECT_FALSE(KeySupports(rsa1024, *FindScheme(0x0806)));
  EXPECT_TRUE(KeySupports(rsa1024, *FindScheme(0x0805)));
  const std::vector<uint16_t> all_rsa = {0x0806, 0x0805, 0x0804, 0x0601, 0x0501, 0x0401, 0x0201};
  EXPECT_EQ(SupportedSchemes(KeyDescription{KeyAlgorithm::kRsa, 2048}), all_rsa);
  EXPECT_EQ(FindScheme(0x0805)->digest_length, 48u);
}

TEST(Schemes, EcdsaIsBoundToItsCurve) {
  EXPECT_EQ(SupportedSchemes(KeyDescription{KeyAlgorithm::kEcdsa, 256}), std::vector<uint16_t>{0x0403});
  EXPECT_EQ(SupportedSchemes(KeyDescription{KeyAlgorithm::kEcdsa, 384}), std::vector<uint16_t>{0x0503});
  EXPECT_EQ(SupportedSchemes(KeyDescription{KeyAlgorithm::kEcdsa, 521}), std::vector<uint16_t>{0x0603});
  EXPECT_EQ(SchemeLabel(0x0804), "0x0804 rsa_pss_rsae_sha256");
  EXPECT_EQ(SchemeLabel(0x1234), "0x1234 (unknown)");
}

// ---- Matching ----

CertFacts Facts(std::vector<std::string> subject, std::vector<std::string> issuer, int64_t not_before,
                int64_t not_after, const std::string& sha256, const std::string& thumbprint = "AB") {
  CertFacts facts;
  facts.der = "der-" + sha256;
  facts.subject_values = std::move(subject);
  facts.issuer_values = std::move(issuer);
  facts.not_before_unix = not_before;
  facts.not_after_unix = not_after;
  facts.sha256 = sha256;
  facts.thumbprint = thumbprint;
  return facts;
}

constexpr int64_t kNow = 1700000000;
constexpr int64_t kDay = 86400;

TEST(CertMatch, AdrTable) {
  const std::vector<CertFacts> certs = {
      Facts({"decoy.test"}, {"Other CA"}, kNow - kDay, kNow + kDay, "1"),
      Facts({"NATS.io", "example.com"}, {"Synadia Communications Inc.", "NATS.io", "localhost"}, kNow - kDay,
            kNow + kDay, "2"),
  };
  std::vector<sigil::signer::testing::AdrMatchRow> rows(std::begin(sigil::signer::testing::kAdrMatchTable),
                                                         std::end(sigil::signer::testing::kAdrMatchTable));
  rows.push_back({"subject", "EXAMPLE.COM", true});  // case-insensitive option and value
  for (const auto& row : rows) {
    SCOPED_TRACE(std::string(row.by) + " " + row.match);
    auto by = ParseMatchBy(row.by);
    ASSERT_TRUE(by.ok());
    auto selection = SelectCertificate(certs, MatchSpec{*by, row.match, false}, kNow);
    if (row.found) {
      ASSERT_TRUE(selection.ok()) << selection.status().ToString();
      EXPECT_EQ(selection->index, 1u);
      EXPECT_EQ(selection->reason, "the only match");
    } else {
      EXPECT_EQ(selection.status().code(), Code::kNotFound);
    }
  }
}

TEST(CertMatch, UnknownMatchByIsTheAdrError) {
  auto by = ParseMatchBy("SerialNumber");
  EXPECT_EQ(by.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(by.status().message(), "cert match by type not implemented");
  EXPECT_EQ(*ParseMatchBy(""), MatchBy::kSubject);
}

TEST(CertMatch, ThumbprintIgnoresCaseColonsAndSpaces) {
  const std::vector<CertFacts> certs = {Facts({"a"}, {"b"}, kNow - kDay, kNow + kDay, "1", "0A1B2C")};
  for (const char* term : {"0A1B2C", "0a1b2c", "0a:1b:2c", "0A 1B 2C"}) {
    EXPECT_TRUE(SelectCertificate(certs, MatchSpec{MatchBy::kThumbprint, term, false}, kNow).ok()) << term;
  }
  EXPECT_FALSE(SelectCertificate(certs, MatchSpec{MatchBy::kThumbprint, "0A1B2D", false}, kNow).ok());
}

TEST(CertMatch, SkipInvalidAndTieBreaks) {
  const std::vector<CertFacts> certs = {
      Facts({"svc"}, {}, kNow - 30 * kDay, kNow - kDay, "1"),  // expired
      Facts({"svc"}, {}, kNow + kDay, kNow + 30 * kDay, "2"),  // not yet valid, latest NotBefore
      Facts({"svc"}, {}, kNow - 2 * kDay, kNow + kDay, "3"),   // valid
  };
  auto valid_first = SelectCertificate(certs, MatchSpec{MatchBy::kSubject, "svc", false}, kNow);
  ASSERT_TRUE(valid_first.ok());
  EXPECT_EQ(valid_first->index, 2u);
  EXPECT_EQ(valid_first->reason, "the only currently valid one of 3 matches");
  auto skipping = SelectCertificate(certs, MatchSpec{MatchBy::kSubject, "svc", true}, kNow);
  ASSERT_TRUE(skipping.ok());
  EXPECT_EQ(skipping->index, 2u);
  EXPECT_EQ(skipping->reason, "the only match; 2 skipped as outside their validity period");

  const std::vector<CertFacts> only_expired = {certs[0]};
  auto none = SelectCertificate(only_expired, MatchSpec{MatchBy::kSubject, "svc", true}, kNow);
  EXPECT_EQ(none.status().code(), Code::kNotFound);
  EXPECT_EQ(none.status().message(),
            "no certificate matches Subject \"svc\" among 1 certificate(s) with a key (1 matching certificate(s) "
            "skipped as outside their validity period)");

  const std::vector<CertFacts> same_time = {
      Facts({"svc"}, {}, kNow - kDay, kNow + kDay, "\x02"),
      Facts({"svc"}, {}, kNow - kDay, kNow + kDay, "\x01"),
      Facts({"svc"}, {}, kNow - 2 * kDay, kNow + kDay, "\x00"),
  };
  auto lowest = SelectCertificate(same_time, MatchSpec{MatchBy::kSubject, "svc", false}, kNow);
  ASSERT_TRUE(lowest.ok());
  EXPECT_EQ(lowest->index, 1u);
  EXPECT_EQ(lowest->reason, "the lowest SHA-256 fingerprint of 3 matches with the same NotBefore");
}

// ---- RDN decoding and the chain trust decision ----

TEST(RdnValues, DecodesEachValueInOrder) {
  const wchar_t* dn = L"O=Synadia Communications Inc., OU=NATS.io, CN=localhost";
  DWORD size = 0;
  ASSERT_TRUE(CertStrToNameW(X509_ASN_ENCODING, dn, CERT_X500_NAME_STR, nullptr, nullptr, &size, nullptr));
  std::string encoded(size, '\0');
  ASSERT_TRUE(CertStrToNameW(X509_ASN_ENCODING, dn, CERT_X500_NAME_STR, nullptr,
                             reinterpret_cast<BYTE*>(encoded.data()), &size, nullptr));
  CERT_NAME_BLOB blob{size, reinterpret_cast<BYTE*>(encoded.data())};
  auto values = RdnValues(blob);
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  EXPECT_EQ(*values, (std::vector<std::string>{"Synadia Communications Inc.", "NATS.io", "localhost"}));

  CERT_NAME_BLOB garbage{3, reinterpret_cast<BYTE*>(const_cast<char*>("\x30\x05\x01"))};
  EXPECT_EQ(RdnValues(garbage).status().code(), Code::kInvalidArgument);
}

TEST(ChainTrust, PartialOrUntrustedChainsAreRejectedRevocationAndUsageIgnored) {
  EXPECT_TRUE(ChainErrorStatusAcceptable(CERT_TRUST_NO_ERROR));
  EXPECT_FALSE(ChainErrorStatusAcceptable(CERT_TRUST_IS_PARTIAL_CHAIN));
  EXPECT_FALSE(ChainErrorStatusAcceptable(CERT_TRUST_IS_UNTRUSTED_ROOT));
  EXPECT_FALSE(ChainErrorStatusAcceptable(CERT_TRUST_IS_NOT_SIGNATURE_VALID));
  EXPECT_FALSE(ChainErrorStatusAcceptable(CERT_TRUST_IS_NOT_TIME_VALID));
  EXPECT_TRUE(ChainErrorStatusAcceptable(CERT_TRUST_REVOCATION_STATUS_UNKNOWN | CERT_TRUST_IS_OFFLINE_REVOCATION));
  EXPECT_TRUE(ChainErrorStatusAcceptable(CERT_TRUST_IS_NOT_VALID_FOR_USAGE));
}

TEST(Providers, NamesAreCaseInsensitiveAndUnknownOnesAreTheAdrError) {
  EXPECT_EQ(*ParseProvider("windowscurrentuser"), StoreLocation::kCurrentUser);
  EXPECT_EQ(*ParseProvider("WindowsLocalMachine"), StoreLocation::kLocalMachine);
  auto bad = ParseProvider("WindowsOther");
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message().rfind("cert store type not implemented", 0), 0u);
}

// ---- NCrypt signing through the test seam ----

// A fresh RSA key (BCrypt) and a certificate context carrying its public key (the signature over the
// certificate is a placeholder: only the public key matters to ImportRsaForTesting).
struct TestKey {
  ScopedBCryptKey key;
  std::string private_blob;
  ScopedCertContext cert;
};

void MakeTestKey(TestKey& out, ULONG bits = 2048) {
  ScopedBCryptAlgorithm alg;
  ASSERT_TRUE(BCRYPT_SUCCESS(BCryptOpenAlgorithmProvider(alg.receive(), BCRYPT_RSA_ALGORITHM, nullptr, 0)));
  ASSERT_TRUE(BCRYPT_SUCCESS(BCryptGenerateKeyPair(alg.get(), out.key.receive(), bits, 0)));
  ASSERT_TRUE(BCRYPT_SUCCESS(BCryptFinalizeKeyPair(out.key.get(), 0)));
  ULONG size = 0;
  ASSERT_TRUE(BCRYPT_SUCCESS(BCryptExportKey(out.key.get(), nullptr, BCRYPT_RSAPRIVATE_BLOB, nullptr, 0, &size, 0)));
  out.private_blob.assign(size, '\0');
  ASSERT_TRUE(BCRYPT_SUCCESS(BCryptExportKey(out.key.get(), nullptr, BCRYPT_RSAPRIVATE_BLOB,
                                             reinterpret_cast<PUCHAR>(out.private_blob.data()), size, &size, 0)));

  // SubjectPublicKeyInfo by hand: Wine has no CryptExportPublicKeyInfoFromBCryptKeyHandle. The PKCS#1
  // RSAPublicKey comes from CryptEncodeObjectEx(RSA_CSP_PUBLICKEYBLOB), which wants a CryptoAPI
  // PUBLICKEYBLOB (little-endian modulus).
  ULONG public_size = 0;
  ASSERT_TRUE(BCRYPT_SUCCESS(BCryptExportKey(out.key.get(), nullptr, BCRYPT_RSAPUBLIC_BLOB, nullptr, 0, &public_size, 0)));
  std::string public_blob(public_size, '\0');
  ASSERT_TRUE(BCRYPT_SUCCESS(BCryptExportKey(out.key.get(), nullptr, BCRYPT_RSAPUBLIC_BLOB,
                                             reinterpret_cast<PUCHAR>(public_blob.data()), public_size, &public_size, 0)));
  const auto* header = reinterpret_cast<const BCRYPT_RSAKEY_BLOB*>(public_blob.data());
  const std::string exponent = public_blob.substr(sizeof(BCRYPT_RSAKEY_BLOB), header->cbPublicExp);
  const std::string modulus = public_blob.substr(sizeof(BCRYPT_RSAKEY_BLOB) + header->cbPublicExp, header->cbModulus);
  std::string capi(sizeof(BLOBHEADER) + sizeof(RSAPUBKEY), '\0');
  auto* blob_header = reinterpret_cast<BLOBHEADER*>(capi.data());
  blob_header->bType = PUBLICKEYBLOB;
  blob_header->bVersion = CUR_BLOB_VERSION;
  blob_header->aiKeyAlg = CALG_RSA_KEYX;
  auto* rsa_header = reinterpret_cast<RSAPUBKEY*>(capi.data() + sizeof(BLOBHEADER));
  rsa_header->magic = 0x31415352;  // "RSA1"
  rsa_header->bitlen = header->BitLength;
  for (unsigned char c : exponent) rsa_header->pubexp = (rsa_header->pubexp << 8) | c;
  capi.append(modulus.rbegin(), modulus.rend());
  BYTE* rsa_der = nullptr;
  DWORD rsa_der_size = 0;
  ASSERT_TRUE(CryptEncodeObjectEx(X509_ASN_ENCODING, RSA_CSP_PUBLICKEYBLOB, capi.data(), CRYPT_ENCODE_ALLOC_FLAG,
                                  nullptr, &rsa_der, &rsa_der_size));
  ScopedLocalMemory rsa_der_owner(rsa_der);
  char rsa_oid[] = szOID_RSA_RSA;
  BYTE null_parameters[] = {0x05, 0x00};
  CERT_PUBLIC_KEY_INFO spki = {};
  spki.Algorithm.pszObjId = rsa_oid;
  spki.Algorithm.Parameters = {sizeof(null_parameters), null_parameters};
  spki.PublicKey = {rsa_der_size, rsa_der, 0};

  BYTE serial[] = {1};
  char sha256_rsa[] = szOID_RSA_SHA256RSA;
  const wchar_t* dn = L"CN=unit.test";
  DWORD name_size = 0;
  ASSERT_TRUE(CertStrToNameW(X509_ASN_ENCODING, dn, CERT_X500_NAME_STR, nullptr, nullptr, &name_size, nullptr));
  std::string name(name_size, '\0');
  ASSERT_TRUE(CertStrToNameW(X509_ASN_ENCODING, dn, CERT_X500_NAME_STR, nullptr,
                             reinterpret_cast<BYTE*>(name.data()), &name_size, nullptr));
  CERT_INFO info = {};
  info.dwVersion = CERT_V3;
  info.SerialNumber = {sizeof(serial), serial};
  info.SignatureAlgorithm.pszObjId = sha256_rsa;
  info.Issuer = {name_size, reinterpret_cast<BYTE*>(name.data())};
  info.Subject = info.Issuer;
  GetSystemTimeAsFileTime(&info.NotBefore);
  info.NotAfter = info.NotBefore;
  info.NotAfter.dwHighDateTime += 100;  // ~ 5 days
  info.SubjectPublicKeyInfo = spki;

  BYTE* tbs = nullptr;
  DWORD tbs_size = 0;
  ASSERT_TRUE(CryptEncodeObjectEx(X509_ASN_ENCODING, X509_CERT_TO_BE_SIGNED, &info, CRYPT_ENCODE_ALLOC_FLAG, nullptr,
                                  &tbs, &tbs_size));
  ScopedLocalMemory tbs_owner(tbs);
  BYTE placeholder_signature[16] = {};
  CERT_SIGNED_CONTENT_INFO signed_info = {};
  signed_info.ToBeSigned = {tbs_size, tbs};
  signed_info.SignatureAlgorithm.pszObjId = sha256_rsa;
  signed_info.Signature = {sizeof(placeholder_signature), placeholder_signature, 0};
  BYTE* der = nullptr;
  DWORD der_size = 0;
  ASSERT_TRUE(CryptEncodeObjectEx(X509_ASN_ENCODING, X509_CERT, &signed_info, CRYPT_ENCODE_ALLOC_FLAG, nullptr, &der,
                                  &der_size));
  ScopedLocalMemory der_owner(der);
  out.cert.reset(CertCreateCertificateContext(X509_ASN_ENCODING, der, der_size));
  ASSERT_TRUE(out.cert);
}

std::string Digest(size_t length, char seed) {
  std::string digest(length, '\0');
  for (size_t i = 0; i < length; ++i) digest[i] = static_cast<char>(seed + 7 * i);
  return digest;
}

TEST(NCryptSigningKey, PssUsesSaltEqualToHashLength) {
  TestKey test;
  ASSERT_NO_FATAL_FAILURE(MakeTestKey(test));
  auto key = NCryptSigningKey::ImportRsaForTesting(test.private_blob, test.cert.get());
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ((*key)->description().algorithm, KeyAlgorithm::kRsa);
  EXPECT_EQ((*key)->description().bits, 2048);
  for (uint16_t code : {0x0806, 0x0805, 0x0804}) {
    const SchemeInfo& scheme = *FindScheme(code);
    SCOPED_TRACE(scheme.name);
    std::string digest = Digest(scheme.digest_length, static_cast<char>(code));
    auto signature = (*key)->Sign(code, digest);
    ASSERT_TRUE(signature.ok()) << signature.status().ToString();
    EXPECT_EQ(signature->size(), 256u);
    BCRYPT_PSS_PADDING_INFO right = {scheme.hash_algorithm, static_cast<ULONG>(scheme.digest_length)};
    EXPECT_TRUE(BCRYPT_SUCCESS(BCryptVerifySignature(
        test.key.get(), &right, reinterpret_cast<PUCHAR>(digest.data()), static_cast<ULONG>(digest.size()),
        reinterpret_cast<PUCHAR>(signature->data()), static_cast<ULONG>(signature->size()), BCRYPT_PAD_PSS)));
    if (scheme.digest_length != 32) {
      // The reference implementation's fixed 32-byte salt does not verify against ours.
      BCRYPT_PSS_PADDING_INFO fixed32 = {scheme.hash_algorithm, 32};
      EXPECT_FALSE(BCRYPT_SUCCESS(BCryptVerifySignature(
          test.key.get(), &fixed32, reinterpret_cast<PUCHAR>(digest.data()), static_cast<ULONG>(digest.size()),
          reinterpret_cast<PUCHAR>(signature->data()), static_cast<ULONG>(signature->size()), BCRYPT_PAD_PSS)));
    }
  }
}

TEST(NCryptSigningKey, Pkcs1Signs) {
  TestKey test;
  ASSERT_NO_FATAL_FAILURE(MakeTestKey(test));
  // A key of its own: Wine's bcrypt (GnuTLS) locks a key to RSA-PSS after its first PSS operation, so the
  // PKCS#1 check must not share the PSS test's key. (signerd's agent imports the key per request.)
  auto key = NCryptSigningKey::ImportRsaForTesting(test.private_blob, test.cert.get());
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  std::string digest = Digest(32, 5);
  auto signature = (*key)->Sign(0x0401, digest);
  ASSERT_TRUE(signature.ok()) << signature.status().ToString();
  BCRYPT_PKCS1_PADDING_INFO padding = {BCRYPT_SHA256_ALGORITHM};
  EXPECT_TRUE(BCRYPT_SUCCESS(BCryptVerifySignature(
      test.key.get(), &padding, reinterpret_cast<PUCHAR>(digest.data()), static_cast<ULONG>(digest.size()),
      reinterpret_cast<PUCHAR>(signature->data()), static_cast<ULONG>(signature->size()), BCRYPT_PAD_PKCS1)));
}

TEST(NCryptSigningKey, BadRequestsAreInvalidArgument) {
  TestKey test;
  ASSERT_NO_FATAL_FAILURE(MakeTestKey(test));
  auto key = NCryptSigningKey::ImportRsaForTesting(test.private_blob, test.cert.get());
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  auto unknown = (*key)->Sign(0x9999, Digest(32, 1));
  EXPECT_EQ(unknown.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(unknown.status().message(), "unknown signature scheme 0x9999 (unknown)");
  auto ecdsa = (*key)->Sign(0x0403, Digest(32, 1));
  EXPECT_EQ(ecdsa.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ecdsa.status().message(), "this identity's key cannot make 0x0403 ecdsa_secp256r1_sha256");
  auto short_digest = (*key)->Sign(0x0805, Digest(32, 1));
  EXPECT_EQ(short_digest.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(short_digest.status().message(), "digest is 32 bytes; rsa_pss_rsae_sha384 needs a 48-byte digest");
}

TEST(NCryptSigningKey, AnotherKeyOrGarbageIsRefused) {
  TestKey a;
  TestKey b;
  ASSERT_NO_FATAL_FAILURE(MakeTestKey(a));
  ASSERT_NO_FATAL_FAILURE(MakeTestKey(b));
  auto wrong = NCryptSigningKey::ImportRsaForTesting(b.private_blob, a.cert.get());
  EXPECT_EQ(wrong.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(wrong.status().message(), "the imported key does not hold the certificate's key");
  auto garbage = NCryptSigningKey::ImportRsaForTesting("not a key blob", a.cert.get());
  EXPECT_EQ(garbage.status().code(), Code::kInvalidArgument);
  EXPECT_NE(garbage.status().message().find("NCryptImportKey failed: SECURITY_STATUS 0x"), std::string::npos)
      << garbage.status().message();
}

TEST(NCryptSigningKey, RealKspPathFailsCleanlyForACertificateWithoutKey) {
  TestKey test;
  ASSERT_NO_FATAL_FAILURE(MakeTestKey(test));
  auto key = NCryptSigningKey::AcquireForCertificate(test.cert.get());
  ASSERT_FALSE(key.ok());
  EXPECT_TRUE(key.status().code() == Code::kNotFound || key.status().code() == Code::kFailedPrecondition)
      << key.status().ToString();
  EXPECT_NE(key.status().message().find("CryptAcquireCertificatePrivateKey failed: error 0x"), std::string::npos)
      << key.status().ToString();
}

TEST(SigningError, KeepsTheCodeAndPicksTheStatus) {
  EXPECT_EQ(SigningError("NCryptSignHash", NTE_SILENT_CONTEXT).code(), Code::kFailedPrecondition);
  EXPECT_EQ(SigningError("NCryptSignHash", NTE_BAD_KEYSET).code(), Code::kNotFound);
  EXPECT_EQ(SigningError("NCryptSignHash", NTE_DEVICE_NOT_READY).code(), Code::kUnavailable);
  Status internal = SigningError("NCryptSignHash", NTE_INTERNAL_ERROR);
  EXPECT_EQ(internal.code(), Code::kInternal);
  EXPECT_EQ(internal.message(), "NCryptSignHash failed: SECURITY_STATUS 0x8009002D");
}

}  // namespace
}  // namespace sigil::winstore
