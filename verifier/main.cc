// verifierd: serves sigil.verifier.v1.Verifier, sigil.cache.v1.Cache, grpc.health.v1.Health and
// reflection on an mTLS listener. Wiring only: config → options → cache, fetcher, advisory bus,
// PeerVerifier, StapleManager → services → server → wait for SIGTERM/SIGINT.
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "cache/cache_factory.h"
#include "cache/cache_service.h"
#include "cache/clock.h"
#include "common/config.h"
#include "common/grpc_server.h"
#include "common/logging.h"
#include "common/metrics.h"
#include "common/tls_listener.h"
#include "sigil/config/v1/verifier.pb.h"
#include "verifier/advisories/advisory_config.h"
#include "verifier/import_validator.h"
#include "verifier/ocsp/http_fetcher.h"
#include "verifier/ocsp/metered_fetcher.h"
#include "verifier/peer_verifier.h"
#include "verifier/stapling/staple_manager.h"
#include "verifier/stapling/staple_options.h"
#include "verifier/verifier_options.h"
#include "verifier/verifier_service.h"

ABSL_FLAG(std::string, config, "", "verifierd configuration file (JSON, sigil.config.v1.VerifierConfig)");

namespace {

int Fail(const absl::Status& status) { return sigil::FailStartup("verifierd", status); }

// Scrape-time metrics of verifierd's parts (common/metrics.h): the OCSP cache's statistics and every
// registered staple's age and time to its next refresh. `cache` may be null (no ocsp_peer profile).
void AddVerifierScrapes(sigil::ScrapeCollector& collector, sigil::cache::OcspCache* cache,
                        const sigil::verifier::stapling::StapleManager* staples,
                        std::shared_ptr<const sigil::cache::Clock> clock) {
  if (cache != nullptr) {
    collector.Add([cache] {
      const sigil::cache::CacheStats stats = cache->Stats();
      const double hits = static_cast<double>(stats.cache_hits);
      const double misses = static_cast<double>(stats.cache_misses);
      return std::vector<prometheus::MetricFamily>{
          sigil::CounterFamily("sigil_ocsp_cache_hits_total", "OCSP response cache hits.", {{{}, hits}}),
          sigil::CounterFamily("sigil_ocsp_cache_misses_total", "OCSP response cache misses.", {{{}, misses}}),
          sigil::GaugeFamily("sigil_ocsp_cache_responses", "OCSP responses in the cache, by status.",
                             {{{{"status", "good"}}, static_cast<double>(stats.cached_good_responses)},
                              {{{"status", "revoked"}}, static_cast<double>(stats.cached_revoked_responses)},
                              {{{"status", "unknown"}}, static_cast<double>(stats.cached_unknown_responses)}}),
      };
    });
  }
  collector.Add([staples, clock] {
    const absl::Time now = clock->Now();
    std::vector<sigil::Sample> age;
    std::vector<sigil::Sample> next;
    const auto states = staples->Snapshot();
    for (const auto& state : states) {
      std::vector<std::pair<std::string, std::string>> labels = {{"subject", state.subject}, {"serial", state.serial}};
      if (state.has_staple) age.push_back({labels, absl::ToDoubleSeconds(now - state.this_update)});
      next.push_back({labels, absl::ToDoubleSeconds(state.next_refresh - now)});
    }
    return std::vector<prometheus::MetricFamily>{
        sigil::GaugeFamily("sigil_staples_registered", "Certificates registered for stapling (GetStaple).",
                           {{{}, static_cast<double>(states.size())}}),
        sigil::GaugeFamily("sigil_staple_age_seconds", "Seconds since the held staple's ThisUpdate, per certificate.",
                           age),
        sigil::GaugeFamily("sigil_staple_next_refresh_seconds",
                           "Seconds until the staple's next refresh (negative: due now), per certificate.", next),
    };
  });
}

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
  auto options = sigil::verifier::ValidateVerifierConfig(config);
  if (!options.ok()) return Fail(options.status());

