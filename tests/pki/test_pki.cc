// In-memory X.509 test PKIs with the OpenSSL 3 API; see test_pki.h for the contracts.
#include "tests/pki/test_pki.h"

#include <openssl/asn1.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace sigil {
namespace testing {
namespace {

// Owning pointers for the OpenSSL types only this file handles.
template <typename T, void (*Free)(T*)>
struct FreeWith {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, FreeWith<T, Free>>;

using BasicConstraintsPtr = Owned<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>;
using BitStringPtr = Owned<ASN1_BIT_STRING, ASN1_BIT_STRING_free>;
using OctetStringPtr = Owned<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;
using Ia5StringPtr = Owned<ASN1_IA5STRING, ASN1_IA5STRING_free>;
using UtcTimePtr = Owned<ASN1_UTCTIME, ASN1_UTCTIME_free>;
using IntegerPtr = Owned<ASN1_INTEGER, ASN1_INTEGER_free>;
using ObjectPtr = Owned<ASN1_OBJECT, ASN1_OBJECT_free>;
using GeneralNamePtr = Owned<GENERAL_NAME, GENERAL_NAME_free>;
using GeneralNamesPtr = Owned<GENERAL_NAMES, GENERAL_NAMES_free>;
using AccessDescriptionPtr = Owned<ACCESS_DESCRIPTION, ACCESS_DESCRIPTION_free>;
using AuthorityInfoAccessPtr = Owned<AUTHORITY_INFO_ACCESS, AUTHORITY_INFO_ACCESS_free>;
using AuthorityKeyIdPtr = Owned<AUTHORITY_KEYID, AUTHORITY_KEYID_free>;
using ExtendedKeyUsagePtr = Owned<EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free>;
using TlsFeaturePtr = Owned<TLS_FEATURE, TLS_FEATURE_free>;

void FreeOpenSslString(char* p) { OPENSSL_free(p); }
using OpenSslStringPtr = Owned<char, FreeOpenSslString>;

// KeyUsage bit positions (RFC 5280 section 4.2.1.3).
constexpr int kDigitalSignatureBit = 0;
constexpr int kKeyEnciphermentBit = 2;
constexpr int kKeyCertSignBit = 5;
constexpr int kCrlSignBit = 6;

// TLS Feature value for status_request (RFC 7633): OCSP must-staple.
constexpr long kTlsFeatureStatusRequest = 5;

// InternalError for a failed OpenSSL call, with OpenSSL's error text (common/openssl_util.h).
absl::Status OpenSslError(absl::string_view what) {
  return ::sigil::OpenSslError(absl::StatusCode::kInternal, what);
}

// An IA5String holding `value`, or null on allocation failure.
Ia5StringPtr MakeIa5(absl::string_view value) {
  Ia5StringPtr s(ASN1_IA5STRING_new());
  if (s == nullptr || ASN1_STRING_set(s.get(), value.data(), static_cast<int>(value.size())) != 1) {
    return nullptr;
  }
  return s;
}

// Appends a DNS or URI GeneralName (`type` GEN_DNS or GEN_URI) holding `value` to `names`.
absl::Status PushStringName(GENERAL_NAMES* names, int type, absl::string_view value) {
  Ia5StringPtr ia5 = MakeIa5(value);
  GeneralNamePtr name(GENERAL_NAME_new());
  if (ia5 == nullptr || name == nullptr) return OpenSslError("allocating a GeneralName");
  GENERAL_NAME_set0_value(name.get(), type, ia5.release());
  if (sk_GENERAL_NAME_push(names, name.get()) <= 0) return OpenSslError("appending a GeneralName");
  name.release();
  return absl::OkStatus();
}

// Appends an iPAddress GeneralName for the IPv4/IPv6 literal `value` to `names`.
absl::Status PushIpName(GENERAL_NAMES* names, const std::string& value) {
  OctetStringPtr ip(a2i_IPADDRESS(value.c_str()));
  if (ip == nullptr) {
    return ::sigil::OpenSslError(absl::StatusCode::kInvalidArgument,
                         absl::StrCat("ip_sans: not an IP address: \"", value, "\""));
  }
  GeneralNamePtr name(GENERAL_NAME_new());
  if (name == nullptr) return OpenSslError("allocating a GeneralName");
  GENERAL_NAME_set0_value(name.get(), GEN_IPADD, ip.release());
  if (sk_GENERAL_NAME_push(names, name.get()) <= 0) return OpenSslError("appending a GeneralName");
  name.release();
  return absl::OkStatus();
}

// Adds extension `nid` with the decoded value `value` to `cert`.
absl::Status AddExtension(X509* cert, int nid, void* value, bool critical) {
  if (X509_add1_ext_i2d(cert, nid, value, critical ? 1 : 0, X509V3_ADD_DEFAULT) != 1) {
    return OpenSslError(absl::StrCat("adding extension ", OBJ_nid2sn(nid)));
  }
  return absl::OkStatus();
}

// The RFC 5280 method-1 key identifier of `cert`'s public key: SHA-1 of the subjectPublicKey bits.
absl::StatusOr<OctetStringPtr> KeyIdentifierOf(const X509* cert) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_pubkey_digest(cert, EVP_sha1(), digest, &length) != 1) {
    return OpenSslError("hashing the public key for the key identifier");
  }
  OctetStringPtr id(ASN1_OCTET_STRING_new());
  if (id == nullptr || ASN1_OCTET_STRING_set(id.get(), digest, static_cast<int>(length)) != 1) {
    return OpenSslError("allocating a key identifier");
  }
  return id;
}

// Sets `name` to the RDN sequence `rdns`.
absl::Status FillName(X509_NAME* name,
                      const std::vector<std::pair<std::string, std::string>>& rdns) {
  for (const auto& [field, value] : rdns) {
    if (OBJ_txt2nid(field.c_str()) == NID_undef) {
      ERR_clear_error();
      return absl::InvalidArgumentError(
          absl::StrCat("subject: unknown attribute type \"", field, "\""));
    }
    if (X509_NAME_add_entry_by_txt(name, field.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1) {
      return ::sigil::OpenSslError(absl::StatusCode::kInvalidArgument,
                           absl::StrCat("subject: cannot add ", field, "=\"", value, "\""));
    }
  }
  return absl::OkStatus();
}

// Adds every extension CertSpec describes to `cert`, whose public key is already set. The
// AuthorityKeyIdentifier names `issuer`'s key, or `cert`'s own when `issuer` is null.
absl::Status AddExtensions(X509* cert, const CertSpec& spec, bool rsa_key, const X509* issuer) {
  BasicConstraintsPtr basic(BASIC_CONSTRAINTS_new());
  if (basic == nullptr) return OpenSslError("allocating BasicConstraints");
  basic->ca = spec.is_ca ? 0xFF : 0;
  absl::Status status = AddExtension(cert, NID_basic_constraints, basic.get(), /*critical=*/true);
  if (!status.ok()) return status;

  BitStringPtr usage(ASN1_BIT_STRING_new());
  if (usage == nullptr) return OpenSslError("allocating KeyUsage");
  std::vector<int> bits;
  if (spec.is_ca) {
    bits = {kKeyCertSignBit, kCrlSignBit};
  } else {
    bits = {kDigitalSignatureBit};
    if (rsa_key) bits.push_back(kKeyEnciphermentBit);
  }
  for (int bit : bits) {
    if (ASN1_BIT_STRING_set_bit(usage.get(), bit, 1) != 1) return OpenSslError("setting KeyUsage");
  }
  status = AddExtension(cert, NID_key_usage, usage.get(), /*critical=*/true);
  if (!status.ok()) return status;

  if (!spec.extended_key_usages.empty()) {
    ExtendedKeyUsagePtr eku(sk_ASN1_OBJECT_new_null());
    if (eku == nullptr) return OpenSslError("allocating ExtendedKeyUsage");
    for (const std::string& purpose : spec.extended_key_usages) {
      ObjectPtr oid(OBJ_txt2obj(purpose.c_str(), 0));
      if (oid == nullptr) {
        ERR_clear_error();
        return absl::InvalidArgumentError(
            absl::StrCat("extended_key_usages: unknown purpose \"", purpose, "\""));
      }
      if (sk_ASN1_OBJECT_push(eku.get(), oid.get()) <= 0) {
        return OpenSslError("appending an ExtendedKeyUsage purpose");
      }
      oid.release();
    }
    status = AddExtension(cert, NID_ext_key_usage, eku.get(), /*critical=*/false);
    if (!status.ok()) return status;
  }

  absl::StatusOr<OctetStringPtr> subject_key_id = KeyIdentifierOf(cert);
  if (!subject_key_id.ok()) return subject_key_id.status();
  status = AddExtension(cert, NID_subject_key_identifier, subject_key_id->get(), false);
  if (!status.ok()) return status;

  AuthorityKeyIdPtr authority_key_id(AUTHORITY_KEYID_new());
  if (authority_key_id == nullptr) return OpenSslError("allocating AuthorityKeyIdentifier");
  if (issuer == nullptr) {
    authority_key_id->keyid = ASN1_OCTET_STRING_dup(subject_key_id->get());
  } else {
    // Prefer the identifier the issuer actually advertises; fall back to hashing its key.
    authority_key_id->keyid = static_cast<ASN1_OCTET_STRING*>(
        X509_get_ext_d2i(issuer, NID_subject_key_identifier, nullptr, nullptr));
    if (authority_key_id->keyid == nullptr) {
      ERR_clear_error();
      absl::StatusOr<OctetStringPtr> issuer_key_id = KeyIdentifierOf(issuer);
      if (!issuer_key_id.ok()) return issuer_key_id.status();
      authority_key_id->keyid = issuer_key_id->release();
    }
  }
  if (authority_key_id->keyid == nullptr) return OpenSslError("copying the authority key id");
  status = AddExtension(cert, NID_authority_key_identifier, authority_key_id.get(), false);
  if (!status.ok()) return status;

  if (!spec.dns_sans.empty() || !spec.ip_sans.empty() || !spec.uri_sans.empty()) {
    GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
    if (names == nullptr) return OpenSslError("allocating SubjectAltName");
    for (const std::string& dns : spec.dns_sans) {
      status = PushStringName(names.get(), GEN_DNS, dns);
      if (!status.ok()) return status;
    }
    for (const std::string& ip : spec.ip_sans) {
      status = PushIpName(names.get(), ip);
      if (!status.ok()) return status;
    }
    for (const std::string& uri : spec.uri_sans) {
      status = PushStringName(names.get(), GEN_URI, uri);
      if (!status.ok()) return status;
    }
    // RFC 5280 4.2.1.6: critical when the subject is empty.
    status = AddExtension(cert, NID_subject_alt_name, names.get(), spec.subject.empty());
    if (!status.ok()) return status;
  }

  if (!spec.ocsp_urls.empty()) {
    AuthorityInfoAccessPtr access(sk_ACCESS_DESCRIPTION_new_null());
    if (access == nullptr) return OpenSslError("allocating AuthorityInfoAccess");
    for (const std::string& url : spec.ocsp_urls) {
      AccessDescriptionPtr description(ACCESS_DESCRIPTION_new());
      Ia5StringPtr location = MakeIa5(url);
      if (description == nullptr || description->location == nullptr || location == nullptr) {
        return OpenSslError("allocating an AccessDescription");
      }
      ASN1_OBJECT_free(description->method);
      description->method = OBJ_nid2obj(NID_ad_OCSP);
      GENERAL_NAME_set0_value(description->location, GEN_URI, location.release());
      if (sk_ACCESS_DESCRIPTION_push(access.get(), description.get()) <= 0) {
        return OpenSslError("appending an AccessDescription");
      }
      description.release();
    }
    status = AddExtension(cert, NID_info_access, access.get(), /*critical=*/false);
    if (!status.ok()) return status;
  }

  if (spec.must_staple) {
    TlsFeaturePtr features(sk_ASN1_INTEGER_new_null());
    IntegerPtr status_request(ASN1_INTEGER_new());
    if (features == nullptr || status_request == nullptr ||
        ASN1_INTEGER_set(status_request.get(), kTlsFeatureStatusRequest) != 1 ||
        sk_ASN1_INTEGER_push(features.get(), status_request.get()) <= 0) {
      return OpenSslError("building the TLS Feature extension");
    }
    status_request.release();
    status = AddExtension(cert, NID_tlsfeature, features.get(), /*critical=*/false);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

// Issues a certificate for `subject_key` (or, when null, for a key generated per `key_spec`), signed by
// `issuer_key` under the name of `issuer_cert`, or self-signed when both are null. `key` of the result is
// null when `subject_key` was given (the caller has only the public key).
absl::StatusOr<Issued> Issue(const CertSpec& spec, const KeySpec& key_spec, const X509* issuer_cert,
                             EVP_PKEY* issuer_key, EVP_PKEY* subject_key = nullptr) {
  ERR_clear_error();
  if (spec.not_after_unix < spec.not_before_unix) {
    return absl::InvalidArgumentError(absl::StrCat("not_after_unix (", spec.not_after_unix,
                                                   ") is before not_before_unix (",
                                                   spec.not_before_unix, ")"));
  }
  absl::StatusOr<EvpPkeyPtr> key = EvpPkeyPtr();
  if (subject_key == nullptr) key = GenerateKey(key_spec);
  if (!key.ok()) return key.status();
  EVP_PKEY* public_key = subject_key == nullptr ? key->get() : subject_key;

  X509Ptr cert(X509_new());
  if (cert == nullptr) return OpenSslError("X509_new");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) return OpenSslError("X509_set_version");

  uint64_t serial = spec.serial;
  while (serial == 0) {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof(serial)) != 1) {
      return OpenSslError("RAND_bytes for the serial number");
    }
  }
  if (ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial) != 1) {
    return OpenSslError("setting the serial number");
  }

