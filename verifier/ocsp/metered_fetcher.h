// MeteredHttpFetcher: an HttpFetcher decorator that records every exchange with an OCSP responder into
// common/metrics.h MetricsRegistry():
//   sigil_ocsp_fetches_total{responder="<host>",outcome="<status code name>"}   counter
//   sigil_ocsp_fetch_seconds{responder="<host>"}                                 histogram
// `responder` is the URL's host as libcurl's URL parser reads it ("invalid" when it cannot be parsed), so the
// label never carries a path or a request; `outcome` is "OK" or the absl status code name of the failure
// ("DEADLINE_EXCEEDED", "UNAVAILABLE", ...), see http_fetcher.h for what each means. One Fetch is one
// HTTP exchange, so a GET answered badly and retried as POST counts twice.
//
// Thread-safety: as thread-safe as the wrapped fetcher.
#ifndef SIGIL_VERIFIER_OCSP_METERED_FETCHER_H_
#define SIGIL_VERIFIER_OCSP_METERED_FETCHER_H_

#include <memory>
#include <string>

#include "verifier/ocsp/http_fetcher.h"

namespace sigil::verifier::ocsp {

class MeteredHttpFetcher final : public HttpFetcher {
 public:
  // `inner` must not be null.
  explicit MeteredHttpFetcher(std::shared_ptr<HttpFetcher> inner);

  absl::StatusOr<std::string> Fetch(const HttpRequest& request) override;

 private:
  const std::shared_ptr<HttpFetcher> inner_;
};

// The host of `url` (lowercase, without port), or "invalid". Exposed for tests.
std::string ResponderLabel(const std::string& url);

}  // namespace sigil::verifier::ocsp

#endif  // SIGIL_VERIFIER_OCSP_METERED_FETCHER_H_
