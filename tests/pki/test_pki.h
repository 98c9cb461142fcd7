// In-memory X.509 test PKIs for Sigil's tests (testonly).
//
// Generates RSA and EC keys and issues self-signed and CA-signed X.509 v3 certificates with the
// OpenSSL 3 API, so tests can build root -> intermediate -> leaf chains for mTLS listeners and OCSP
// responders without fixture files. Also writes the artefacts the `openssl` command line consumes:
// PEM/DER files, SPKI pins, and `openssl ca`-style index.txt lines for `openssl ocsp -index`.
//
// Errors are reported as absl::Status; OpenSSL failures become absl::InternalError with the drained
// OpenSSL error queue appended. Nothing here throws. The functions keep no state of their own and may be
// called from several threads at once.
#ifndef SIGIL_TESTS_PKI_TEST_PKI_H_
#define SIGIL_TESTS_PKI_TEST_PKI_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/openssl_util.h"

namespace sigil {
namespace testing {

// The project's owning pointers for OpenSSL objects (common/openssl_util.h).
using ::sigil::BignumPtr;
using ::sigil::BioPtr;
using ::sigil::EvpPkeyCtxPtr;
using ::sigil::EvpPkeyPtr;
using ::sigil::X509Ptr;
using ::sigil::X509StoreCtxPtr;
using ::sigil::X509StorePtr;

// What key to generate. RSA uses `rsa_bits` (public exponent 65537); EC uses the named curve `ec_nid`
// (e.g. NID_X9_62_prime256v1, NID_secp384r1) with named-curve encoding. The unused field is ignored.
struct KeySpec {
  enum Type { kRsa, kEc };
  Type type = kRsa;
  int rsa_bits = 2048;
  int ec_nid = NID_X9_62_prime256v1;

  // An RSA key of `bits` bits.
  static KeySpec Rsa(int bits = 2048);
  // An EC key on the named curve `nid`.
  static KeySpec Ec(int nid = NID_X9_62_prime256v1);
};

// Generates a fresh key pair. InvalidArgument if rsa_bits < 512 (OpenSSL's minimum) or ec_nid is not
// a curve OpenSSL knows; InternalError (with OpenSSL's error text) if generation itself fails.
absl::StatusOr<EvpPkeyPtr> GenerateKey(const KeySpec& spec);

// Current time as Unix seconds; used for CertSpec's validity defaults.
int64_t NowUnix();

// What certificate to issue. Every certificate is X.509 v3, signed with SHA-256, and carries
// BasicConstraints (critical; CA:TRUE for is_ca), KeyUsage (critical; CA: keyCertSign+cRLSign; leaf:
// digitalSignature, plus keyEncipherment for RSA keys), SubjectKeyIdentifier (SHA-1 of the public
// key bits, RFC 5280 method 1) and AuthorityKeyIdentifier (the issuer's key identifier; its own for a
// self-signed certificate). The other extensions are added only when their field is non-empty/true.
struct CertSpec {
  // Subject RDNs in order, as (OpenSSL short or long name, UTF-8 value), e.g.
  // {{"O", "Synadia Communications Inc."}, {"OU", "NATS.io"}, {"CN", "localhost"}}. May be empty.
  std::vector<std::pair<std::string, std::string>> subject;
  bool is_ca = false;
  // Validity window in Unix seconds. Defaults: one hour ago to 365 days from now (evaluated when the
  // CertSpec is constructed). Encoded as UTCTime through 2049, GeneralizedTime after, per RFC 5280.
  int64_t not_before_unix = NowUnix() - 3600;
  int64_t not_after_unix = NowUnix() + 365 * 24 * 3600;
  // SubjectAltName entries; ip_sans are IPv4 or IPv6 literals. Critical only when `subject` is empty
  // (RFC 5280 section 4.2.1.6).
  std::vector<std::string> dns_sans;
  std::vector<std::string> ip_sans;
  std::vector<std::string> uri_sans;
  // AuthorityInfoAccess id-ad-ocsp URIs, in order. Non-critical.
  std::vector<std::string> ocsp_urls;
  // ExtendedKeyUsage purposes as OpenSSL names or dotted OIDs ("serverAuth", "clientAuth",
  // "OCSPSigning", "1.3.6.1.5.5.7.3.1"). Non-critical. Empty means no EKU extension.
  std::vector<std::string> extended_key_usages;
  // Adds the TLS Feature extension (1.3.6.1.5.5.7.1.24) containing status_request(5): OCSP must-staple.
  bool must_staple = false;
  // Certificate serial number; 0 means a random positive 64-bit serial.
  uint64_t serial = 0;
};

// A key pair and the certificate issued for it. Move-only.
struct Issued {
  EvpPkeyPtr key;
  X509Ptr cert;

