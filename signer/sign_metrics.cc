#include "signer/sign_metrics.h"

#include <string>

#include "common/metrics.h"

namespace sigil::signer {

void RecordSignLatency(absl::string_view store, SignPhase phase, absl::Duration duration) {
  static prometheus::Family<prometheus::Histogram>& family =
      prometheus::BuildHistogram()
          .Name("sigil_sign_seconds")
          .Help("Signature latency by credential store, split into waiting for the signing pool (phase=queue) "
                "and signing in the store (phase=exec).")
          .Register(MetricsRegistry());
  family.Add({{"store", std::string(store)}, {"phase", phase == SignPhase::kQueue ? "queue" : "exec"}},
             LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(duration));
}

}  // namespace sigil::signer
