#include "cache/nats_cache_json.h"

#include <openssl/ocsp.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "cache/s2.h"
#include "cache/s2_test_util.h"
#include "gtest/gtest.h"

namespace sigil::cache {
namespace {

using Status = CachedResponse::Status;

std::string ReadSeed() {
  std::ifstream in(s2::testing::kSeedCacheJsonPath, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::Time Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

bool ParsesAsOcspResponse(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  OCSP_RESPONSE* response = d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size()));
  const bool ok = response != nullptr && p == reinterpret_cast<const unsigned char*>(der.data()) + der.size();
  OCSP_RESPONSE_free(response);
  return ok;
}

const char kKey[] = "0aJpXCPoRO6ZTxfmOlhuXlEM25YBWGUjiZzQFu9Y0/Q=";

std::string GoodResp() { return absl::Base64Escape(s2::EncodeStream("not really DER, but bytes")); }

TEST(NatsCacheJsonTest, ParsesTheSeedExample) {
  absl::StatusOr<ParsedNatsCache> parsed = ParseNatsCacheJson(ReadSeed());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->rejections.empty()) << parsed->rejections.front();
  ASSERT_EQ(parsed->entries.size(), 3u);
  // Sorted by key.
  const CachedResponse& user = parsed->entries[0];
  EXPECT_EQ(user.key, kKey);
  EXPECT_EQ(user.subject, "CN=UserA1,O=Tinghus,L=Tacoma,ST=WA,C=US");
  EXPECT_EQ(user.cached_at, Utc(2023, 6, 5, 23, 13, 15));
  EXPECT_EQ(user.resp_status, Status::kGood);
  EXPECT_EQ(user.resp_expires, Utc(2023, 6, 5, 23, 14, 15));
  const CachedResponse& bad_user = parsed->entries[1];
  EXPECT_EQ(bad_user.key, "6QS2jCKv9hRrgLR0/2VTuNSVmtWa+/j1jEumc9QBBbY=");
  EXPECT_EQ(bad_user.resp_status, Status::kRevoked);
  EXPECT_EQ(parsed->entries[2].subject, "CN=Intermediate CA,O=Tinghus,L=Tacoma,ST=WA,C=US");
  for (const CachedResponse& r : parsed->entries) {
    EXPECT_TRUE(ParsesAsOcspResponse(r.response_der)) << r.key;
    EXPECT_TRUE(r.issuer_fingerprint.empty());
    EXPECT_EQ(r.cert_not_after, absl::InfiniteFuture());
  }
}

TEST(NatsCacheJsonTest, SerializeThenParseRoundTrips) {
  absl::StatusOr<ParsedNatsCache> seed = ParseNatsCacheJson(ReadSeed());
  ASSERT_TRUE(seed.ok()) << seed.status();
  std::vector<CachedResponse> entries = seed->entries;
  entries[0].cached_at += absl::Milliseconds(250);  // fractional seconds survive, trailing zeros trimmed as Go does
  entries[1].subject.clear();                       // omitted, as the reference's omitempty
  absl::StatusOr<std::string> json = SerializeNatsCacheJson(entries);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_NE(json->find("\"cached_at\": \"2023-06-05T23:13:15.25Z\""), std::string::npos) << *json;
  EXPECT_NE(json->find("\"resp_status\": \"revoked\""), std::string::npos) << *json;

  absl::StatusOr<ParsedNatsCache> again = ParseNatsCacheJson(*json);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->rejections.empty());
  ASSERT_EQ(again->entries.size(), entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    SCOPED_TRACE(entries[i].key);
    EXPECT_EQ(again->entries[i].key, entries[i].key);
    EXPECT_EQ(again->entries[i].subject, entries[i].subject);
    EXPECT_EQ(again->entries[i].cached_at, entries[i].cached_at);
    EXPECT_EQ(again->entries[i].resp_status, entries[i].resp_status);
    EXPECT_EQ(again->entries[i].resp_expires, entries[i].resp_expires);
    EXPECT_EQ(again->entries[i].response_der, entries[i].response_der);
  }
}

