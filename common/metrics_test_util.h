// Test helpers for the metrics endpoint: scrape /metrics over HTTP (libcurl) and read samples out of the
// Prometheus text exposition format.
#ifndef SIGIL_COMMON_METRICS_TEST_UTIL_H_
#define SIGIL_COMMON_METRICS_TEST_UTIL_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sigil::testing {

// GET http://127.0.0.1:<port>/metrics; the body of a 200 answer. UNAVAILABLE for any other outcome.
absl::StatusOr<std::string> ScrapeMetrics(int port);

// The value of the first sample named `name` whose labels include every pair of `labels` (others may be
// present), or nullopt. Parses lines `name{k="v",...} value` and `name value`; comments are skipped.
std::optional<double> SampleValue(absl::string_view exposition, absl::string_view name,
                                  const std::map<std::string, std::string>& labels = {});

// The sum of every such sample (0 when none).
double SampleSum(absl::string_view exposition, absl::string_view name,
                 const std::map<std::string, std::string>& labels = {});

}  // namespace sigil::testing

#endif  // SIGIL_COMMON_METRICS_TEST_UTIL_H_
