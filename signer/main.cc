// signerd: serves sigil.signer.v1.Signer, grpc.health.v1.Health and reflection on an mTLS listener.
// Wiring only: config → identities (stores) → signing pool, refresher → service → server → wait for
// SIGTERM/SIGINT (SIGHUP looks every store-backed identity up again).
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/config.h"
#include "common/grpc_server.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/tls_listener.h"
#include "sigil/config/v1/signer.pb.h"
#include "signer/identity.h"
#include "signer/identity_refresher.h"
#include "signer/signer_service.h"
#include "signer/signing_pool.h"
#include "signer/stores/pkcs11/pkcs11_key_store.h"
#include "signer/stores/registry.h"

ABSL_FLAG(std::string, config, "", "signerd configuration file (JSON, sigil.config.v1.SignerConfig)");

namespace {

int Fail(const absl::Status& status) { return sigil::FailStartup("signerd", status); }

// Signatures that may wait for a busy token before new ones are refused.
constexpr size_t kMaxQueuedSignatures = 4096;

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
  if (config.has_signing_threads() && (config.signing_threads() < 1 || config.signing_threads() > 256)) {
    return Fail(absl::InvalidArgumentError("'signing_threads' must be between 1 and 256"));
  }
  const int signing_threads = config.has_signing_threads() ? static_cast<int>(config.signing_threads()) : 4;
  auto metrics_options = sigil::ValidateMetrics(config.metrics());
  if (!metrics_options.ok()) return Fail(metrics_options.status());

  std::vector<std::string> decisions;
  auto identities = sigil::signer::IdentitySet::Create(config, sigil::signer::CreateKeyStore, &decisions);
  if (!identities.ok()) return Fail(identities.status());
  for (const std::string& line : decisions) {
    if (absl::StartsWith(line, "warning: ")) {
      sigil::LogWarning(line.substr(9));
    } else {
      sigil::LogInfo(line);
    }
  }
  std::vector<std::string> admins(config.admin_principals().begin(), config.admin_principals().end());
  sigil::LogInfo(admins.empty() ? "admin RPCs: nobody (admin_principals is empty)"
                                : absl::StrCat("admin RPCs: [", absl::StrJoin(admins, ", "), "]"));

  sigil::signer::SigningPool pool(signing_threads, kMaxQueuedSignatures);
  sigil::signer::IdentityRefresher refresher(**identities);
  sigil::signer::SignerService service(**identities, std::move(admins), pool);
  // Declared after everything its scrapes read, so it stops first.
  std::unique_ptr<sigil::MetricsServer> metrics;
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  if (metrics_options->enabled()) {
    interceptors = sigil::MetricsInterceptors();
    // Token gauges and counters of the PKCS#11 identities (the stores live in `identities`, declared first).
    std::vector<std::pair<std::string, const sigil::signer::Pkcs11KeyStore*>> tokens;
    for (const sigil::signer::Identity* identity : (*identities)->All()) {
      if (const auto* store = dynamic_cast<const sigil::signer::Pkcs11KeyStore*>(identity->key_store())) {
        tokens.emplace_back(identity->name(), store);
      }
    }
    auto collector = std::make_shared<sigil::ScrapeCollector>();
    if (!tokens.empty()) collector->Add(sigil::signer::Pkcs11TokenMetrics(std::move(tokens)));
    auto started = sigil::MetricsServer::Start(*metrics_options, {collector});
    if (!started.ok()) return Fail(started.status());
    metrics = *std::move(started);
    sigil::LogInfo(absl::StrCat("signerd metrics served on ", metrics_options->listen, " (metrics port ",
                                metrics->port(), "), plain HTTP GET /metrics"));
  }
  if (auto status = sigil::ServeUntilSignalled("signerd", *listener, {&service}, [&refresher] {
        refresher.RequestNow();
      }, std::move(interceptors));
      !status.ok()) {
    return Fail(status);
  }
  return 0;
}