  absl::Status status = FillName(X509_get_subject_name(cert.get()), spec.subject);
  if (!status.ok()) return status;
  const X509_NAME* issuer_name = issuer_cert == nullptr ? X509_get_subject_name(cert.get())
                                                        : X509_get_subject_name(issuer_cert);
  if (X509_set_issuer_name(cert.get(), issuer_name) != 1) return OpenSslError("setting the issuer");

  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(spec.not_before_unix)) ==
          nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(spec.not_after_unix)) ==
          nullptr) {
    return OpenSslError("setting the validity period");
  }
  if (X509_set_pubkey(cert.get(), public_key) != 1) return OpenSslError("X509_set_pubkey");

  status = AddExtensions(cert.get(), spec, EVP_PKEY_get_base_id(public_key) == EVP_PKEY_RSA, issuer_cert);
  if (!status.ok()) return status;

  if (issuer_key == nullptr && subject_key != nullptr) {
    return absl::InvalidArgumentError("a self-signed certificate needs the private key");
  }
  EVP_PKEY* signer = issuer_key == nullptr ? key->get() : issuer_key;
  if (X509_sign(cert.get(), signer, EVP_sha256()) <= 0) return OpenSslError("X509_sign");

  // Re-parse the encoding so the in-memory object (and its cached extension flags) is exactly what a
  // reader of the PEM/DER would see.
  unsigned char* der = nullptr;
  int der_length = i2d_X509(cert.get(), &der);
  if (der_length <= 0) return OpenSslError("i2d_X509");
  const unsigned char* cursor = der;
  X509Ptr parsed(d2i_X509(nullptr, &cursor, der_length));
  OPENSSL_free(der);
  if (parsed == nullptr) return OpenSslError("d2i_X509 of the issued certificate");

  Issued issued;
  issued.key = std::move(*key);
  issued.cert = std::move(parsed);
  return issued;
}

