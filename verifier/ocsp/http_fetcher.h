// HTTP transport to OCSP responders (RFC 6960 appendix A, RFC 5019 section 5).
//
// HttpFetcher is the interface the peer verifier talks to; CurlHttpFetcher is the libcurl backend.
// FetchOcspResponse adds the protocol: GET (RFC 5019 encoding) for small requests, POST otherwise, AIA
// URLs tried in order within one overall timeout; POST again when a server refuses the GET.
//
// What CurlHttpFetcher checks: HTTP status 200, Content-Type application/ocsp-response, body size cap,
// timeout, only http/https (also for redirects, at most 3), https peers against the system trust store.
// What it does not check: the body itself (see ocsp_response.h).
#ifndef SIGIL_VERIFIER_OCSP_HTTP_FETCHER_H_
#define SIGIL_VERIFIER_OCSP_HTTP_FETCHER_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace sigil::verifier::ocsp {

inline constexpr size_t kDefaultMaxResponseBytes = 64 * 1024;

struct HttpRequest {
  enum class Method { kGet, kPost };
  Method method = Method::kGet;
  std::string url;
  // POST body, sent as Content-Type application/ocsp-request; ignored for GET.
  std::string body;
  // Bounds the whole exchange (connect, send, receive). Must be positive.
  absl::Duration timeout = absl::Seconds(2);
  // A longer body is refused.
  size_t max_response_bytes = kDefaultMaxResponseBytes;
};

// Performs one HTTP exchange with an OCSP responder and returns the body of a 200 response.
// Errors: INVALID_ARGUMENT for a URL that is not http(s); DEADLINE_EXCEEDED when `timeout` passed;
// UNAVAILABLE for connection failures and "bad OCSP responder http status: [N]" (the reference wording)
// for a status other than 200; RESOURCE_EXHAUSTED when the body exceeds max_response_bytes;
// FAILED_PRECONDITION when the Content-Type is not application/ocsp-response.
//
// Thread-safety: implementations are thread-safe; Fetch blocks the calling thread for up to `timeout`.
class HttpFetcher {
 public:
  virtual ~HttpFetcher() = default;
  virtual absl::StatusOr<std::string> Fetch(const HttpRequest& request) = 0;
};

// libcurl backend: one easy handle per Fetch (no shared connection state between threads), no signals
// (CURLOPT_NOSIGNAL), libcurl's default CA bundle (the system trust store) for https, proxies from the
// environment as libcurl reads them. CURLcode failures keep their code and text in the message.
class CurlHttpFetcher final : public HttpFetcher {
 public:
  // Initialises libcurl once per process. INTERNAL when curl_global_init fails.
  static absl::StatusOr<std::unique_ptr<CurlHttpFetcher>> Create();

  absl::StatusOr<std::string> Fetch(const HttpRequest& request) override;

 private:
  CurlHttpFetcher() = default;
};

// Asks the responders at `urls` (in order) for the answer to `request_der`, as the reference server's
// FetchOCSPResponse: for each URL, GET when GetUrl() gives a URL (escaped request < 255 bytes), POST
// otherwise, and POST again when the server answered the GET with a non-200 status or a non-OCSP
// Content-Type (RFC 6960 responders must accept POST; some accept nothing else). The first 200 response
// with an OCSP Content-Type wins. `timeout` bounds all attempts together (the
// ca_timeout of one link); each attempt gets what is left. Logs "Trying OCSP responder url [u]" at debug.
// Errors: INVALID_ARGUMENT when `urls` is empty; otherwise the last attempt's error, with
// "exhausted OCSP responders: " prepended when there were several URLs.
//
// `order` kPostFirst (stapling) reverses the preference: POST first, and GET (when GetUrl() gives one) only
// when the server answered the POST with a non-200 status or a non-OCSP Content-Type.
enum class FetchOrder { kGetFirst, kPostFirst };
absl::StatusOr<std::string> FetchOcspResponse(HttpFetcher& fetcher, absl::Span<const std::string> urls,
                                              absl::string_view request_der, absl::Duration timeout,
                                              size_t max_response_bytes,
                                              FetchOrder order = FetchOrder::kGetFirst);

}  // namespace sigil::verifier::ocsp

#endif  // SIGIL_VERIFIER_OCSP_HTTP_FETCHER_H_
