#include "client/tls_hooks.h"

#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/openssl_util.h"

namespace sigil::client {
namespace {

struct PeerHook {
  std::shared_ptr<const VerifierClient> client;
  PeerVerificationOptions options;
};

// The server's staple, cached until GetStaple's next_refresh. Thread-safe.
class StapleHook {
 public:
  StapleHook(std::shared_ptr<const VerifierClient> client, StaplingOptions options)
      : client_(std::move(client)), options_(std::move(options)) {
    if (options_.clock == nullptr) options_.clock = std::make_shared<const cache::SystemClock>();
  }

  bool fail_when_must_stop() const { return options_.fail_when_must_stop; }

  // What to staple now: refreshes first when due (one caller at a time; the others get the cached state).
  struct Current {
    std::string staple;
    bool must_stop = false;
  };
  Current Get() {
    const absl::Time now = options_.clock->Now();
    bool refresh = false;
    {
      absl::MutexLock lock(&mu_);
      if (!refreshing_ && now >= next_attempt_) refreshing_ = refresh = true;
    }
    if (refresh) Refresh(now);
    absl::MutexLock lock(&mu_);
    Current current;
    // A staple past its next_update is stale: serve none rather than one clients would reject.
    if (now < staple_expires_) current.staple = staple_;
    current.must_stop = must_stop_;
    return current;
  }

 private:
  void Refresh(absl::Time now) {
    v1::GetStapleRequest request;
    for (const std::string& der : options_.certificates) request.add_certificates(der);
    request.set_profile(options_.profile);
    request.set_mode(options_.mode);
    request.set_url(options_.url);
    absl::StatusOr<v1::GetStapleResponse> answer = client_->GetStaple(request);
    if (options_.on_refresh) options_.on_refresh(answer);
    absl::MutexLock lock(&mu_);
    refreshing_ = false;
    if (!answer.ok()) {
      next_attempt_ = now + options_.retry_after_failure;
      return;
    }
    must_stop_ = answer->must_stop_serving();
    absl::Time next_refresh = absl::FromUnixSeconds(answer->next_refresh().seconds());
    if (!answer->staple().empty()) {
      staple_ = answer->staple();
      staple_expires_ = answer->has_next_update() ? absl::FromUnixSeconds(answer->next_update().seconds())
                                                  : absl::InfiniteFuture();
    } else if (answer->status() != v1::NO_RESPONSE) {
      // Nothing to staple by policy (mode), or verifierd says the certificate is not good: drop the old staple.
      staple_.clear();
      staple_expires_ = absl::InfinitePast();
    }
    // No staple yet (NO_RESPONSE) keeps a cached one; verifierd fetches in the background, so ask again soon.
    if (answer->staple().empty() || !answer->has_next_refresh() || next_refresh <= now) {
      next_refresh = now + options_.retry_after_failure;
    }
    next_attempt_ = next_refresh;
  }

  const std::shared_ptr<const VerifierClient> client_;
  StaplingOptions options_;
  // Guards members below.
  absl::Mutex mu_;
  bool refreshing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time next_attempt_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::string staple_ ABSL_GUARDED_BY(mu_);
  absl::Time staple_expires_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool must_stop_ ABSL_GUARDED_BY(mu_) = false;
};

// The staples of every certificate the SSL_CTX serves (e.g. an RSA and an ECDSA one), one StapleHook each, picked
// per handshake by the certificate OpenSSL selected for it. Immutable once installed.
class StapleSet {
 public:
  void Add(X509Ptr leaf, std::unique_ptr<StapleHook> hook) { entries_.emplace_back(std::move(leaf), std::move(hook)); }
  // The hook of `served`; nullptr for a certificate stapling was not installed for.
  StapleHook* For(const X509* served) const {
    if (served == nullptr) return nullptr;
    for (const auto& [leaf, hook] : entries_) {
      if (X509_cmp(leaf.get(), served) == 0) return hook.get();
    }
    return nullptr;
  }

 private:
  std::vector<std::pair<X509Ptr, std::unique_ptr<StapleHook>>> entries_;
};

template <typename T>
void FreeHook(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/, void* /*argp*/) {
  delete static_cast<T*>(ptr);
}

// One SSL_CTX ex_data slot per hook type; OpenSSL frees the hook with the SSL_CTX.
template <typename T>
int ExIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, &FreeHook<T>);
  return index;
}

// Stores `hook` in ctx (freeing one stored before) and returns the raw pointer the callbacks use.
template <typename T>
absl::StatusOr<T*> StoreHook(SSL_CTX* ctx, std::unique_ptr<T> hook) {
  int index = ExIndex<T>();
  if (index < 0) return absl::InternalError("SSL_CTX_get_ex_new_index failed");
  T* previous = static_cast<T*>(SSL_CTX_get_ex_data(ctx, index));
  if (SSL_CTX_set_ex_data(ctx, index, hook.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "SSL_CTX_set_ex_data");
  }
  delete previous;
  return hook.release();
}

