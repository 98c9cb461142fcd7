// verifierd: serves sigil.verifier.v1.Verifier, sigil.cache.v1.Cache, grpc.health.v1.Health and
// reflection on an mTLS listener. Wiring only: config → services → server → wait for SIGTERM/SIGINT.
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "cache/cache_service.h"
#include "common/config.h"
#include "common/grpc_server.h"
#include "common/logging.h"
#include "common/tls_listener.h"
#include "sigil/config/v1/verifier.pb.h"
#include "verifier/verifier_service.h"

ABSL_FLAG(std::string, config, "", "verifierd configuration file (JSON, sigil.config.v1.VerifierConfig)");

namespace {

int Fail(const absl::Status& status) { return sigil::FailStartup("verifierd", status); }

}  // namespace

int main(int argc, char** argv) {
  sigil::BlockTerminationSignals();
  absl::SetProgramUsageMessage("verifierd --config FILE");
  absl::ParseCommandLine(argc, argv);
  const std::string path = absl::GetFlag(FLAGS_config);
  if (path.empty()) return Fail(absl::InvalidArgumentError("--config FILE is required"));
  sigil::LogInfo(absl::StrCat("Starting verifierd with config ", path));

  sigil::config::v1::VerifierConfig config;
  if (auto status = sigil::LoadJsonConfigFile(path, &config); !status.ok()) return Fail(status);
  auto listener = sigil::ValidateListener(config.listener());
  if (!listener.ok()) return Fail(listener.status());
  for (const std::string& line : listener->decisions) sigil::LogInfo(line);
  sigil::LogWarning(absl::StrCat(
      config.profiles_size(), " profile(s) configured; OCSP peer verification, stapling, advisories and the "
      "response cache are not implemented in this version: their RPCs answer UNIMPLEMENTED"));

  sigil::verifier::VerifierService verifier;
  sigil::cache::CacheService cache;
  if (auto status = sigil::ServeUntilSignalled("verifierd", *listener, {&verifier, &cache}); !status.ok()) {
    return Fail(status);
  }
  return 0;
}
