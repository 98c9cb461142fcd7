// signerd: serves sigil.signer.v1.Signer, grpc.health.v1.Health and reflection on an mTLS listener.
// Wiring only: config → identities → service → server → wait for SIGTERM/SIGINT.
#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/grpc_server.h"
#include "common/logging.h"
#include "common/tls_listener.h"
#include "sigil/config/v1/signer.pb.h"
#include "signer/identity.h"
#include "signer/signer_service.h"

ABSL_FLAG(std::string, config, "", "signerd configuration file (JSON, sigil.config.v1.SignerConfig)");

namespace {

int Fail(const absl::Status& status) { return sigil::FailStartup("signerd", status); }

}  // namespace

int main(int argc, char** argv) {
  sigil::BlockTerminationSignals();
  absl::SetProgramUsageMessage("signerd --config FILE");
  absl::ParseCommandLine(argc, argv);
  const std::string path = absl::GetFlag(FLAGS_config);
  if (path.empty()) return Fail(absl::InvalidArgumentError("--config FILE is required"));
  sigil::LogInfo(absl::StrCat("Starting signerd with config ", path));

  sigil::config::v1::SignerConfig config;
  if (auto status = sigil::LoadJsonConfigFile(path, &config); !status.ok()) return Fail(status);
  auto listener = sigil::ValidateListener(config.listener());
  if (!listener.ok()) return Fail(listener.status());
  for (const std::string& line : listener->decisions) sigil::LogInfo(line);

  std::vector<std::string> decisions;
  auto identities = sigil::signer::IdentitySet::Create(config, &decisions);
  if (!identities.ok()) return Fail(identities.status());
  for (const std::string& line : decisions) sigil::LogInfo(line);

  sigil::signer::SignerService service(**identities);
  if (auto status = sigil::ServeUntilSignalled("signerd", *listener, {&service}); !status.ok()) {
    return Fail(status);
  }
  return 0;
}
