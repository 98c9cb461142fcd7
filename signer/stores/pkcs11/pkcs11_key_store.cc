#include "signer/stores/pkcs11/pkcs11_key_store.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/logging.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"
#include "signer/stores/pkcs11/pkcs11_module.h"
#include "signer/stores/pkcs11/pkcs11_objects.h"

namespace sigil::signer {
namespace {

using pkcs11::CkCall;

constexpr uint32_t kDefaultSessions = 4;
constexpr uint32_t kMaxSessions = 1024;
// CK_TOKEN_INFO.label is 32 bytes.
constexpr size_t kMaxLabelBytes = 32;

absl::StatusOr<std::string> ReadPin(const std::string& path) {
  absl::StatusOr<std::string> contents = ReadFileToString(path, 4096);
  if (!contents.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("pkcs11.pin_file '", path, "' cannot be read: ", contents.status().message()));
  }
  std::string pin = *std::move(contents);
  while (!pin.empty() && (pin.back() == '\n' || pin.back() == '\r')) pin.pop_back();
  if (pin.empty()) return absl::InvalidArgumentError(absl::StrCat("pkcs11.pin_file '", path, "' is empty"));
  return pin;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ReadCaFile(const std::string& path, absl::string_view option) {
  absl::StatusOr<std::string> pem = ReadFileToString(path);
  if (!pem.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(option, " '", path, "' cannot be read: ", pem.status().message()));
  }
  absl::StatusOr<std::vector<X509Ptr>> certs = ParsePemCertificates(*pem, absl::StrCat(option, " '", path, "'"));
  if (!certs.ok()) return absl::FailedPreconditionError(certs.status().message());
  std::vector<std::string> out;
  for (const X509Ptr& cert : *certs) out.push_back(CertificateDer(cert.get()));
  return out;
}

absl::StatusOr<std::unique_ptr<Pkcs11KeyStore>> Pkcs11KeyStore::Create(const config::v1::Pkcs11Store& options) {
  return Create(options, Tuning());
}

absl::StatusOr<std::unique_ptr<Pkcs11KeyStore>> Pkcs11KeyStore::Create(const config::v1::Pkcs11Store& options,
                                                                       const Tuning& tuning) {
  if (options.module().empty()) return absl::InvalidArgumentError("pkcs11.module is required");
  if (options.token_label().empty()) return absl::InvalidArgumentError("pkcs11.token_label is required");
  if (options.token_label().size() > kMaxLabelBytes) {
    return absl::InvalidArgumentError(absl::StrCat("pkcs11.token_label '", options.token_label(),
                                                   "' is longer than a token label can be (32 bytes)"));
  }
  if (options.pin_file().empty()) return absl::InvalidArgumentError("pkcs11.pin_file is required");
  uint32_t sessions = options.has_sessions() ? options.sessions() : kDefaultSessions;
  if (sessions == 0 || sessions > kMaxSessions) {
    return absl::InvalidArgumentError(absl::StrCat("pkcs11.sessions must be 1 to ", kMaxSessions));
  }
  uint32_t max_ops = options.has_max_concurrent_ops() ? options.max_concurrent_ops() : sessions;
  if (max_ops == 0 || max_ops > kMaxSessions) {
    return absl::InvalidArgumentError(absl::StrCat("pkcs11.max_concurrent_ops must be 1 to ", kMaxSessions));
  }
  if (!options.ca_file().empty()) {
    SIGIL_RETURN_IF_ERROR(ReadCaFile(options.ca_file(), "pkcs11.ca_file").status());
  }

  pkcs11::TokenOptions token_options;
  token_options.label = options.token_label();
  SIGIL_ASSIGN_OR_RETURN(token_options.pin, ReadPin(options.pin_file()));
  token_options.pin_source = absl::StrCat("pkcs11.pin_file '", options.pin_file(), "'");
  token_options.sessions = sessions;
  token_options.max_concurrent_ops = max_ops;
  token_options.reinitialize_interval = tuning.reinitialize_interval;

  absl::StatusOr<std::shared_ptr<pkcs11::Pkcs11Module>> module = pkcs11::Pkcs11Module::Load(options.module());
  if (!module.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("pkcs11.module: ", module.status().message()));
  }
  absl::StatusOr<std::shared_ptr<pkcs11::Pkcs11Token>> token =
      pkcs11::Pkcs11Token::Open(*std::move(module), std::move(token_options));
  if (!token.ok()) {
    if (token.status().code() == absl::StatusCode::kNotFound) {
      return absl::NotFoundError(absl::StrCat("pkcs11.token_label: ", token.status().message()));
    }
    return token.status();
  }
  return std::unique_ptr<Pkcs11KeyStore>(new Pkcs11KeyStore(*std::move(token), options.ca_file()));
}

