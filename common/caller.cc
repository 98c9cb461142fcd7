#include "common/caller.h"

#include <openssl/x509v3.h>

#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/openssl_util.h"

namespace sigil {
namespace {

// The caller a verified client certificate (PEM) describes. `pem` is the handshake's verified certificate.
Caller CallerFromPem(absl::string_view pem) {
  Caller caller;
  caller.label = "anonymous";
  auto certs = ParsePemCertificates(pem, "peer");
  if (!certs.ok()) return caller;
  X509* cert = (*certs)[0].get();
  caller.authenticated = true;
  GENERAL_NAMES* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  std::vector<std::string> uris;
  for (int i = 0; sans != nullptr && i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
    if (gn->type != GEN_DNS && gn->type != GEN_URI) continue;
    const ASN1_IA5STRING* s = gn->d.ia5;
    std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                      static_cast<size_t>(ASN1_STRING_length(s)));
    (gn->type == GEN_DNS ? caller.principals : uris).push_back(std::move(value));
  }
  GENERAL_NAMES_free(sans);
  caller.principals.insert(caller.principals.end(), uris.begin(), uris.end());
  X509_NAME* subject = X509_get_subject_name(cert);
  int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (idx >= 0) {
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx)));
    if (len >= 0) {
      caller.principals.emplace_back(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
      OPENSSL_free(utf8);
    }
  }
  if (!caller.principals.empty()) caller.label = caller.principals.back();
  return caller;
}

// Parsing the certificate costs more than a whole small RPC in OpenSSL 3.0 (its public key goes through the
// provider decoders, which take global locks), and every RPC of a connection carries the same certificate:
// callers are remembered by their certificate's PEM (a pure function of it). Bounded: cleared when full.
constexpr size_t kMaxRememberedCallers = 1024;
absl::Mutex callers_mu(absl::kConstInit);
absl::flat_hash_map<std::string, Caller>* remembered_callers ABSL_GUARDED_BY(callers_mu) = nullptr;

}  // namespace

Caller CallerFromAuthContext(const grpc::AuthContext* context) {
  Caller anonymous;
  anonymous.label = "anonymous";
  if (context == nullptr || !context->IsPeerAuthenticated()) return anonymous;
  std::vector<grpc::string_ref> pems = context->FindPropertyValues("x509_pem_cert");
  if (pems.empty()) return anonymous;
  const absl::string_view pem(pems[0].data(), pems[0].size());
  {
    absl::ReaderMutexLock lock(&callers_mu);
    if (remembered_callers != nullptr) {
      auto it = remembered_callers->find(pem);
      if (it != remembered_callers->end()) return it->second;
    }
  }
  Caller caller = CallerFromPem(pem);
  absl::MutexLock lock(&callers_mu);
  if (remembered_callers == nullptr) remembered_callers = new absl::flat_hash_map<std::string, Caller>();
  if (remembered_callers->size() >= kMaxRememberedCallers) remembered_callers->clear();
  remembered_callers->emplace(std::string(pem), caller);
  return caller;
}

bool CallerAllowed(const Caller& caller, const std::vector<std::string>& allowed) {
  for (const std::string& a : allowed) {
    if (a == "*" && caller.authenticated) return true;
    for (const std::string& p : caller.principals) {
      if (caller.authenticated && p == a) return true;
    }
  }
  return false;
}

}  // namespace sigil
