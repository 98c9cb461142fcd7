#include "cache/s2.h"

#include <openssl/ocsp.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "cache/s2_test_util.h"
#include "gtest/gtest.h"

namespace sigil::cache::s2 {
namespace {

using ::sigil::cache::s2::testing::Chunk;
using ::sigil::cache::s2::testing::CompressedChunk;
using ::sigil::cache::s2::testing::kS2Identifier;
using ::sigil::cache::s2::testing::ReadSeedCacheJson;

TEST(Crc32cTest, CheckValue) {
  // The CRC catalogue's check value for CRC-32C, and the framing format's mask of the empty string.
  EXPECT_EQ(Crc32c("123456789"), 0xe3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(MaskedCrc32c(""), 0xa282ead8u);
}

// The three `resp` values of the seed's example cache.json (written by the NATS server with
// s2.NewWriter) decode to DER OCSPResponses that OpenSSL parses whole.
TEST(S2Test, SeedResponsesDecodeToOcspResponses) {
  const std::vector<std::pair<std::string, std::string>> seed = ReadSeedCacheJson();
  ASSERT_EQ(seed.size(), 3u);
  for (const auto& [key, resp_b64] : seed) {
    SCOPED_TRACE(key);
    std::string stream;
    ASSERT_TRUE(absl::Base64Unescape(resp_b64, &stream));
    absl::StatusOr<std::string> der = DecodeStream(stream);
    ASSERT_TRUE(der.ok()) << der.status();
    EXPECT_GT(der->size(), stream.size());  // The seed logs a compression ratio of about 0.85.
    const auto* p = reinterpret_cast<const unsigned char*>(der->data());
    OCSP_RESPONSE* response = d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der->size()));
    ASSERT_NE(response, nullptr);
    EXPECT_EQ(p, reinterpret_cast<const unsigned char*>(der->data()) + der->size()) << "trailing bytes";
    EXPECT_EQ(OCSP_response_status(response), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    OCSP_RESPONSE_free(response);
  }
}

TEST(S2Test, RoundTripAcrossChunkBoundaries) {
  for (size_t size : {0, 1, 100, 65535, 65536, 65537, 200000}) {
    SCOPED_TRACE(size);
    std::string data(size, '\0');
    for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>((i * 7919) >> 3);
    const std::string stream = EncodeStream(data);
    EXPECT_EQ(stream.substr(0, 10), kS2Identifier);
    absl::StatusOr<std::string> decoded = DecodeStream(stream);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, data);
  }
}

TEST(S2Test, BlockElements) {
  // "abcd" literal, copy(offset 4, length 4), repeat(length 8): "abcd" x 4.
  const std::string repeat_block("\x10\x0c" "abcd" "\x01\x04" "\x11\x00", 10);
  absl::StatusOr<std::string> out = DecodeBlock(repeat_block);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "abcdabcdabcdabcd");

  // Repeat with a 1-byte extra length (code 5: 8 + 2 = 10) after copy2 (offset 2, length 2).
  const std::string repeat5("\x10\x0c" "abcd" "\x06\x02\x00" "\x15\x00\x02", 12);
  out = DecodeBlock(repeat5);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "abcdcdcdcdcdcdcd");

  // Repeat with a 2-byte extra length (code 6: 260 + 1 = 261) after copy4 (offset 1, length 3).
  std::string repeat6 = "\x89\x02";  // uvarint 265
  repeat6 += std::string("\x00" "z", 2);  // literal "z"
  repeat6 += std::string("\x0b\x01\x00\x00\x00", 5);  // copy4 offset 1, length 3
  repeat6 += std::string("\x19\x00\x01\x00", 4);      // repeat, 260 + 1
  out = DecodeBlock(repeat6);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, std::string(265, 'z'));

  // Literal with a 1-byte length (tag 60): 61 bytes.
  std::string long_literal = "\x3d\xf0\x3c" + std::string(61, 'q');
  out = DecodeBlock(long_literal);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, std::string(61, 'q'));
}

TEST(S2Test, SkippableChunksSnappyIdentifierAndConcatenation) {
  std::string stream(kS2Identifier);
  stream += Chunk(0xfe, std::string(7, '\0'));  // padding
  stream += CompressedChunk(std::string("\x03\x08" "abc", 5), "abc");
  stream += Chunk(0x99, "s2idx...");  // S2 index: skippable
  stream += Chunk(0xff, "sNaPpY");    // a second (Snappy) stream concatenated
  stream += Chunk(0x01, testing::WithCrc("def"));
  absl::StatusOr<std::string> out = DecodeStream(stream);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "abcdef");
}