TEST(NatsCacheJsonTest, TimesWithOffsetsAndNanoseconds) {
  const std::string json = absl::StrCat(R"({")", kKey, R"(": {"cached_at": "2023-06-05T16:13:15.123456789-07:00",
      "resp_status": "unknown", "resp_expires": "0001-01-01T00:00:00Z", "resp": ")", GoodResp(), R"(",
      "future_field": 42}})");
  absl::StatusOr<ParsedNatsCache> parsed = ParseNatsCacheJson(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->entries.size(), 1u) << (parsed->rejections.empty() ? "" : parsed->rejections[0]);
  EXPECT_EQ(parsed->entries[0].cached_at, Utc(2023, 6, 5, 23, 13, 15) + absl::Nanoseconds(123456789));
  EXPECT_EQ(parsed->entries[0].resp_status, Status::kUnknown);
  EXPECT_EQ(parsed->entries[0].response_der, "not really DER, but bytes");
}

TEST(NatsCacheJsonTest, RejectsBadEntriesOneByOne) {
  const std::string ok_fields = absl::StrCat(R"("cached_at": "2023-06-05T23:13:15Z", "resp_status": "good")");
  struct Case {
    std::string key;
    std::string value;
    std::string reason;
  };
  const std::string big = absl::Base64Escape(s2::EncodeStream(std::string((1 << 20) + 1, 'x')));
  const std::vector<Case> cases = {
      {"not-a-fingerprint", absl::StrCat("{", ok_fields, R"(, "resp": ")", GoodResp(), R"("})"),
       "key is not a certificate fingerprint"},
      {"AAAA", absl::StrCat("{", ok_fields, R"(, "resp": ")", GoodResp(), R"("})"),
       "key is not a certificate fingerprint"},
      {kKey, "42", "entry is not an object"},
      {kKey, absl::StrCat(R"({"resp_status": "good", "resp": ")", GoodResp(), R"("})"), "cached_at is missing"},
      {kKey, absl::StrCat(R"({"cached_at": "yesterday", "resp_status": "good", "resp": ")", GoodResp(), R"("})"),
       "cached_at \"yesterday\" is not an RFC 3339 time"},
      {kKey, absl::StrCat(R"({"cached_at": "2023-06-05T23:13:15Z", "resp_status": "fine", "resp": ")", GoodResp(),
                          R"("})"),
       "resp_status \"fine\" is not one of"},
      {kKey, absl::StrCat(R"({"cached_at": "2023-06-05T23:13:15Z", "resp": ")", GoodResp(), R"("})"),
       "resp_status is missing"},
      {kKey, absl::StrCat("{", ok_fields, R"(, "resp_expires": 5, "resp": ")", GoodResp(), R"("})"),
       "resp_expires is not a string"},
      {kKey, absl::StrCat("{", ok_fields, "}"), "resp is missing"},
      {kKey, absl::StrCat("{", ok_fields, R"(, "resp": "!!!")", "}"), "resp is not base64"},
      {kKey, absl::StrCat("{", ok_fields, R"(, "resp": ")", absl::Base64Escape("plain DER"), R"("})"),
       "resp is not a valid S2 stream"},
      {kKey, absl::StrCat("{", ok_fields, R"(, "resp": ")", big, R"("})"), "resp is not a valid S2 stream"},
      {kKey, absl::StrCat("{", ok_fields, R"(, "resp": ")", absl::Base64Escape(s2::EncodeStream("")), R"("})"),
       "resp decodes to an empty response"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.value.substr(0, 120));
    const std::string json = absl::StrCat(R"({")", c.key, R"(": )", c.value, "}");
    absl::StatusOr<ParsedNatsCache> parsed = ParseNatsCacheJson(json);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_TRUE(parsed->entries.empty());
    ASSERT_EQ(parsed->rejections.size(), 1u);
    EXPECT_EQ(parsed->rejections[0].rfind(c.key + ": " + c.reason, 0), 0u) << parsed->rejections[0];
  }
}

TEST(NatsCacheJsonTest, WholeFileErrors) {
  for (const std::string& json : {std::string("not json"), std::string("[1, 2]"), std::string("")}) {
    absl::StatusOr<ParsedNatsCache> parsed = ParseNatsCacheJson(json);
    ASSERT_FALSE(parsed.ok()) << json;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  }
  NatsCacheLimits small;
  small.max_file_bytes = 100;
  absl::StatusOr<ParsedNatsCache> parsed = ParseNatsCacheJson(ReadSeed(), small);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);

  NatsCacheLimits few;
  few.max_entries = 2;
  parsed = ParseNatsCacheJson(ReadSeed(), few);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(), "cache.json has 3 entries, above the limit of 2");

  parsed = ParseNatsCacheJson("{}");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->entries.empty());
}

}  // namespace
}  // namespace sigil::cache