  auto clock = std::make_shared<const sigil::cache::SystemClock>();
  // A cache only when a profile enables ocsp_peer (the ocsp_cache option is validated either way).
  auto ocsp_cache = sigil::cache::CreateOcspCacheForVerifier(config, clock);
  if (!ocsp_cache.ok()) return Fail(ocsp_cache.status());
  std::shared_ptr<sigil::cache::OcspCache> cache = *std::move(ocsp_cache);
  if (cache != nullptr) {
    sigil::LogInfo(absl::StrCat("OCSP peer cache online, type [", cache->Stats().cache_type, "]"));
  }
  auto metrics_options = sigil::ValidateMetrics(config.metrics());
  if (!metrics_options.ok()) return Fail(metrics_options.status());
  auto staple_options = sigil::verifier::stapling::ValidateStaplingConfig(config);
  if (!staple_options.ok()) return Fail(staple_options.status());
  auto advisory_options = sigil::verifier::advisories::ValidateAdvisoryConfig(config);
  if (!advisory_options.ok()) return Fail(advisory_options.status());
  // Stapling always needs a fetcher (GetStaple may be called for any profile).
  auto curl = sigil::verifier::ocsp::CurlHttpFetcher::Create();
  if (!curl.ok()) return Fail(curl.status());
  std::shared_ptr<sigil::verifier::ocsp::HttpFetcher> fetcher = *std::move(curl);
  if (metrics_options->enabled()) {
    fetcher = std::make_shared<sigil::verifier::ocsp::MeteredHttpFetcher>(std::move(fetcher));
  }
  auto advisories = sigil::verifier::advisories::CreateAdvisoryBus(*advisory_options);
  if (!advisories.ok()) return Fail(advisories.status());
  auto peer_verifier = sigil::verifier::PeerVerifier::Create(options->profiles, cache, fetcher, clock, *advisories);
  if (!peer_verifier.ok()) return Fail(peer_verifier.status());
  // Every later user writes through the verifier's view of the cache, so its in-memory verdicts see writes.
  if (cache != nullptr) cache = (*peer_verifier)->cache();
  sigil::LogInfo(absl::StrCat(options->profiles.size(), " profile(s) configured",
                              options->profiles.count("default") == 0 ? " (none named \"default\")" : ""));
  auto staples = sigil::verifier::stapling::StapleManager::Create(*std::move(staple_options), fetcher, clock);
  if (!staples.ok()) return Fail(staples.status());
  sigil::LogInfo(config.store_dir().empty() ? "OCSP staples are not persisted (no store_dir)"
                                            : absl::StrCat("OCSP staples persist in [", config.store_dir(), "/staples]"));
  // Declared after everything its scrapes read, so it stops first.
  std::unique_ptr<sigil::MetricsServer> metrics;
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  if (metrics_options->enabled()) {
    auto collector = std::make_shared<sigil::ScrapeCollector>();
    AddVerifierScrapes(*collector, cache.get(), staples->get(), clock);
    auto started = sigil::MetricsServer::Start(*metrics_options, {collector});
    if (!started.ok()) return Fail(started.status());
    metrics = *std::move(started);
    interceptors = sigil::MetricsInterceptors();
    sigil::LogInfo(absl::StrCat("verifierd metrics served on ", metrics_options->listen, " (metrics port ",
                                metrics->port(), "), plain HTTP GET /metrics"));
  }

  {
    sigil::verifier::VerifierServiceParts parts;
    parts.peer_verifier = peer_verifier->get();
    parts.staples = staples->get();
    parts.staple_check_profiles = options->profiles;
    parts.clock = clock;
    parts.advisories = *advisories;
    parts.watcher_queue_size = advisory_options->watcher_queue_size;
    auto verifier = sigil::verifier::VerifierService::Create(std::move(parts));
    if (!verifier.ok()) return Fail(verifier.status());
    // Imported cache.json responses are validated like fetched ones (default skew and TTL).
    sigil::verifier::OcspImportValidator import_validator;
    sigil::cache::CacheServiceOptions cache_options;
    cache_options.cache = cache.get();
    cache_options.validator = &import_validator;
    cache_options.clock = clock;
    cache_options.admin_principals.assign(config.admin_principals().begin(), config.admin_principals().end());
    sigil::cache::CacheService cache_service(std::move(cache_options));
    if (auto status = sigil::ServeUntilSignalled("verifierd", *listener, {verifier->get(), &cache_service},
                                                 nullptr, std::move(interceptors));
        !status.ok()) {
      return Fail(status);
    }
  }
  return 0;
}
