// Replays a fuzz corpus through a fuzz target's entry point (LLVMFuzzerTestOneInput, linked in from the
// target's *_fuzz library), so CI runs every kept input under the normal gcc build and under the sanitizer
// configs; tools/fuzz.sh runs the real fuzzers. A target reports a broken property by aborting, which
// fails this test with the input's name in the log.
//
// Usage (one cc_test per target): args = ["CORPUS_DIR", "MIN_INPUTS"], CORPUS_DIR relative to the runfiles
// root (the repository layout), e.g. "verifier/ocsp/testdata/ocsp_response_corpus".
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::string corpus_dir;
int min_inputs = 1;

TEST(FuzzCorpusTest, EveryCorpusInputRuns) {
  int inputs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpus_dir)) {
    if (!entry.is_regular_file()) continue;
    SCOPED_TRACE(entry.path().string());
    std::fprintf(stderr, "replaying %s\n", entry.path().c_str());
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string data = buffer.str();
    EXPECT_EQ(LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size()), 0);
    ++inputs;
  }
  EXPECT_GE(inputs, min_inputs);
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR MIN_INPUTS\n", argv[0]);
    return 2;
  }
  corpus_dir = argv[1];
  min_inputs = std::atoi(argv[2]);
  return RUN_ALL_TESTS();
}