  // The certificate as PEM ("-----BEGIN CERTIFICATE-----"). Empty string if `cert` is null or encoding
  // fails.
  std::string CertPem() const;
  // The private key as unencrypted PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), readable by
  // `openssl ... -key/-rkey`. Empty string if `key` is null or encoding fails.
  std::string KeyPem() const;
  // The certificate's DER encoding. Empty string if `cert` is null or encoding fails.
  std::string CertDer() const;
};

// Generates a key per `key_spec` and issues a self-signed certificate per `cert_spec` (issuer name =
// subject). InvalidArgument for unusable spec values (unknown RDN or EKU name, bad IP literal,
// not_after < not_before); InternalError for OpenSSL failures.
absl::StatusOr<Issued> SelfSigned(const CertSpec& cert_spec, const KeySpec& key_spec);

// Generates a key per `key_spec` and issues a certificate per `cert_spec` whose issuer name is
// `issuer.cert`'s subject, signed by `issuer.key`. Does not check that the issuer is a CA (tests may
// want bad chains). InvalidArgument as for SelfSigned, or if `issuer` lacks a key or certificate.
absl::StatusOr<Issued> IssueCert(const CertSpec& cert_spec, const KeySpec& key_spec,
                                 const Issued& issuer);

// Issues a certificate per `cert_spec` for an existing public key (for keys generated inside a token,
// where only the public half is available), signed by `issuer`. InvalidArgument as for IssueCert.
absl::StatusOr<X509Ptr> IssueCertForPublicKey(const CertSpec& cert_spec, EVP_PKEY* public_key,
                                              const Issued& issuer);

// Writes `contents` to `path` (binary, truncating). InternalError naming the path and errno text on
// failure.
absl::Status WriteFile(const std::string& path, absl::string_view contents);

// Reads all of `path` (binary). NotFound if it does not exist; InternalError for other failures.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// The pinned_certs form of a certificate's key (common/openssl_util.h); the tests check it against the
// openssl command line.
using ::sigil::SpkiSha256Hex;

// One line (with trailing '\n') of an `openssl ca` index.txt for `cert`, byte-identical to what
// `openssl ca -valid`/`-revoke` writes, for `openssl ocsp -index`:
//   status \t expiry \t revocation \t serial \t "unknown" \t subject \n
// where status is `status` ('V' valid or 'R' revoked), expiry is the certificate's notAfter as
// encoded (YYMMDDHHMMSSZ through 2049), revocation is `revoked_at_unix` as UTCTime YYMMDDHHMMSSZ for
// 'R' and empty for 'V' (revoked_at_unix is then ignored), serial is uppercase hex with an even number
// of digits ("00" for zero), and subject is X509_NAME_oneline form ("/O=.../CN=...", or the serial if
// the subject is empty). Returns an empty string if `cert` is null, `status` is neither 'V' nor 'R',
// or an 'R' revocation time falls outside UTCTime's 1950-2049 range (openssl ocsp cannot parse it).
std::string OpenSslIndexLine(const X509* cert, char status, int64_t revoked_at_unix);

}  // namespace testing
}  // namespace sigil

#endif  // SIGIL_TESTS_PKI_TEST_PKI_H_
