#include "common/metrics_test_util.h"

#include <curl/curl.h>

#include <cmath>
#include <memory>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sigil::testing {
namespace {

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};

size_t Append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

struct ParsedSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Parses one exposition line; false for comments, blank lines and anything malformed.
bool ParseLine(absl::string_view line, ParsedSample* out) {
  if (line.empty() || line.front() == '#') return false;
  size_t i = line.find_first_of("{ ");
  if (i == absl::string_view::npos) return false;
  out->name = std::string(line.substr(0, i));
  out->labels.clear();
  if (line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      const size_t eq = line.find('=', i);
      if (eq == absl::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') return false;
      std::string key(line.substr(i, eq - i));
      std::string value;
      size_t j = eq + 2;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\' && j + 1 < line.size()) {
          ++j;
          value.push_back(line[j] == 'n' ? '\n' : line[j]);
        } else {
          value.push_back(line[j]);
        }
      }
      if (j >= line.size()) return false;
      out->labels[key] = value;
      i = j + 1;
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) return false;
    ++i;  // '}'
  }
  absl::string_view rest = absl::StripAsciiWhitespace(line.substr(i));
  std::vector<absl::string_view> parts = absl::StrSplit(rest, ' ', absl::SkipEmpty());
  if (parts.empty()) return false;
  if (parts[0] == "+Inf") {
    out->value = HUGE_VAL;
    return true;
  }
  return absl::SimpleAtod(parts[0], &out->value);
}

bool Matches(const ParsedSample& sample, absl::string_view name, const std::map<std::string, std::string>& labels) {
  if (sample.name != name) return false;
  for (const auto& [key, value] : labels) {
    auto it = sample.labels.find(key);
    if (it == sample.labels.end() || it->second != value) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> ScrapeMetrics(int port) {
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  const std::string url = absl::StrCat("http://127.0.0.1:", port, "/metrics");
  std::string body;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  CURLcode rc = curl_easy_perform(curl.get());
  if (rc != CURLE_OK) return absl::UnavailableError(absl::StrCat("GET ", url, ": ", curl_easy_strerror(rc)));
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) return absl::UnavailableError(absl::StrCat("GET ", url, ": HTTP ", status));
  return body;
}

std::optional<double> SampleValue(absl::string_view exposition, absl::string_view name,
                                  const std::map<std::string, std::string>& labels) {
  ParsedSample sample;
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (ParseLine(line, &sample) && Matches(sample, name, labels)) return sample.value;
  }
  return std::nullopt;
}

double SampleSum(absl::string_view exposition, absl::string_view name,
                 const std::map<std::string, std::string>& labels) {
  double sum = 0;
  ParsedSample sample;
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (ParseLine(line, &sample) && Matches(sample, name, labels)) sum += sample.value;
  }
  return sum;
}

}  // namespace sigil::testing
