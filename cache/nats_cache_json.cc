#include "cache/nats_cache_json.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace sigil::cache {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

constexpr size_t kFingerprintBytes = 32;  // SHA-256
// Go's time.RFC3339Nano in UTC, as the reference server writes times.
constexpr char kTimeFormat[] = "%Y-%m-%dT%H:%M:%E*SZ";

// The string field `name` of `entry`: nullopt when absent; an error when present but not a string.
absl::StatusOr<std::optional<std::string>> StringField(const Struct& entry, const std::string& name) {
  auto it = entry.fields().find(name);
  if (it == entry.fields().end() || it->second.kind_case() == Value::kNullValue) return std::nullopt;
  if (it->second.kind_case() != Value::kStringValue) {
    return absl::InvalidArgumentError(absl::StrCat(name, " is not a string"));
  }
  return it->second.string_value();
}

absl::StatusOr<absl::Time> ParseRfc3339(const std::string& name, const std::string& text) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
    return absl::InvalidArgumentError(absl::StrCat(name, " \"", text, "\" is not an RFC 3339 time: ", error));
  }
  return t;
}

absl::StatusOr<CachedResponse::Status> ParseStatus(const std::string& text) {
  if (text == "good") return CachedResponse::Status::kGood;
  if (text == "revoked") return CachedResponse::Status::kRevoked;
  if (text == "unknown") return CachedResponse::Status::kUnknown;
  return absl::InvalidArgumentError(
      absl::StrCat("resp_status \"", text, "\" is not one of \"good\", \"revoked\", \"unknown\""));
}

// Parses one entry; the error message is the rejection reason.
absl::StatusOr<CachedResponse> ParseEntry(const std::string& key, const Value& value, const NatsCacheLimits& limits) {
  std::string fingerprint;
  if (!absl::Base64Unescape(key, &fingerprint) || fingerprint.size() != kFingerprintBytes) {
    return absl::InvalidArgumentError("key is not a certificate fingerprint (base64 of a SHA-256 digest)");
  }
  if (value.kind_case() != Value::kStructValue) return absl::InvalidArgumentError("entry is not an object");
  const Struct& entry = value.struct_value();
  CachedResponse r;
  r.key = key;

  absl::StatusOr<std::optional<std::string>> subject = StringField(entry, "subject");
  if (!subject.ok()) return subject.status();
  r.subject = subject->value_or("");

  absl::StatusOr<std::optional<std::string>> cached_at = StringField(entry, "cached_at");
  if (!cached_at.ok()) return cached_at.status();
  if (!cached_at->has_value()) return absl::InvalidArgumentError("cached_at is missing");
  absl::StatusOr<absl::Time> cached_time = ParseRfc3339("cached_at", **cached_at);
  if (!cached_time.ok()) return cached_time.status();
  r.cached_at = *cached_time;

  absl::StatusOr<std::optional<std::string>> status = StringField(entry, "resp_status");
  if (!status.ok()) return status.status();
  if (!status->has_value()) return absl::InvalidArgumentError("resp_status is missing");
  absl::StatusOr<CachedResponse::Status> parsed_status = ParseStatus(**status);
  if (!parsed_status.ok()) return parsed_status.status();
  r.resp_status = *parsed_status;

  absl::StatusOr<std::optional<std::string>> expires = StringField(entry, "resp_expires");
  if (!expires.ok()) return expires.status();
  if (expires->has_value()) {
    absl::StatusOr<absl::Time> expires_time = ParseRfc3339("resp_expires", **expires);
    if (!expires_time.ok()) return expires_time.status();
    r.resp_expires = *expires_time;
  }

  absl::StatusOr<std::optional<std::string>> resp = StringField(entry, "resp");
  if (!resp.ok()) return resp.status();
  if (!resp->has_value() || (*resp)->empty()) return absl::InvalidArgumentError("resp is missing");
  std::string stream;
  if (!absl::Base64Unescape(**resp, &stream)) return absl::InvalidArgumentError("resp is not base64");
  absl::StatusOr<std::string> der = s2::DecodeStream(stream, limits.max_response_bytes);
  if (!der.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("resp is not a valid S2 stream: ", der.status().message()));
  }
  if (der->empty()) return absl::InvalidArgumentError("resp decodes to an empty response");
  r.response_der = *std::move(der);
  return r;
}

std::string FormatUtc(absl::Time t) { return absl::FormatTime(kTimeFormat, t, absl::UTCTimeZone()); }

Value StringValue(std::string s) {
  Value v;
  v.set_string_value(std::move(s));
  return v;
}

}  // namespace

absl::StatusOr<ParsedNatsCache> ParseNatsCacheJson(absl::string_view json, const NatsCacheLimits& limits) {
  if (json.size() > limits.max_file_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("cache.json is ", json.size(), " bytes, above the limit of ", limits.max_file_bytes));
  }
  Struct file;
  google::protobuf::util::JsonParseOptions options;
  auto parsed = google::protobuf::util::JsonStringToMessage(std::string(json), &file, options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cache.json is not a JSON object: ", std::string(parsed.message())));
  }
  if (static_cast<size_t>(file.fields_size()) > limits.max_entries) {
    return absl::InvalidArgumentError(
        absl::StrCat("cache.json has ", file.fields_size(), " entries, above the limit of ", limits.max_entries));
  }
  std::vector<std::string> keys;
  keys.reserve(file.fields_size());
  for (const auto& [key, value] : file.fields()) keys.push_back(key);
  std::sort(keys.begin(), keys.end());

  ParsedNatsCache out;
  for (const std::string& key : keys) {
    absl::StatusOr<CachedResponse> entry = ParseEntry(key, file.fields().at(key), limits);
    if (entry.ok()) {
      out.entries.push_back(*std::move(entry));
    } else {
      out.rejections.push_back(absl::StrCat(key, ": ", entry.status().message()));
    }
  }
  return out;
}

absl::StatusOr<std::string> SerializeNatsCacheJson(absl::Span<const CachedResponse> entries) {
  Struct file;
  for (const CachedResponse& r : entries) {
    if (r.key.empty()) continue;
    Struct entry;
    auto& fields = *entry.mutable_fields();
    if (!r.subject.empty()) fields["subject"] = StringValue(r.subject);
    fields["cached_at"] = StringValue(FormatUtc(r.cached_at));
    fields["resp_status"] = StringValue(std::string(ResponseStatusName(r.resp_status)));
    fields["resp_expires"] = StringValue(FormatUtc(r.resp_expires));
    fields["resp"] = StringValue(absl::Base64Escape(s2::EncodeStream(r.response_der)));
    *(*file.mutable_fields())[r.key].mutable_struct_value() = std::move(entry);
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  auto printed = google::protobuf::util::MessageToJsonString(file, &json, options);
  if (!printed.ok()) {
    return absl::InternalError(absl::StrCat("writing cache.json: ", std::string(printed.message())));
  }
  return json;
}

}  // namespace sigil::cache
