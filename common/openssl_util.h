// OpenSSL helpers shared by every component: RAII owners for OpenSSL objects, the one adapter from
// OpenSSL's error queue to absl::Status, and PEM/DER loading.
#ifndef SIGIL_COMMON_OPENSSL_UTIL_H_
#define SIGIL_COMMON_OPENSSL_UTIL_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sigil {

namespace internal {
template <typename T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { Free(p); }
};
inline void FreeX509Stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
}  // namespace internal

// Owning pointers for OpenSSL objects (bssl::UniquePtr style).
using BioPtr = std::unique_ptr<BIO, internal::OpenSslDeleter<BIO, BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, internal::OpenSslDeleter<BIGNUM, BN_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, internal::OpenSslDeleter<EVP_PKEY, EVP_PKEY_free>>;
using EvpPkeyCtxPtr =
    std::unique_ptr<EVP_PKEY_CTX, internal::OpenSslDeleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, internal::OpenSslDeleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, internal::OpenSslDeleter<X509, X509_free>>;
using X509StackPtr =
    std::unique_ptr<STACK_OF(X509), internal::OpenSslDeleter<STACK_OF(X509), internal::FreeX509Stack>>;
using X509StorePtr = std::unique_ptr<X509_STORE, internal::OpenSslDeleter<X509_STORE, X509_STORE_free>>;
using X509StoreCtxPtr =
    std::unique_ptr<X509_STORE_CTX, internal::OpenSslDeleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, internal::OpenSslDeleter<SSL_CTX, SSL_CTX_free>>;

// Builds a status with `code` whose message is `context` followed by the drained OpenSSL error queue
// (every queued error, oldest first, with OpenSSL's own codes and any detail text it attached). Always
// clears the queue.
absl::Status OpenSslError(absl::StatusCode code, absl::string_view context);

// Clears the calling thread's OpenSSL error queue.
void ClearOpenSslErrors();

// Reads a whole file. NOT_FOUND when it does not exist, FAILED_PRECONDITION when it cannot be read.
// Files larger than `max_bytes` are refused (INVALID_ARGUMENT).
absl::StatusOr<std::string> ReadFileToString(const std::string& path, size_t max_bytes = 16 << 20);

// Parses every certificate in a PEM bundle, in order. INVALID_ARGUMENT when it holds none or one is
// malformed; `what` names the source in messages.
absl::StatusOr<std::vector<X509Ptr>> ParsePemCertificates(absl::string_view pem, absl::string_view what);

// Parses one PEM private key (PKCS#8, traditional RSA or EC). Encrypted keys are refused.
absl::StatusOr<EvpPkeyPtr> ParsePemPrivateKey(absl::string_view pem, absl::string_view what);

// DER encoding of a certificate.
std::string CertificateDer(X509* cert);

// Parses one DER certificate; INVALID_ARGUMENT when malformed or followed by trailing bytes.
absl::StatusOr<X509Ptr> ParseDerCertificate(absl::string_view der);

// PEM encoding of a certificate.
std::string CertificatePem(X509* cert);

// PEM SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----") of `key`'s public half.
absl::StatusOr<std::string> PublicKeyPem(EVP_PKEY* key);

// Parses one PEM SubjectPublicKeyInfo. INVALID_ARGUMENT when malformed.
absl::StatusOr<EvpPkeyPtr> ParsePublicKeyPem(absl::string_view pem);

// `md` of `data` (raw bytes); empty only if OpenSSL fails.
std::string Digest(const EVP_MD* md, absl::string_view data);

// RFC 2253 form of a name ("CN=example.com,OU=NATS.io").
std::string NameToString(const X509_NAME* name);

// Lowercase hex SHA-256 of the certificate's DER SubjectPublicKeyInfo (the `pinned_certs` form, what
// `openssl x509 -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256` prints).
// Empty for a null certificate or when encoding fails.
std::string SpkiSha256Hex(const X509* cert);

}  // namespace sigil

#endif  // SIGIL_COMMON_OPENSSL_UTIL_H_
