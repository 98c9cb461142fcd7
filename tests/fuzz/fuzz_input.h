// The framing Sigil's libFuzzer targets use to carry several values in one input (testonly, header only):
// fixed-width little-endian integers and byte strings prefixed by a 16-bit little-endian length. Reading
// past the end yields zeros and empty strings, so every byte string is a valid input. FuzzInputWriter
// produces the same framing for the seed corpora (tests/fuzz/make_fuzz_corpora.cc).
//
// Thread-safety: none; one reader or writer per thread.
#ifndef SIGIL_TESTS_FUZZ_FUZZ_INPUT_H_
#define SIGIL_TESTS_FUZZ_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace sigil::testing {

class FuzzInput {
 public:
  // Borrows `data`, which must outlive the reader and every view it returns.
  explicit FuzzInput(absl::string_view data) : rest_(data) {}

  uint8_t Byte() { return static_cast<uint8_t>(Uint(1)); }
  uint64_t Uint64() { return Uint(8); }

  // A byte string of up to 65535 bytes (shorter when the input ends first).
  absl::string_view Blob() {
    const size_t length = Uint(2);
    absl::string_view blob = rest_.substr(0, length);
    rest_.remove_prefix(blob.size());
    return blob;
  }

  // Everything not read yet.
  absl::string_view Rest() {
    absl::string_view all = rest_;
    rest_ = {};
    return all;
  }

 private:
  uint64_t Uint(int bytes) {
    uint64_t value = 0;
    for (int i = 0; i < bytes && !rest_.empty(); ++i) {
      value |= static_cast<uint64_t>(static_cast<uint8_t>(rest_[0])) << (8 * i);
      rest_.remove_prefix(1);
    }
    return value;
  }

  absl::string_view rest_;
};

class FuzzInputWriter {
 public:
  FuzzInputWriter& Byte(uint8_t value) { return Uint(value, 1); }
  FuzzInputWriter& Uint64(uint64_t value) { return Uint(value, 8); }
  // `blob` must be at most 65535 bytes (longer ones are cut, which the reader would do too).
  FuzzInputWriter& Blob(absl::string_view blob) {
    blob = blob.substr(0, 0xffff);
    Uint(blob.size(), 2);
    out_.append(blob.data(), blob.size());
    return *this;
  }
  FuzzInputWriter& Rest(absl::string_view rest) {
    out_.append(rest.data(), rest.size());
    return *this;
  }
  const std::string& data() const { return out_; }

 private:
  FuzzInputWriter& Uint(uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) out_.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
    return *this;
  }

  std::string out_;
};

}  // namespace sigil::testing

#endif  // SIGIL_TESTS_FUZZ_FUZZ_INPUT_H_
