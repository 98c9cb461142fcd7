#include "verifier/ocsp/metered_fetcher.h"

#include <curl/curl.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "common/metrics.h"

namespace sigil::verifier::ocsp {
namespace {

struct CurlUrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct CurlFreeDeleter {
  void operator()(char* text) const { curl_free(text); }
};

prometheus::Family<prometheus::Counter>& Fetches() {
  static prometheus::Family<prometheus::Counter>& family =
      prometheus::BuildCounter()
          .Name("sigil_ocsp_fetches_total")
          .Help("HTTP exchanges with OCSP responders, by responder host and outcome (OK or the status code).")
          .Register(MetricsRegistry());
  return family;
}

prometheus::Family<prometheus::Histogram>& FetchSeconds() {
  static prometheus::Family<prometheus::Histogram>& family =
      prometheus::BuildHistogram()
          .Name("sigil_ocsp_fetch_seconds")
          .Help("Duration of HTTP exchanges with OCSP responders, by responder host.")
          .Register(MetricsRegistry());
  return family;
}

}  // namespace

std::string ResponderLabel(const std::string& url) {
  // libcurl's own URL parser, so the label is the host libcurl connects to.
  std::unique_ptr<CURLU, CurlUrlDeleter> parsed(curl_url());
  if (parsed == nullptr || curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return "invalid";
  char* host = nullptr;
  if (curl_url_get(parsed.get(), CURLUPART_HOST, &host, 0) != CURLUE_OK || host == nullptr) return "invalid";
  std::unique_ptr<char, CurlFreeDeleter> owned(host);
  return absl::AsciiStrToLower(owned.get());
}

MeteredHttpFetcher::MeteredHttpFetcher(std::shared_ptr<HttpFetcher> inner) : inner_(std::move(inner)) {}

absl::StatusOr<std::string> MeteredHttpFetcher::Fetch(const HttpRequest& request) {
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> body = inner_->Fetch(request);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const std::string responder = ResponderLabel(request.url);
  const std::string outcome(absl::StatusCodeToString(body.status().code()));
  Fetches().Add({{"responder", responder}, {"outcome", outcome}}).Increment();
  FetchSeconds().Add({{"responder", responder}}, LatencyBuckets()).Observe(seconds);
  return body;
}

}  // namespace sigil::verifier::ocsp
