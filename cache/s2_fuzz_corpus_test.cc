// Replays the fuzz corpus (cache/testdata/s2_corpus/) through the fuzz target's entry point, so that CI
// runs every corpus input under the normal test build (tools/fuzz.sh runs the real fuzzer).
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

TEST(S2FuzzCorpusTest, EveryCorpusInputRuns) {
  int inputs = 0;
  for (const auto& entry : std::filesystem::directory_iterator("cache/testdata/s2_corpus")) {
    if (!entry.is_regular_file()) continue;
    SCOPED_TRACE(entry.path().string());
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string data = buffer.str();
    EXPECT_EQ(LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size()), 0);
    ++inputs;
  }
  EXPECT_GE(inputs, 10);
}

}  // namespace
