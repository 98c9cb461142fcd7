#include "verifier/ocsp/http_fetcher.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "verifier/ocsp/ocsp_request.h"

namespace sigil::verifier::ocsp {
namespace {

// RAII owners for libcurl handles.
struct CurlEasyDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
using CurlEasyPtr = std::unique_ptr<CURL, CurlEasyDeleter>;
struct CurlSlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlSlistPtr = std::unique_ptr<curl_slist, CurlSlistDeleter>;

// The one adapter from CURLcode to absl::Status; keeps libcurl's code, name and detail buffer.
absl::Status CurlError(CURLcode code, absl::string_view context, const char* detail) {
  absl::StatusCode status_code = absl::StatusCode::kUnavailable;
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      status_code = absl::StatusCode::kDeadlineExceeded;
      break;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      status_code = absl::StatusCode::kInvalidArgument;
      break;
    case CURLE_OUT_OF_MEMORY:
    case CURLE_FAILED_INIT:
      status_code = absl::StatusCode::kInternal;
      break;
    default:
      break;
  }
  std::string message = absl::StrCat(context, ": CURLcode ", static_cast<int>(code), " (",
                                     curl_easy_strerror(code), ")");
  if (detail != nullptr && detail[0] != '\0') absl::StrAppend(&message, ": ", detail);
  return absl::Status(status_code, message);
}

struct Body {
  std::string data;
  size_t max_bytes = 0;
  bool too_large = false;
};

size_t WriteBody(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* body = static_cast<Body*>(userdata);
  const size_t n = size * nmemb;
  if (body->data.size() + n > body->max_bytes) {
    body->too_large = true;
    return 0;  // Aborts the transfer with CURLE_WRITE_ERROR.
  }
  body->data.append(ptr, n);
  return n;
}

bool IsWebUrl(absl::string_view url) {
  return absl::StartsWithIgnoreCase(url, "http://") || absl::StartsWithIgnoreCase(url, "https://");
}

}  // namespace

absl::StatusOr<std::unique_ptr<CurlHttpFetcher>> CurlHttpFetcher::Create() {
  static CURLcode init_code = [] { return curl_global_init(CURL_GLOBAL_DEFAULT); }();
  if (init_code != CURLE_OK) return CurlError(init_code, "curl_global_init", nullptr);
  return std::unique_ptr<CurlHttpFetcher>(new CurlHttpFetcher());
}

absl::StatusOr<std::string> CurlHttpFetcher::Fetch(const HttpRequest& request) {
  if (!IsWebUrl(request.url)) {
    return absl::InvalidArgumentError(absl::StrCat("OCSP responder URL [", request.url, "] is not http(s)"));
  }
  if (request.timeout <= absl::ZeroDuration()) {
    return absl::DeadlineExceededError(absl::StrCat("no time left to ask [", request.url, "]"));
  }
  CurlEasyPtr curl(curl_easy_init());
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  CURL* h = curl.get();
  char error_buffer[CURL_ERROR_SIZE] = {0};
  Body body;
  body.max_bytes = request.max_response_bytes;
  CurlSlistPtr headers;
  // Each setopt on a fresh handle only fails on out-of-memory or a libcurl built without the feature;
  // check them together.
  CURLcode rc = CURLE_OK;
  auto set = [&rc](CURLcode c) {
    if (rc == CURLE_OK) rc = c;
  };
  set(curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer));
  set(curl_easy_setopt(h, CURLOPT_URL, request.url.c_str()));
  set(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L));
  set(curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https"));
  set(curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"));
  set(curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L));
  set(curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L));
  set(curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<int64_t>(1, absl::ToInt64Milliseconds(request.timeout)))));
  set(curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L));
  set(curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L));
  set(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteBody));
  set(curl_easy_setopt(h, CURLOPT_WRITEDATA, &body));
  set(curl_easy_setopt(h, CURLOPT_USERAGENT, "sigil-verifierd"));
  curl_slist* list = curl_slist_append(nullptr, "Accept: application/ocsp-response");
  if (request.method == HttpRequest::Method::kPost) {
    list = list == nullptr ? nullptr : curl_slist_append(list, "Content-Type: application/ocsp-request");
    set(curl_easy_setopt(h, CURLOPT_POST, 1L));
    set(curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data()));
    set(curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size())));
  } else {
    set(curl_easy_setopt(h, CURLOPT_HTTPGET, 1L));
  }
  headers.reset(list);
  if (headers == nullptr) return absl::InternalError("curl_slist_append failed");
  set(curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get()));
  if (rc != CURLE_OK) return CurlError(rc, "configuring the OCSP HTTP request", error_buffer);

  const std::string context = absl::StrCat("OCSP request to [", request.url, "]");
  rc = curl_easy_perform(h);
  if (body.too_large) {
    return absl::ResourceExhaustedError(absl::StrCat(context, ": response body exceeds ",
                                                     request.max_response_bytes, " bytes"));
  }
  if (rc != CURLE_OK) return CurlError(rc, context, error_buffer);
  long http_status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http_status);
  if (http_status != 200) {
    return absl::UnavailableError(absl::StrCat("bad OCSP responder http status: [", http_status, "]"));
  }
  char* content_type = nullptr;
  curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &content_type);
  absl::string_view type = content_type == nullptr ? "" : content_type;
  type = absl::StripAsciiWhitespace(type.substr(0, type.find(';')));
  if (!absl::EqualsIgnoreCase(type, "application/ocsp-response")) {
    return absl::FailedPreconditionError(absl::StrCat(context, ": Content-Type [",
                                                      content_type == nullptr ? "" : content_type,
                                                      "] is not application/ocsp-response"));
  }
  return std::move(body.data);
}

