#include "signer/signer_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/caller.h"
#include "common/logging.h"
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
std::vector<const Identity*> AllowedIdentities(const IdentitySet& set, const Caller& caller) {
  std::vector<const Identity*> out;
  for (const Identity* identity : set.All()) {
    if (CallerAllowed(caller, identity->allowed_principals)) out.push_back(identity);
  }
  return out;
}

// Resolves a request's identity for `caller`: PERMISSION_DENIED when the caller may use none, NOT_FOUND
// when this one is unknown or not allowed (indistinguishably).
absl::StatusOr<const Identity*> Resolve(const IdentitySet& set, const Caller& caller,
                                        const std::string& name) {
  const std::vector<const Identity*> all = set.All();
  if (std::none_of(all.begin(), all.end(), [&](const Identity* identity) {
        return CallerAllowed(caller, identity->allowed_principals);
      })) {
    return absl::PermissionDeniedError(kNoIdentities);
  }
  const Identity* identity = set.Find(name);
  if (identity == nullptr || !CallerAllowed(caller, identity->allowed_principals)) {
    return absl::NotFoundError(absl::StrCat("no identity named '", name, "'"));
  }
  return identity;
}

}  // namespace

grpc::ServerUnaryReactor* SignerService::ListIdentities(grpc::CallbackServerContext* context,
                                                        const v1::ListIdentitiesRequest*,
                                                        v1::ListIdentitiesResponse* response) {
  Caller caller = CallerFromAuthContext(context->auth_context().get());
  std::vector<const Identity*> allowed = AllowedIdentities(identities_, caller);
  if (allowed.empty()) {
    return Finish(context, grpc::Status(grpc::StatusCode::PERMISSION_DENIED, kNoIdentities));
  }
  for (const Identity* identity : allowed) {
    v1::Identity* out = response->add_identities();
    out->set_name(identity->name);
    out->set_subject(identity->subject);
    const KeyInfo& info = identity->key->info();
    out->set_key_type(info.type == KeyType::kRsa ? "RSA" : "EC");
    out->set_key_bits(static_cast<uint32_t>(info.bits));
    for (uint16_t s : identity->schemes) out->add_schemes(s);
    out->set_not_before(identity->not_before);
    out->set_not_after(identity->not_after);
    out->set_store(identity->store);
  }
  return Finish(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* SignerService::GetCertificateChain(grpc::CallbackServerContext* context,
                                                             const v1::GetCertificateChainRequest* request,
                                                             v1::GetCertificateChainResponse* response) {
  Caller caller = CallerFromAuthContext(context->auth_context().get());
  auto identity = Resolve(identities_, caller, request->identity());
  if (!identity.ok()) return Finish(context, ToGrpc(identity.status()));
  for (const std::string& der : (*identity)->chain_der) response->add_certificates(der);
  for (uint16_t s : (*identity)->schemes) response->add_schemes(s);
  return Finish(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* SignerService::Sign(grpc::CallbackServerContext* context,
                                              const v1::SignRequest* request, v1::SignResponse* response) {
  absl::Time start = absl::Now();
  Caller caller = CallerFromAuthContext(context->auth_context().get());
  absl::Status status;
  auto identity = Resolve(identities_, caller, request->identity());
  if (!identity.ok()) {
    status = identity.status();
  } else if ((*identity)->key->MayBlock()) {
    status = absl::UnimplementedError("signing with a blocking credential store is not implemented yet");
  } else {
    const SignatureScheme* scheme = nullptr;
    status = ValidateSignRequest((*identity)->key->info(), request->scheme(), request->digest(), &scheme);
    if (status.ok()) {
      auto signature = (*identity)->key->Sign(*scheme, request->digest());
      if (signature.ok()) {
        response->set_signature(*std::move(signature));
      } else {
        status = signature.status();
      }
    }
  }
  // Audit line: never the digest, the signature or key material.
  LogInfo(absl::StrCat("audit: Sign caller=", caller.label, " identity=", request->identity(),
                       " scheme=", SchemeLabel(request->scheme()), " outcome=",
                       status.ok() ? "OK" : absl::StatusCodeToString(status.code()),
                       " latency_us=", absl::ToInt64Microseconds(absl::Now() - start)));
  return Finish(context, ToGrpc(status));
}

}  // namespace sigil::signer
