#include "signer/signer_service.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/caller.h"
#include "common/logging.h"
#include "signer/sign_metrics.h"
#include "signer/signature_scheme.h"

namespace sigil::signer {
namespace {

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context, const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

constexpr const char* kNoIdentities = "the caller may use no identity on this signer";

// Identities `caller` may use, sorted by name.
std::vector<Identity*> AllowedIdentities(const IdentitySet& set, const Caller& caller) {
  std::vector<Identity*> out;
  for (Identity* identity : set.All()) {
    if (CallerAllowed(caller, identity->allowed_principals())) out.push_back(identity);
  }
  return out;
}

// Resolves a request's identity for `caller`: PERMISSION_DENIED when the caller may use none, NOT_FOUND
// when this one is unknown or not allowed (indistinguishably).
absl::StatusOr<Identity*> Resolve(const IdentitySet& set, const Caller& caller, const std::string& name) {
  const std::vector<Identity*> all = set.All();
  if (std::none_of(all.begin(), all.end(), [&](const Identity* identity) {
        return CallerAllowed(caller, identity->allowed_principals());
      })) {
    return absl::PermissionDeniedError(kNoIdentities);
  }
  Identity* identity = set.Find(name);
  if (identity == nullptr || !CallerAllowed(caller, identity->allowed_principals())) {
    return absl::NotFoundError(absl::StrCat("no identity named '", name, "'"));
  }
  return identity;
}

// Everything one Sign call needs after it has been authorized and validated, kept alive until the
// signature is made (possibly on the pool, after a rotation replaced the identity's version).
struct SignJob {
  std::shared_ptr<const IdentityVersion> version;
  const SignatureScheme* scheme = nullptr;
  std::string caller;
  std::string identity;
  uint32_t scheme_code = 0;
  absl::Time start;
  // The identity's store name, the sign metrics' `store` label; empty until the identity is resolved.
  std::string store;
};

void Audit(const SignJob& job, const absl::Status& status, absl::Duration queued) {
  // Never the digest, the signature or key material.
  LogInfo(absl::StrCat("audit: Sign caller=", job.caller, " identity=", job.identity,
                       " scheme=", SchemeLabel(job.scheme_code), " outcome=",
                       status.ok() ? "OK" : absl::StatusCodeToString(status.code()),
                       " queue_us=", absl::ToInt64Microseconds(queued),
                       " latency_us=", absl::ToInt64Microseconds(absl::Now() - job.start)));
}

// Signs `digest` into `out` (a SignResponse or a SignBatchResponse::Result: anything with set_signature).
template <typename Out>
absl::Status SignWith(const SignJob& job, absl::string_view digest, Out* out) {
  const absl::Time begin = absl::Now();
  auto signature = job.version->key->Sign(*job.scheme, digest);
  RecordSignLatency(job.store, SignPhase::kExec, absl::Now() - begin);
  if (!signature.ok()) return signature.status();
  out->set_signature(*std::move(signature));
  return absl::OkStatus();
}

// Authorizes and validates one Sign request of `caller` and fills `job` (Sign's and SignBatch's rules):
// PERMISSION_DENIED / NOT_FOUND from Resolve, INVALID_ARGUMENT for a bad scheme or digest length or a
// scheme this identity's key cannot make. `job`'s audit fields are set whatever the outcome.
absl::Status PrepareSignJob(const IdentitySet& set, const Caller& caller, const v1::SignRequest& request,
                            SignJob& job) {
  job.start = absl::Now();
  job.caller = caller.label;
  job.identity = request.identity();
  job.scheme_code = request.scheme();
  auto identity = Resolve(set, caller, request.identity());
  if (!identity.ok()) return identity.status();
  job.version = (*identity)->current();
  job.store = (*identity)->store();
  absl::Status status = ValidateSignRequest(job.version->key->info(), request.scheme(), request.digest(), &job.scheme);
  if (status.ok() && !job.version->Supports(job.scheme->code)) {
    status = absl::InvalidArgumentError(
        absl::StrCat("this identity's key cannot make ", SchemeLabel(request.scheme())));
  }
  return status;
}

// A SignBatch item's outcome: Sign's status code and message; the signature is kept only on success.
void SetResult(const absl::Status& status, v1::SignBatchResponse::Result* result) {
  result->set_code(static_cast<int32_t>(status.code()));
  result->set_message(std::string(status.message()));
  if (!status.ok()) result->clear_signature();
}

}  // namespace

void RefreshIdentities(const IdentitySet& identities, absl::Time now, v1::ReloadIdentitiesResponse* response) {
  for (Identity* identity : identities.All()) {
    auto changed = identity->Refresh(now);
    std::shared_ptr<const IdentityVersion> version = identity->current();
    if (!changed.ok()) {
      LogWarning(absl::StrCat("re-lookup failed, keeping the current certificate: ", changed.status().message()));
    } else if (*changed) {
      LogInfo(absl::StrCat("rotated: ", identity->Describe()));
    }
    if (response == nullptr) continue;
    auto* result = response->add_results();
    result->set_name(identity->name());
    result->set_subject(version->subject);
    result->set_changed(changed.ok() && *changed);
    if (!changed.ok()) result->set_error(std::string(changed.status().message()));
  }
}

grpc::ServerUnaryReactor* SignerService::ListIdentities(grpc::CallbackServerContext* context,
                                                        const v1::ListIdentitiesRequest*,
                                                        v1::ListIdentitiesResponse* response) {
  Caller caller = CallerFromAuthContext(context->auth_context().get());
  std::vector<Identity*> allowed = AllowedIdentities(identities_, caller);
  if (allowed.empty()) {
    return Finish(context, grpc::Status(grpc::StatusCode::PERMISSION_DENIED, kNoIdentities));
  }
  for (const Identity* identity : allowed) {
    std::shared_ptr<const IdentityVersion> version = identity->current();
    v1::Identity* out = response->add_identities();
    out->set_name(identity->name());
    out->set_subject(version->subject);
    const KeyInfo& info = version->key->info();
    out->set_key_type(info.type == KeyType::kRsa ? "RSA" : "EC");
    out->set_key_bits(static_cast<uint32_t>(info.bits));
    for (uint16_t s : version->schemes) out->add_schemes(s);
    out->set_not_before(version->not_before);
    out->set_not_after(version->not_after);
    out->set_store(identity->store());
  }
  return Finish(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* SignerService::GetCertificateChain(grpc::CallbackServerContext* context,
                                                             const v1::GetCertificateChainRequest* request,
                                                             v1::GetCertificateChainResponse* response) {
  Caller caller = CallerFromAuthContext(context->auth_context().get());
  auto identity = Resolve(identities_, caller, request->identity());
  if (!identity.ok()) return Finish(context, ToGrpc(identity.status()));
  std::shared_ptr<const IdentityVersion> version = (*identity)->current();
  for (const std::string& der : version->chain_der) response->add_certificates(der);
  for (uint16_t s : version->schemes) response->add_schemes(s);
  return Finish(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* SignerService::Sign(grpc::CallbackServerContext* context,
                                              const v1::SignRequest* request, v1::SignResponse* response) {
  auto job = std::make_shared<SignJob>();
  Caller caller = CallerFromAuthContext(context->auth_context().get());
  absl::Status status = PrepareSignJob(identities_, caller, *request, *job);
  if (!status.ok() || !job->version->key->MayBlock()) {
    if (status.ok()) status = SignWith(*job, request->digest(), response);
    Audit(*job, status, absl::ZeroDuration());
    return Finish(context, ToGrpc(status));
  }

  // The store may block: sign on the pool and finish the reactor from there. `request`, `response` and
  // `context` stay valid until Finish.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  status = pool_.Submit([job, context, request, response, reactor](absl::Duration queued) {
    RecordSignLatency(job->store, SignPhase::kQueue, queued);
    absl::Status result = context->IsCancelled()
                              ? absl::CancelledError("the caller gave up while the signature was queued")
                              : SignWith(*job, request->digest(), response);
    Audit(*job, result, queued);
    reactor->Finish(ToGrpc(result));
  });
  if (!status.ok()) {
    Audit(*job, status, absl::ZeroDuration());
    reactor->Finish(ToGrpc(status));
  }
  return reactor;
}

grpc::ServerUnaryReactor* SignerService::SignBatch(grpc::CallbackServerContext* context,
                                                   const v1::SignBatchRequest* request,
                                                   v1::SignBatchResponse* response) {
  const int n = request->requests_size();
  if (n == 0 || n > kMaxSignBatch) {
    return Finish(context, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                        absl::StrCat("a SignBatch holds 1 to ", kMaxSignBatch, " requests (got ",
                                                     n, ")")));
  }
  Caller caller = CallerFromAuthContext(context->auth_context().get());
  // Every result exists before any pool task runs; tasks then write only their own element.
  for (int i = 0; i < n; ++i) response->add_results();

  // Items whose store may block run on the pool in at most pool_.threads() tasks, each signing a share of
  // them in turn: as many as can run at once (so a token's sessions work in parallel) without paying a
  // thread hand-off per item. The last task to finish, or this thread when none is pending, finishes the
  // reactor. `pending` starts at 1 for this thread, so the reactor cannot finish while tasks are submitted.
  struct Batch {
    std::atomic<int> pending{1};
    grpc::ServerUnaryReactor* reactor = nullptr;
  };
  auto batch = std::make_shared<Batch>();
  batch->reactor = context->DefaultReactor();
  struct Item {
    SignJob job;
    const v1::SignRequest* request = nullptr;
    v1::SignBatchResponse::Result* result = nullptr;
  };
  std::vector<Item> blocking;
  for (int i = 0; i < n; ++i) {
    Item item{SignJob{}, &request->requests(i), response->mutable_results(i)};
    absl::Status status = PrepareSignJob(identities_, caller, *item.request, item.job);
    if (status.ok() && item.job.version->key->MayBlock()) {
      blocking.push_back(std::move(item));
      continue;
    }
    if (status.ok()) status = SignWith(item.job, item.request->digest(), item.result);
    Audit(item.job, status, absl::ZeroDuration());
    SetResult(status, item.result);
  }
  const size_t tasks = std::min(blocking.size(), static_cast<size_t>(std::max(pool_.threads(), 1)));
  for (size_t t = 0; t < tasks; ++t) {
    // Items t, t + tasks, t + 2 * tasks, ...: shares differ by at most one item.
    auto share = std::make_shared<std::vector<Item>>();
    for (size_t i = t; i < blocking.size(); i += tasks) share->push_back(std::move(blocking[i]));
    batch->pending.fetch_add(1);
    absl::Status status = pool_.Submit([share, context, batch](absl::Duration queued) {
      for (Item& item : *share) {
        RecordSignLatency(item.job.store, SignPhase::kQueue, queued);
        absl::Status outcome = context->IsCancelled()
                                   ? absl::CancelledError("the caller gave up while the signature was queued")
                                   : SignWith(item.job, item.request->digest(), item.result);
        Audit(item.job, outcome, queued);
        SetResult(outcome, item.result);
      }
      if (batch->pending.fetch_sub(1) == 1) batch->reactor->Finish(grpc::Status::OK);
    });
    if (!status.ok()) {
      batch->pending.fetch_sub(1);
      for (Item& item : *share) {
        Audit(item.job, status, absl::ZeroDuration());
        SetResult(status, item.result);
      }
    }
  }
  if (batch->pending.fetch_sub(1) == 1) batch->reactor->Finish(grpc::Status::OK);
  return batch->reactor;
}

grpc::ServerUnaryReactor* SignerService::ReloadIdentities(grpc::CallbackServerContext* context,
                                                          const v1::ReloadIdentitiesRequest*,
                                                          v1::ReloadIdentitiesResponse* response) {
  Caller caller = CallerFromAuthContext(context->auth_context().get());
  if (!CallerAllowed(caller, admin_principals_)) {
    LogWarning(absl::StrCat("admin: ReloadIdentities refused for caller=", caller.label));
    return Finish(context, grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                                        "the caller is not one of this signer's admin_principals"));
  }
  LogInfo(absl::StrCat("admin: ReloadIdentities by caller=", caller.label));
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const IdentitySet* identities = &identities_;
  absl::Status status = pool_.Submit([identities, response, reactor](absl::Duration) {
    RefreshIdentities(*identities, absl::Now(), response);
    reactor->Finish(grpc::Status::OK);
  });
  if (!status.ok()) reactor->Finish(ToGrpc(status));
  return reactor;
}

}  // namespace sigil::signer
