#include "common/openssl_util.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace sigil {

void ClearOpenSslErrors() { ERR_clear_error(); }

absl::Status OpenSslError(absl::StatusCode code, absl::string_view context) {
  std::string message(context);
  unsigned long err;
  const char* data = nullptr;
  int flags = 0;
  bool first = true;
  while ((err = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    absl::StrAppend(&message, first ? ": " : "; ", buf);
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && data[0] != '\0') {
      absl::StrAppend(&message, " (", data, ")");
    }
    first = false;
  }
  return absl::Status(code, message);
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    if (err == ENOENT) return absl::NotFoundError(absl::StrCat("cannot open '", path, "': no such file"));
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open '", path, "': ", std::strerror(err)));
  }
  std::string data;
  char buf[65536];
  while (in) {
    in.read(buf, sizeof(buf));
    data.append(buf, static_cast<size_t>(in.gcount()));
    if (data.size() > max_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", path, "' is larger than ", max_bytes, " bytes"));
    }
  }
  if (in.bad()) return absl::FailedPreconditionError(absl::StrCat("cannot read '", path, "'"));
  return data;
}

absl::StatusOr<std::vector<X509Ptr>> ParsePemCertificates(absl::string_view pem, absl::string_view what) {
  ClearOpenSslErrors();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return OpenSslError(absl::StatusCode::kInternal, "BIO_new_mem_buf");
  std::vector<X509Ptr> certs;
  while (true) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
      unsigned long err = ERR_peek_last_error();
      if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) {
        ClearOpenSslErrors();
        break;
      }
      return OpenSslError(absl::StatusCode::kInvalidArgument,
                          absl::StrCat(what, ": malformed PEM certificate #", certs.size() + 1));
    }
    certs.push_back(std::move(cert));
  }
  if (certs.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": no PEM certificate found"));
  }
  return certs;
}

absl::StatusOr<EvpPkeyPtr> ParsePemPrivateKey(absl::string_view pem, absl::string_view what) {
  ClearOpenSslErrors();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return OpenSslError(absl::StatusCode::kInternal, "BIO_new_mem_buf");
  // An empty passphrase callback makes encrypted keys fail instead of prompting on the terminal.
  auto no_password = [](char*, int, int, void*) -> int { return -1; };
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
  if (!key) {
    // OpenSSL's error queue carries codes and reasons only, never key bytes.
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        absl::StrCat(what, ": no usable PEM private key (encrypted keys are not supported)"));
  }
  return key;
}

std::string CertificateDer(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  if (len <= 0) return "";
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

absl::StatusOr<X509Ptr> ParseDerCertificate(absl::string_view der) {
  ClearOpenSslErrors();
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) return OpenSslError(absl::StatusCode::kInvalidArgument, "malformed DER certificate");
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return absl::InvalidArgumentError("DER certificate has trailing bytes");
  }
  return cert;
}

std::string CertificatePem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return "";
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

absl::StatusOr<std::string> PublicKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), key) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "PEM_write_bio_PUBKEY");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

absl::StatusOr<EvpPkeyPtr> ParsePublicKeyPem(absl::string_view pem) {
  ClearOpenSslErrors();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EvpPkeyPtr key(bio == nullptr ? nullptr : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) return OpenSslError(absl::StatusCode::kInvalidArgument, "malformed PEM public key");
  return key;
}

std::string Digest(const EVP_MD* md, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), out, &length, md, nullptr) != 1) {
    ClearOpenSslErrors();
    return "";
  }
  return std::string(reinterpret_cast<const char*>(out), length);
}

std::string NameToString(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "";
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string SpkiSha256Hex(const X509* cert) {
  if (cert == nullptr) return "";
  unsigned char* der = nullptr;
  int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  if (len <= 0) return "";
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<size_t>(len), digest);
  OPENSSL_free(der);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), sizeof(digest)));
}

}  // namespace sigil