// The contents of a memory BIO.
std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  if (length <= 0 || data == nullptr) return "";
  return std::string(data, static_cast<size_t>(length));
}

}  // namespace

KeySpec KeySpec::Rsa(int bits) {
  KeySpec spec;
  spec.type = kRsa;
  spec.rsa_bits = bits;
  return spec;
}

KeySpec KeySpec::Ec(int nid) {
  KeySpec spec;
  spec.type = kEc;
  spec.ec_nid = nid;
  return spec;
}

absl::StatusOr<EvpPkeyPtr> GenerateKey(const KeySpec& spec) {
  ERR_clear_error();
  EvpPkeyCtxPtr ctx;
  switch (spec.type) {
    case KeySpec::kRsa:
      if (spec.rsa_bits < 512) {
        return absl::InvalidArgumentError(
            absl::StrCat("rsa_bits ", spec.rsa_bits, " is below OpenSSL's minimum of 512"));
      }
      ctx.reset(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
      if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) <= 0 ||
          EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), spec.rsa_bits) <= 0) {
        return OpenSslError("setting up RSA key generation");
      }
      break;
    case KeySpec::kEc: {
      const char* curve = OSSL_EC_curve_nid2name(spec.ec_nid);
      if (curve == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("ec_nid ", spec.ec_nid, " is not a curve OpenSSL knows"));
      }
      ctx.reset(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
      if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) <= 0 ||
          EVP_PKEY_CTX_set_group_name(ctx.get(), curve) <= 0) {
        return OpenSslError(absl::StrCat("setting up EC key generation on ", curve));
      }
      break;
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown KeySpec type ", spec.type));
  }
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_keygen(ctx.get(), &key) <= 0) return OpenSslError("EVP_PKEY_keygen");
  return EvpPkeyPtr(key);
}

