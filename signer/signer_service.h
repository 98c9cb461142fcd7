// SignerService: the sigil.signer.v1.Signer gRPC service over an IdentitySet.
//
// Authorization: each identity lists the caller principals allowed to use it. A caller allowed no identity
// gets PERMISSION_DENIED for every RPC; a caller asking for an identity it may not use gets NOT_FOUND,
// exactly as for an identity that does not exist, so callers cannot probe for identities.
// Audit: one log line per Sign with caller, identity, scheme, outcome and latency; never the digest.
//
// Threading: gRPC callback API. Keys that never block (PEM) sign inside the reaction; keys whose store may
// block are refused until the stores issue adds the bounded signing pool.
#ifndef SIGIL_SIGNER_SIGNER_SERVICE_H_
#define SIGIL_SIGNER_SIGNER_SERVICE_H_

#include "sigil/signer/v1/signer.grpc.pb.h"
#include "signer/identity.h"

namespace sigil::signer {

class SignerService final : public sigil::signer::v1::Signer::CallbackService {
 public:
  // Borrows `identities`, which must outlive the service.
  explicit SignerService(const IdentitySet& identities) : identities_(identities) {}

  grpc::ServerUnaryReactor* ListIdentities(grpc::CallbackServerContext* context,
                                           const v1::ListIdentitiesRequest* request,
                                           v1::ListIdentitiesResponse* response) override;
  grpc::ServerUnaryReactor* GetCertificateChain(grpc::CallbackServerContext* context,
                                                const v1::GetCertificateChainRequest* request,
                                                v1::GetCertificateChainResponse* response) override;
  grpc::ServerUnaryReactor* Sign(grpc::CallbackServerContext* context, const v1::SignRequest* request,
                                 v1::SignResponse* response) override;

 private:
  const IdentitySet& identities_;
};

}  // namespace sigil::signer

#endif  // SIGIL_SIGNER_SIGNER_SERVICE_H_
