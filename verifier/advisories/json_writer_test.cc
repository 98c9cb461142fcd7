#include "verifier/advisories/json_writer.h"

#include <string>

#include "gtest/gtest.h"

namespace sigil::verifier::advisories {
namespace {

struct EscapeCase {
  const char* name;
  std::string in;
  std::string out;
};

class EscapeTest : public ::testing::TestWithParam<EscapeCase> {};

TEST_P(EscapeTest, MatchesGoEncodingJson) {
  std::string out;
  AppendJsonString(GetParam().in, &out);
  EXPECT_EQ(out, GetParam().out);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, EscapeTest,
    ::testing::Values(EscapeCase{"Plain", "CN=UserA1,O=Testnats", "\"CN=UserA1,O=Testnats\""},
                      EscapeCase{"Empty", "", "\"\""},
                      EscapeCase{"QuoteBackslash", "a\"b\\c", "\"a\\\"b\\\\c\""},
                      EscapeCase{"ShortControls", "\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\""},
                      EscapeCase{"OtherControls", std::string("\x01\x1f\0", 3), "\"\\u0001\\u001f\\u0000\""},
                      EscapeCase{"Html", "<a&b>", "\"\\u003ca\\u0026b\\u003e\""},
                      EscapeCase{"LineSeparators", "\xe2\x80\xa8\xe2\x80\xa9", "\"\\u2028\\u2029\""},
                      EscapeCase{"Utf8Kept", "CN=J\xc3\xb6rg \xe2\x82\xac \xf0\x9f\x94\x92",
                                 "\"CN=J\xc3\xb6rg \xe2\x82\xac \xf0\x9f\x94\x92\""},
                      EscapeCase{"InvalidByte", "a\xff" "b", "\"a\\ufffdb\""},
                      EscapeCase{"TruncatedSequence", "a\xc3", "\"a\\ufffd\""},
                      EscapeCase{"Overlong", "\xc0\xaf", "\"\\ufffd\\ufffd\""},
                      EscapeCase{"Surrogate", "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""}),
    [](const ::testing::TestParamInfo<EscapeCase>& info) { return info.param.name; });

TEST(JsonObjectWriterTest, KeepsMemberOrder) {
  std::string inner = JsonObjectWriter().String("z", "1").String("a", "2").Finish();
  std::string json = JsonObjectWriter().String("type", "t").Raw("peer", inner).Bool("allowed", true).Finish();
  EXPECT_EQ(json, R"({"type":"t","peer":{"z":"1","a":"2"},"allowed":true})");
}

TEST(JsonObjectWriterTest, EmptyObject) { EXPECT_EQ(JsonObjectWriter().Finish(), "{}"); }

}  // namespace
}  // namespace sigil::verifier::advisories