// SSL_CTX_set_cert_verify_callback: OpenSSL's verification, then verifierd's.
int VerifyPeerCallback(X509_STORE_CTX* store_ctx, void* arg) {
  auto* hook = static_cast<PeerHook*>(arg);
  int ok = X509_verify_cert(store_ctx);
  if (ok <= 0) return ok;
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(store_ctx);
  if (chain == nullptr || sk_X509_num(chain) == 0) {
    X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  v1::VerifyPeerRequest request;
  request.set_peer_role(hook->options.role);
  request.set_kind(hook->options.kind);
  request.set_profile(hook->options.profile);
  if (hook->options.server.ByteSizeLong() > 0) *request.mutable_server() = hook->options.server;
  v1::Chain* out = request.add_chains();
  for (int i = 0; i < sk_X509_num(chain); ++i) out->add_certificates(CertificateDer(sk_X509_value(chain, i)));

  PeerCheck check;
  check.subject = NameToString(X509_get_subject_name(sk_X509_value(chain, 0)));
  absl::StatusOr<v1::VerifyPeerResponse> verdict = hook->client->VerifyPeer(request);
  int error = X509_V_OK;
  if (!verdict.ok()) {
    check.status = verdict.status();
    if (!hook->options.allow_when_verifier_unavailable) error = X509_V_ERR_APPLICATION_VERIFICATION;
  } else {
    check.verdict = *std::move(verdict);
    if (!check.verdict.allowed()) error = X509_V_ERR_CERT_REJECTED;
  }
  check.accepted = error == X509_V_OK;
  if (hook->options.on_check) hook->options.on_check(check);
  if (error == X509_V_OK) return 1;
  // The leaf is the certificate at fault; the handshake alert comes from this error (ssl_x509err2alert).
  X509_STORE_CTX_set_error_depth(store_ctx, 0);
  X509_STORE_CTX_set_current_cert(store_ctx, sk_X509_value(chain, 0));
  X509_STORE_CTX_set_error(store_ctx, error);
  return 0;
}

// SSL_CTX_set_tlsext_status_cb on a server: called when the client asked for a staple.
int StatusCallback(SSL* ssl, void* arg) {
  // OpenSSL has chosen the certificate (and signature algorithm) for this handshake before asking for its status.
  StapleHook* hook = static_cast<const StapleSet*>(arg)->For(SSL_get_certificate(ssl));
  if (hook == nullptr) return SSL_TLSEXT_ERR_NOACK;
  StapleHook::Current current = hook->Get();
  if (current.must_stop) return hook->fail_when_must_stop() ? SSL_TLSEXT_ERR_ALERT_FATAL : SSL_TLSEXT_ERR_NOACK;
  if (current.staple.empty()) return SSL_TLSEXT_ERR_NOACK;
  // OpenSSL takes ownership of an OPENSSL_malloc'd copy.
  void* copy = OPENSSL_memdup(current.staple.data(), current.staple.size());
  if (copy == nullptr) return SSL_TLSEXT_ERR_NOACK;
  if (SSL_set_tlsext_status_ocsp_resp(ssl, static_cast<unsigned char*>(copy),
                                      static_cast<long>(current.staple.size())) != 1) {
    OPENSSL_free(copy);
    return SSL_TLSEXT_ERR_NOACK;
  }
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

absl::Status InstallPeerVerification(SSL_CTX* ctx, std::shared_ptr<const VerifierClient> client,
                                     PeerVerificationOptions options) {
  if (ctx == nullptr || client == nullptr) {
    return absl::InvalidArgumentError("InstallPeerVerification: null argument");
  }
  auto hook = std::make_unique<PeerHook>();
  hook->client = std::move(client);
  hook->options = std::move(options);
  absl::StatusOr<PeerHook*> stored = StoreHook(ctx, std::move(hook));
  if (!stored.ok()) return stored.status();
  SSL_CTX_set_cert_verify_callback(ctx, &VerifyPeerCallback, *stored);
  return absl::OkStatus();
}

absl::Status InstallStapling(SSL_CTX* ctx, std::shared_ptr<const VerifierClient> client, StaplingOptions options) {
  if (ctx == nullptr || client == nullptr) return absl::InvalidArgumentError("InstallStapling: null argument");
  auto set = std::make_unique<StapleSet>();
  if (!options.certificates.empty()) {
    const auto* der = reinterpret_cast<const unsigned char*>(options.certificates[0].data());
    X509Ptr leaf(d2i_X509(nullptr, &der, static_cast<long>(options.certificates[0].size())));
    if (leaf == nullptr) return absl::InvalidArgumentError("InstallStapling: certificates[0] is not a DER certificate");
    set->Add(std::move(leaf), std::make_unique<StapleHook>(std::move(client), std::move(options)));
  } else {
    // Every certificate loaded in ctx, each with its own chain. OpenSSL's iteration visits only certificates
    // whose key is loaded too; a certificate installed before its key is taken alone. The current one is
    // selected again afterwards.
    X509* selected = SSL_CTX_get0_certificate(ctx);
    if (selected == nullptr) {
      return absl::InvalidArgumentError("InstallStapling: no certificates given and none loaded in the SSL_CTX");
    }
    auto add_current = [&] {
      X509* leaf = SSL_CTX_get0_certificate(ctx);
      StaplingOptions per_certificate = options;
      per_certificate.certificates.push_back(CertificateDer(leaf));
      STACK_OF(X509)* chain = nullptr;
      if (SSL_CTX_get0_chain_certs(ctx, &chain) == 1 && chain != nullptr) {
        for (int i = 0; i < sk_X509_num(chain); ++i) {
          per_certificate.certificates.push_back(CertificateDer(sk_X509_value(chain, i)));
        }
      }
      X509_up_ref(leaf);
      set->Add(X509Ptr(leaf), std::make_unique<StapleHook>(client, std::move(per_certificate)));
    };
    bool any = false;
    for (int more = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST); more == 1;
         more = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_NEXT)) {
      add_current();
      any = true;
    }
    SSL_CTX_select_current_cert(ctx, selected);
    if (!any) add_current();
  }
  absl::StatusOr<StapleSet*> stored = StoreHook(ctx, std::move(set));
  if (!stored.ok()) return stored.status();
  SSL_CTX_set_tlsext_status_cb(ctx, &StatusCallback);
  SSL_CTX_set_tlsext_status_arg(ctx, *stored);
  return absl::OkStatus();
}

}  // namespace sigil::client
