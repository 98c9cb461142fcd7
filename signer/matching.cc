#include "signer/matching.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/openssl_util.h"

namespace sigil::signer {
namespace {

// Each RDN value of `name` as UTF-8.
std::vector<std::string> RdnValues(const X509_NAME* name) {
  std::vector<std::string> values;
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char* utf8 = nullptr;
    int length = ASN1_STRING_to_UTF8(&utf8, data);
    if (length < 0) {
      ClearOpenSslErrors();
      continue;
    }
    values.emplace_back(reinterpret_cast<const char*>(utf8), static_cast<size_t>(length));
    OPENSSL_free(utf8);
  }
  return values;
}

// Thumbprint form of a cert_match: hex digits only, uppercase.
std::string NormalizeThumbprint(absl::string_view term) {
  std::string out;
  for (char c : term) {
    if (c == ':' || c == ' ') continue;
    out.push_back(absl::ascii_toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

bool Matches(const std::string& der, X509* cert, const MatchSpec& spec) {
  switch (spec.by) {
    case MatchBy::kThumbprint:
      return Thumbprint(der) == NormalizeThumbprint(spec.term);
    case MatchBy::kSubject:
    case MatchBy::kIssuer: {
      const X509_NAME* name =
          spec.by == MatchBy::kSubject ? X509_get_subject_name(cert) : X509_get_issuer_name(cert);
      for (const std::string& value : RdnValues(name)) {
        if (absl::EqualsIgnoreCase(value, spec.term)) return true;
      }
      return false;
    }
  }
  return false;
}

// Whether `cert` is inside its validity period at `now`.
bool ValidAt(X509* cert, absl::Time now) {
  time_t t = absl::ToTimeT(now);
  return X509_cmp_time(X509_get0_notBefore(cert), &t) <= 0 && X509_cmp_time(X509_get0_notAfter(cert), &t) >= 0;
}

struct Candidate {
  size_t index;
  bool valid;
  int64_t not_before;
  std::string sha256;
};

int64_t NotBeforeUnix(X509* cert) {
  struct tm tm = {};
  if (ASN1_TIME_to_tm(X509_get0_notBefore(cert), &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

absl::StatusOr<MatchBy> ParseMatchBy(absl::string_view value) {
  if (value.empty() || absl::EqualsIgnoreCase(value, "Subject")) return MatchBy::kSubject;
  if (absl::EqualsIgnoreCase(value, "Issuer")) return MatchBy::kIssuer;
  if (absl::EqualsIgnoreCase(value, "Thumbprint")) return MatchBy::kThumbprint;
  return absl::InvalidArgumentError("cert match by type not implemented");
}

absl::string_view MatchByName(MatchBy by) {
  switch (by) {
    case MatchBy::kSubject:
      return "Subject";
    case MatchBy::kIssuer:
      return "Issuer";
    case MatchBy::kThumbprint:
      return "Thumbprint";
  }
  return "?";
}

std::string Thumbprint(absl::string_view der) {
  return absl::AsciiStrToUpper(absl::BytesToHexString(Digest(EVP_sha1(), der)));
}

absl::StatusOr<Selection> SelectCertificate(absl::Span<const StoreCertificate> candidates,
                                            const MatchSpec& spec, absl::Time now) {
  std::vector<Candidate> matches;
  size_t skipped_invalid = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    auto cert = ParseDerCertificate(candidates[i].der);
    if (!cert.ok()) continue;
    bool valid = ValidAt(cert->get(), now);
    if (!Matches(candidates[i].der, cert->get(), spec)) continue;
    if (spec.skip_invalid && !valid) {
      ++skipped_invalid;
      continue;
    }
    matches.push_back(Candidate{i, valid, NotBeforeUnix(cert->get()), Digest(EVP_sha256(), candidates[i].der)});
  }
  if (matches.empty()) {
    return absl::NotFoundError(absl::StrCat("no certificate matches ", MatchByName(spec.by), " \"", spec.term,
                                            "\" among ", candidates.size(), " certificate(s) with a key",
                                            skipped_invalid > 0
                                                ? absl::StrCat(" (", skipped_invalid,
                                                               " matching certificate(s) skipped as outside "
                                                               "their validity period)")
                                                : ""));
  }
  auto better = [](const Candidate& a, const Candidate& b) {
    if (a.valid != b.valid) return a.valid;
    if (a.not_before != b.not_before) return a.not_before > b.not_before;
    return a.sha256 < b.sha256;
  };
  std::sort(matches.begin(), matches.end(), better);
  Selection selection;
  selection.index = matches[0].index;
  if (matches.size() == 1) {
    selection.reason = "the only match";
  } else if (matches[0].valid != matches[1].valid) {
    selection.reason = absl::StrCat("the only currently valid one of ", matches.size(), " matches");
  } else if (matches[0].not_before != matches[1].not_before) {
    selection.reason = absl::StrCat("the latest NotBefore of ", matches.size(), matches[0].valid ? " valid" : "",
                                    " matches");
  } else {
    selection.reason = absl::StrCat("the lowest SHA-256 fingerprint of ", matches.size(),
                                    " matches with the same NotBefore");
  }
  if (skipped_invalid > 0) {
    absl::StrAppend(&selection.reason, "; ", skipped_invalid, " skipped as outside their validity period");
  }
  return selection;
}

absl::StatusOr<std::vector<std::string>> AssembleChain(const std::string& leaf_der,
                                                       absl::Span<const std::string> ca_der, absl::Time now) {
  auto leaf = ParseDerCertificate(leaf_der);
  if (!leaf.ok()) return absl::InvalidArgumentError("the leaf certificate is not parsable DER");
  std::vector<std::string> chain = {leaf_der};

  X509StorePtr store(X509_STORE_new());
  X509StackPtr untrusted(sk_X509_new_null());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (store == nullptr || untrusted == nullptr || ctx == nullptr) {
    return OpenSslError(absl::StatusCode::kResourceExhausted, "allocating a certificate store");
  }
  for (const std::string& der : ca_der) {
    auto cert = ParseDerCertificate(der);
    if (!cert.ok()) continue;
    if (X509_check_issued(cert->get(), cert->get()) == X509_V_OK) {
      X509_STORE_add_cert(store.get(), cert->get());  // takes its own reference
    } else if (sk_X509_push(untrusted.get(), cert->get()) > 0) {
      cert->release();  // now owned by the stack
    }
  }
  ClearOpenSslErrors();  // X509_STORE_add_cert queues an error for duplicates.
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf->get(), untrusted.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "X509_STORE_CTX_init");
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, absl::ToTimeT(now));
  if (X509_verify_cert(ctx.get()) != 1) {
    ClearOpenSslErrors();
    return chain;  // No valid chain in the store: the leaf alone (ADR).
  }
  STACK_OF(X509)* built = X509_STORE_CTX_get0_chain(ctx.get());
  for (int i = 1; i < sk_X509_num(built); ++i) {
    X509* cert = sk_X509_value(built, i);
    if (X509_check_issued(cert, cert) == X509_V_OK) continue;  // the self-signed anchor
    chain.push_back(CertificateDer(cert));
  }
  return chain;
}

}  // namespace sigil::signer