absl::StatusOr<std::string> FetchOcspResponse(HttpFetcher& fetcher, absl::Span<const std::string> urls,
                                              absl::string_view request_der, absl::Duration timeout,
                                              size_t max_response_bytes, FetchOrder order) {
  if (urls.empty()) return absl::InvalidArgumentError("no available OCSP servers");
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status last;
  auto attempt = [&](HttpRequest request) -> absl::StatusOr<std::string> {
    request.timeout = deadline - absl::Now();
    request.max_response_bytes = max_response_bytes;
    absl::StatusOr<std::string> body = fetcher.Fetch(request);
    if (!body.ok()) {
      Log(LogLevel::kDebug, absl::StrCat(request.method == HttpRequest::Method::kGet ? "GET" : "POST", " ",
                                         request.url.substr(0, 200), ": ", body.status().ToString()));
    }
    return body;
  };
  for (const std::string& url : urls) {
    Log(LogLevel::kDebug, absl::StrCat("Trying OCSP responder url [", url, "]"));
    HttpRequest post;
    post.method = HttpRequest::Method::kPost;
    post.url = url;
    post.body = std::string(request_der);
    const std::string get_url = GetUrl(url, request_der);
    absl::StatusOr<std::string> body;
    const auto answered_badly = [](const absl::StatusOr<std::string>& b) {
      return !b.ok() && (b.status().code() == absl::StatusCode::kFailedPrecondition ||
                         absl::StartsWith(b.status().message(), "bad OCSP responder http status"));
    };
    if (order == FetchOrder::kPostFirst) {
      body = attempt(post);
      if (!get_url.empty() && answered_badly(body) && absl::Now() < deadline) {
        HttpRequest get;
        get.url = get_url;
        body = attempt(get);
      }
    } else if (!get_url.empty()) {
      HttpRequest get;
      get.url = get_url;
      body = attempt(get);
      // The server answered but not with an OCSP response to GET (405, 404, an HTML page...): every
      // RFC 6960 responder must accept POST, so ask again that way. Network failures, timeouts and
      // oversized bodies are not retried against the same server.
      const bool answered_badly = !body.ok() && (body.status().code() == absl::StatusCode::kFailedPrecondition ||
                                                 absl::StartsWith(body.status().message(), "bad OCSP responder http status"));
      if (answered_badly && absl::Now() < deadline) body = attempt(post);
    } else {
      body = attempt(post);
    }
    if (body.ok()) return body;
    last = body.status();
    if (absl::Now() >= deadline) break;
  }
  if (urls.size() == 1) return last;
  return absl::Status(last.code(), absl::StrCat("exhausted OCSP responders: ", last.message()));
}

}  // namespace sigil::verifier::ocsp