int64_t NowUnix() { return static_cast<int64_t>(std::time(nullptr)); }

std::string Issued::CertPem() const {
  if (cert == nullptr) return "";
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert.get()) != 1) return "";
  return BioContents(bio.get());
}

std::string Issued::KeyPem() const {
  if (key == nullptr) return "";
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return "";
  }
  return BioContents(bio.get());
}

std::string Issued::CertDer() const {
  if (cert == nullptr) return "";
  unsigned char* der = nullptr;
  int length = i2d_X509(cert.get(), &der);
  if (length <= 0) return "";
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

absl::StatusOr<Issued> SelfSigned(const CertSpec& cert_spec, const KeySpec& key_spec) {
  return Issue(cert_spec, key_spec, nullptr, nullptr);
}

absl::StatusOr<Issued> IssueCert(const CertSpec& cert_spec, const KeySpec& key_spec,
                                 const Issued& issuer) {
  if (issuer.cert == nullptr || issuer.key == nullptr) {
    return absl::InvalidArgumentError("issuer has no certificate or no key");
  }
  return Issue(cert_spec, key_spec, issuer.cert.get(), issuer.key.get());
}

absl::StatusOr<X509Ptr> IssueCertForPublicKey(const CertSpec& cert_spec, EVP_PKEY* public_key,
                                              const Issued& issuer) {
  if (issuer.cert == nullptr || issuer.key == nullptr) {
    return absl::InvalidArgumentError("issuer has no certificate or no key");
  }
  if (public_key == nullptr) return absl::InvalidArgumentError("no public key");
  SIGIL_ASSIGN_OR_RETURN(Issued issued,
                         Issue(cert_spec, KeySpec(), issuer.cert.get(), issuer.key.get(), public_key));
  return std::move(issued.cert);
}

absl::Status WriteFile(const std::string& path, absl::string_view contents) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return absl::InternalError(absl::StrCat("open ", path, " for writing: ", std::strerror(errno)));
  }
  size_t written = std::fwrite(contents.data(), 1, contents.size(), file);
  int write_errno = errno;
  if (std::fclose(file) != 0 || written != contents.size()) {
    return absl::InternalError(absl::StrCat(
        "write ", path, ": ", std::strerror(written != contents.size() ? write_errno : errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    std::string message = absl::StrCat("open ", path, ": ", std::strerror(errno));
    if (errno == ENOENT) return absl::NotFoundError(message);
    return absl::InternalError(message);
  }
  std::string contents;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) contents.append(buffer, n);
  bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) return absl::InternalError(absl::StrCat("read ", path, ": read error"));
  return contents;
}