struct MalformedCase {
  const char* name;
  std::string input;
  bool stream;  // DecodeStream (true) or DecodeBlock (false)
  absl::StatusCode code;
};

TEST(S2Test, MalformedInputsAreRejected) {
  const std::string abc_block("\x03\x08" "abc", 5);
  std::string bad_crc = kS2Identifier + Chunk(0x00, std::string("\x00\x00\x00\x00", 4) + abc_block);
  const std::vector<MalformedCase> cases = {
      {"empty stream", "", true, absl::StatusCode::kInvalidArgument},
      {"no identifier", Chunk(0x01, testing::WithCrc("abc")), true, absl::StatusCode::kInvalidArgument},
      {"unknown identifier", Chunk(0xff, "S2sTwX"), true, absl::StatusCode::kInvalidArgument},
      {"identifier only, wrong length", Chunk(0xff, "S2sTwO!"), true, absl::StatusCode::kInvalidArgument},
      {"truncated header", kS2Identifier + std::string("\x01\x05", 2), true, absl::StatusCode::kInvalidArgument},
      {"chunk past end", kS2Identifier + std::string("\x01\x10\x00\x00" "abcd", 8), true,
       absl::StatusCode::kInvalidArgument},
      {"reserved chunk type", kS2Identifier + Chunk(0x02, "x"), true, absl::StatusCode::kInvalidArgument},
      {"data chunk shorter than crc", kS2Identifier + Chunk(0x01, "ab"), true, absl::StatusCode::kInvalidArgument},
      {"bad crc", bad_crc, true, absl::StatusCode::kDataLoss},
      {"uncompressed over limit", kS2Identifier + Chunk(0x01, testing::WithCrc(std::string(2 << 20, 'a'))), true,
       absl::StatusCode::kInvalidArgument},
      {"empty block", "", false, absl::StatusCode::kInvalidArgument},
      {"varint too long", std::string("\xff\xff\xff\xff\xff\x01", 6), false, absl::StatusCode::kInvalidArgument},
      {"varint over 32 bits", std::string("\xff\xff\xff\xff\x1f", 5), false, absl::StatusCode::kInvalidArgument},
      {"declared length over limit", std::string("\x80\x80\x80\x01", 4), false, absl::StatusCode::kInvalidArgument},
      {"repeat first", std::string("\x08\x0c" "abcd" "\x01\x00", 8), false, absl::StatusCode::kInvalidArgument},
      {"copy offset beyond output", std::string("\x08\x0c" "abcd" "\x01\x05", 8), false,
       absl::StatusCode::kInvalidArgument},
      {"copy offset zero (copy2)", std::string("\x08\x0c" "abcd" "\x0e\x00\x00", 9), false,
       absl::StatusCode::kInvalidArgument},
      {"copy past declared length", std::string("\x06\x0c" "abcd" "\x05\x04", 8), false,
       absl::StatusCode::kInvalidArgument},
      {"literal past declared length", std::string("\x02\x0c" "abcd", 6), false, absl::StatusCode::kInvalidArgument},
      {"literal past block", std::string("\x08\x1c" "abcd", 6), false, absl::StatusCode::kInvalidArgument},
      {"literal length bytes missing", std::string("\x08\xf0", 2), false, absl::StatusCode::kInvalidArgument},
      {"short of declared length", std::string("\x08\x0c" "abcd", 6), false, absl::StatusCode::kInvalidArgument},
      {"copy1 truncated", std::string("\x08\x0c" "abcd" "\x01", 7), false, absl::StatusCode::kInvalidArgument},
      {"copy4 truncated", std::string("\x08\x0c" "abcd" "\x03\x01\x00", 9), false,
       absl::StatusCode::kInvalidArgument},
      {"repeat length truncated", std::string("\x20\x0c" "abcd" "\x01\x04" "\x1d\x00\x01", 11), false,
       absl::StatusCode::kInvalidArgument},
  };
  for (const MalformedCase& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<std::string> out = c.stream ? DecodeStream(c.input) : DecodeBlock(c.input);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), c.code) << out.status();
  }
}

TEST(S2Test, LimitAppliesToTheWholeStream) {
  const std::string data(1000, 'x');
  std::string stream = EncodeStream(data) + Chunk(0x01, testing::WithCrc(data));
  EXPECT_TRUE(DecodeStream(stream, 2000).ok());
  absl::StatusOr<std::string> out = DecodeStream(stream, 1999);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sigil::cache::s2