absl::StatusOr<Pkcs11KeyStore::Listing> Pkcs11KeyStore::List() {
  struct CertObject {
    std::string der, id, label;
  };
  std::vector<CertObject> certs;
  std::set<std::string> key_ids;
  SIGIL_RETURN_IF_ERROR(token_->Run("listing certificates", [&](const pkcs11::Pkcs11Token::SessionRef& s) -> CkCall {
    certs.clear();
    key_ids.clear();
    CK_OBJECT_CLASS cert_class = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE x509 = CKC_X_509;
    std::vector<CK_OBJECT_HANDLE> objects;
    CkCall call = pkcs11::FindObjects(s.functions, s.session,
                                      {pkcs11::Attr(CKA_CLASS, &cert_class), pkcs11::Attr(CKA_CERTIFICATE_TYPE, &x509)},
                                      &objects);
    if (!call.ok()) return call;
    for (CK_OBJECT_HANDLE object : objects) {
      CertObject cert;
      call = pkcs11::GetAttribute(s.functions, s.session, object, CKA_VALUE, &cert.der);
      if (!call.ok()) return call;
      // CKA_ID and CKA_LABEL are optional on certificates.
      pkcs11::GetAttribute(s.functions, s.session, object, CKA_ID, &cert.id);
      pkcs11::GetAttribute(s.functions, s.session, object, CKA_LABEL, &cert.label);
      certs.push_back(std::move(cert));
    }
    CK_OBJECT_CLASS key_class = CKO_PRIVATE_KEY;
    call = pkcs11::FindObjects(s.functions, s.session, {pkcs11::Attr(CKA_CLASS, &key_class)}, &objects);
    if (!call.ok()) return call;
    for (CK_OBJECT_HANDLE object : objects) {
      std::string id;
      if (pkcs11::GetAttribute(s.functions, s.session, object, CKA_ID, &id).ok() && !id.empty()) {
        key_ids.insert(std::move(id));
      }
    }
    return {};
  }));

  Listing listing;
  for (CertObject& cert : certs) {
    if (!cert.id.empty() && key_ids.count(cert.id) > 0) {
      listing.leaves.push_back(StoreCertificate{
          std::move(cert.der), absl::StrCat("label=", cert.label, ",id=", pkcs11::HexBytes(cert.id))});
    } else {
      listing.cas.push_back(std::move(cert.der));
    }
  }
  return listing;
}

absl::StatusOr<std::vector<StoreCertificate>> Pkcs11KeyStore::Certificates() {
  SIGIL_ASSIGN_OR_RETURN(Listing listing, List());
  return std::move(listing.leaves);
}

absl::StatusOr<std::vector<std::string>> Pkcs11KeyStore::CaCertificates() {
  SIGIL_ASSIGN_OR_RETURN(Listing listing, List());
  if (!ca_file_.empty()) {
    SIGIL_ASSIGN_OR_RETURN(std::vector<std::string> file_cas, ReadCaFile(ca_file_, "pkcs11.ca_file"));
    for (std::string& der : file_cas) listing.cas.push_back(std::move(der));
  }
  return std::move(listing.cas);
}

absl::StatusOr<std::unique_ptr<Pkcs11SigningKey>> Pkcs11KeyStore::OpenPkcs11Key(const StoreCertificate& certificate) {
  // key_ref is "label=<label>,id=<hex>"; the label may itself contain ",id=", the id never does.
  absl::string_view ref = certificate.key_ref;
  size_t at = ref.rfind(",id=");
  if (!absl::StartsWith(ref, "label=") || at == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("'", ref, "' is not a PKCS#11 key_ref"));
  }
  absl::StatusOr<std::string> id = pkcs11::UnhexBytes(ref.substr(at + 4));
  if (!id.ok() || id->empty()) {
    return absl::InvalidArgumentError(absl::StrCat("'", ref, "' is not a PKCS#11 key_ref"));
  }
  std::string label(ref.substr(6, at - 6));
  return Pkcs11SigningKey::Open(token_, *std::move(id), std::move(label));
}

absl::StatusOr<std::unique_ptr<SigningKey>> Pkcs11KeyStore::OpenKey(const StoreCertificate& certificate) {
  SIGIL_ASSIGN_OR_RETURN(std::unique_ptr<Pkcs11SigningKey> key, OpenPkcs11Key(certificate));
  return std::unique_ptr<SigningKey>(std::move(key));
}

ScrapeCallback Pkcs11TokenMetrics(std::vector<std::pair<std::string, const Pkcs11KeyStore*>> stores) {
  return [stores = std::move(stores)] {
    std::vector<Sample> present, logins, sessions, losses, recoveries, reinitializations, peak;
    for (const auto& [identity, store] : stores) {
      const pkcs11::TokenStats stats = store->token_stats();
      std::vector<std::pair<std::string, std::string>> labels = {{"identity", identity},
                                                                 {"token", store->token().label()}};
      // Pkcs11Token counts a loss each time it stops treating the token as present and a recovery each
      // time it finds the token again (it starts present), under one lock with stats(): it is in service
      // exactly when the two are equal.
      present.push_back({labels, stats.losses == stats.recoveries ? 1.0 : 0.0});
      logins.push_back({labels, static_cast<double>(stats.logins)});
      sessions.push_back({labels, static_cast<double>(stats.sessions_opened)});
      losses.push_back({labels, static_cast<double>(stats.losses)});
      recoveries.push_back({labels, static_cast<double>(stats.recoveries)});
      reinitializations.push_back({labels, static_cast<double>(stats.module_reinitializations)});
      peak.push_back({labels, static_cast<double>(stats.peak_ops_in_flight)});
    }
    return std::vector<prometheus::MetricFamily>{
        GaugeFamily("sigil_pkcs11_token_present",
                    "1 while the identity's PKCS#11 token is in service, 0 from a detected loss until it is found.",
                    present),
        CounterFamily("sigil_pkcs11_logins_total", "Successful C_Login calls on the token, the first included.",
                      logins),
        CounterFamily("sigil_pkcs11_sessions_opened_total", "PKCS#11 sessions opened on the token.", sessions),
        CounterFamily("sigil_pkcs11_token_losses_total", "Times the token was lost (its sessions dropped).", losses),
        CounterFamily("sigil_pkcs11_token_recoveries_total", "Times the token was found again after a loss.",
                      recoveries),
        CounterFamily("sigil_pkcs11_module_reinitializations_total",
                      "PKCS#11 module re-initialisations made to find the lost token.", reinitializations),
        GaugeFamily("sigil_pkcs11_peak_ops_in_flight", "Most operations seen in flight at once on the token.", peak),
    };
  };
}

}  // namespace sigil::signer
