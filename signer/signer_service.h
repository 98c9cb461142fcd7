// SignerService: the sigil.signer.v1.Signer gRPC service over an IdentitySet.
//
// Authorization: each identity lists the caller principals allowed to use it. A caller allowed no identity
// gets PERMISSION_DENIED for every identity RPC; a caller asking for an identity it may not use gets
// NOT_FOUND, exactly as for an identity that does not exist, so callers cannot probe for identities. The
// admin RPC (ReloadIdentities) needs one of signerd's admin_principals.
// SignBatch applies Sign's rules to each of its items, with per-item results.
// Audit: one log line per Sign (and per SignBatch item) with caller, identity, scheme, outcome, queue and total latency; never the
// digest, the signature, a key or a PIN.
//
// Threading: gRPC callback API. Keys that never block (PEM) sign inside the reaction; keys whose store may
// block (SigningKey::MayBlock) sign on the SigningPool, which finishes the reactor. Store re-lookups
// (ReloadIdentities) also run on the pool.
#ifndef SIGIL_SIGNER_SIGNER_SERVICE_H_
#define SIGIL_SIGNER_SIGNER_SERVICE_H_

#include <string>
#include <vector>

#include "sigil/signer/v1/signer.grpc.pb.h"
#include "signer/identity.h"
#include "signer/signing_pool.h"

namespace sigil::signer {

class SignerService final : public sigil::signer::v1::Signer::CallbackService {
 public:
  // Most requests one SignBatch may carry.
  static constexpr int kMaxSignBatch = 64;

  // Borrows `identities` and `pool`, which must outlive the service (and every RPC in flight: shut the
  // server down before destroying them).
  SignerService(const IdentitySet& identities, std::vector<std::string> admin_principals, SigningPool& pool)
      : identities_(identities), admin_principals_(std::move(admin_principals)), pool_(pool) {}

  grpc::ServerUnaryReactor* ListIdentities(grpc::CallbackServerContext* context,
                                           const v1::ListIdentitiesRequest* request,
                                           v1::ListIdentitiesResponse* response) override;
  grpc::ServerUnaryReactor* GetCertificateChain(grpc::CallbackServerContext* context,
                                                const v1::GetCertificateChainRequest* request,
                                                v1::GetCertificateChainResponse* response) override;
  grpc::ServerUnaryReactor* Sign(grpc::CallbackServerContext* context, const v1::SignRequest* request,
                                 v1::SignResponse* response) override;
  // Each item exactly as Sign (authorization, validation, audit line); items whose store may block run on
  // the pool, split into at most pool.threads() tasks that each sign their share in turn, so a batch is
  // bounded by kMaxSignBatch items and takes at most that many queue slots (the items of a share refused
  // by a full pool get RESOURCE_EXHAUSTED in their results).
  grpc::ServerUnaryReactor* SignBatch(grpc::CallbackServerContext* context, const v1::SignBatchRequest* request,
                                      v1::SignBatchResponse* response) override;
  grpc::ServerUnaryReactor* ReloadIdentities(grpc::CallbackServerContext* context,
                                             const v1::ReloadIdentitiesRequest* request,
                                             v1::ReloadIdentitiesResponse* response) override;

 private:
  const IdentitySet& identities_;
  const std::vector<std::string> admin_principals_;
  SigningPool& pool_;
};

// Looks every identity up again at `now` and logs what changed; the work of ReloadIdentities, SIGHUP and
// the periodic refresh. Fills `response` when not null. May block on the stores.
void RefreshIdentities(const IdentitySet& identities, absl::Time now, v1::ReloadIdentitiesResponse* response);

}  // namespace sigil::signer

#endif  // SIGIL_SIGNER_SIGNER_SERVICE_H_
