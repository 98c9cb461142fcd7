#include "verifier/ocsp/metered_fetcher.h"

#include <memory>
#include <string>

#include "common/metrics.h"
#include "gtest/gtest.h"

namespace sigil::verifier::ocsp {
namespace {

// Answers every Fetch with a fixed result.
class FixedFetcher final : public HttpFetcher {
 public:
  explicit FixedFetcher(absl::StatusOr<std::string> result) : result_(std::move(result)) {}
  absl::StatusOr<std::string> Fetch(const HttpRequest&) override { return result_; }

 private:
  absl::StatusOr<std::string> result_;
};

// The value of the registry's sample `name` with exactly `labels`, or -1.
double Value(const std::string& name, const std::map<std::string, std::string>& labels) {
  for (const prometheus::MetricFamily& family : MetricsRegistry().Collect()) {
    if (family.name != name) continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      std::map<std::string, std::string> got;
      for (const auto& label : metric.label) got[label.name] = label.value;
      if (got != labels) continue;
      return family.type == prometheus::MetricType::Histogram ? metric.histogram.sample_count : metric.counter.value;
    }
  }
  return -1;
}

TEST(ResponderLabelTest, IsTheLowercaseHostOnly) {
  EXPECT_EQ(ResponderLabel("http://OCSP.Example.NET:8080/path?x=1"), "ocsp.example.net");
  EXPECT_EQ(ResponderLabel("https://127.0.0.1/"), "127.0.0.1");
  EXPECT_EQ(ResponderLabel("http://ocsp.example.net/MEIwQDA%2BMDwwOjAJBgUrDgMCGgUABBQ"), "ocsp.example.net");
  EXPECT_EQ(ResponderLabel("not a url"), "invalid");
}

TEST(MeteredHttpFetcherTest, CountsEachExchangeByResponderAndOutcome) {
  MeteredHttpFetcher ok(std::make_shared<FixedFetcher>(std::string("body")));
  MeteredHttpFetcher down(std::make_shared<FixedFetcher>(absl::UnavailableError("connection refused")));
  HttpRequest request;
  request.url = "http://metered-test.example:9/";
  auto body = ok.Fetch(request);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, "body");
  EXPECT_EQ(ok.Fetch(request).value(), "body");
  EXPECT_EQ(down.Fetch(request).status().code(), absl::StatusCode::kUnavailable);

  EXPECT_EQ(Value("sigil_ocsp_fetches_total", {{"responder", "metered-test.example"}, {"outcome", "OK"}}), 2);
  EXPECT_EQ(Value("sigil_ocsp_fetches_total", {{"responder", "metered-test.example"}, {"outcome", "UNAVAILABLE"}}),
            1);
  EXPECT_EQ(Value("sigil_ocsp_fetch_seconds", {{"responder", "metered-test.example"}}), 3);
}

}  // namespace
}  // namespace sigil::verifier::ocsp