std::string OpenSslIndexLine(const X509* cert, char status, int64_t revoked_at_unix) {
  if (cert == nullptr || (status != 'V' && status != 'R')) return "";

  // `openssl ca` copies the notAfter encoding verbatim.
  const ASN1_TIME* not_after = X509_get0_notAfter(cert);
  std::string expiry(reinterpret_cast<const char*>(ASN1_STRING_get0_data(not_after)),
                     static_cast<size_t>(ASN1_STRING_length(not_after)));

  // `openssl ocsp` parses the revocation date with ASN1_UTCTIME_set_string, so it must be UTCTime.
  std::string revoked;
  if (status == 'R') {
    UtcTimePtr when(ASN1_UTCTIME_set(nullptr, static_cast<time_t>(revoked_at_unix)));
    if (when == nullptr) {
      ERR_clear_error();
      return "";
    }
    revoked.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(when.get())),
                   static_cast<size_t>(ASN1_STRING_length(when.get())));
  }

  // Same spelling as `openssl ca` and the `openssl ocsp` lookup: BN_bn2hex, or "00" for zero.
  BignumPtr serial_bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (serial_bn == nullptr) {
    ERR_clear_error();
    return "";
  }
  std::string serial;
  if (BN_is_zero(serial_bn.get())) {
    serial = "00";
  } else {
    OpenSslStringPtr hex(BN_bn2hex(serial_bn.get()));
    if (hex == nullptr) {
      ERR_clear_error();
      return "";
    }
    serial = hex.get();
  }

  OpenSslStringPtr oneline(X509_NAME_oneline(X509_get_subject_name(cert), nullptr, 0));
  if (oneline == nullptr) {
    ERR_clear_error();
    return "";
  }
  // `openssl ca` substitutes the serial for an empty subject.
  std::string subject = oneline.get()[0] == '\0' ? serial : std::string(oneline.get());

  return absl::StrCat(std::string(1, status), "\t", expiry, "\t", revoked, "\t", serial,
                      "\tunknown\t", subject, "\n");
}

}  // namespace testing
}  // namespace sigil
