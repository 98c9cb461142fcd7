#include "cache/s2_test_util.h"

#include <fstream>
#include <sstream>

#include "cache/s2.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace sigil::cache::s2::testing {

std::string Chunk(uint8_t type, absl::string_view body) {
  std::string out;
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(body.size() & 0xff));
  out.push_back(static_cast<char>((body.size() >> 8) & 0xff));
  out.push_back(static_cast<char>((body.size() >> 16) & 0xff));
  out.append(body.data(), body.size());
  return out;
}

std::string WithCrc(absl::string_view data) {
  const uint32_t crc = MaskedCrc32c(data);
  std::string out;
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  out.append(data.data(), data.size());
  return out;
}

std::string CompressedChunk(absl::string_view block, absl::string_view decoded) {
  std::string body = WithCrc(decoded).substr(0, 4);
  body.append(block.data(), block.size());
  return Chunk(0x00, body);
}

std::vector<std::pair<std::string, std::string>> ReadSeedCacheJson() {
  std::ifstream in(kSeedCacheJsonPath, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << kSeedCacheJsonPath;
  std::stringstream buffer;
  buffer << in.rdbuf();
  google::protobuf::Struct file;
  auto status = google::protobuf::util::JsonStringToMessage(buffer.str(), &file);
  EXPECT_TRUE(status.ok()) << status.ToString();
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, value] : file.fields()) {
    out.emplace_back(key, value.struct_value().fields().at("resp").string_value());
  }
  return out;
}

}  // namespace sigil::cache::s2::testing
