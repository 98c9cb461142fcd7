// S2 streams: the compression the NATS server applies to each OCSP response it keeps in cache.json
// (the `resp` field is base64 of `s2.NewWriter` output, github.com/klauspost/compress/s2). Debian 12
// ships no C or C++ library that reads S2 (libsnappy reads the Snappy block format, but not S2's
// repeat-offset extension nor its stream identifier), so this is a small decoder of the documented format,
// written from the format descriptions, plus a minimal encoder for export.
//
// Stream ("framing") format = the Snappy framing format (snappy/framing_format.txt) with S2's stream
// identifier: a sequence of chunks, each a 1-byte type and a 3-byte little-endian length, then the body:
//   0xff  stream identifier, body "S2sTwO" (S2) or "sNaPpY" (Snappy); must come first, may repeat
//   0x00  compressed data: 4-byte LE masked CRC-32C of the uncompressed data, then one block
//   0x01  uncompressed data: 4-byte LE masked CRC-32C, then the data
//   0x02-0x7f  reserved, unskippable: an error
//   0x80-0xfe  skippable (0xfe = padding; S2 writes its seek index as 0x99): ignored
// masked CRC = ((crc >> 15) | (crc << 17)) + 0xa282ead8, crc = CRC-32C (Castagnoli).
//
// Block format = the Snappy block format (snappy/format_description.txt): a uvarint uncompressed length,
// then elements whose tag's low two bits say what follows:
//   00 literal (length-1 in the tag's upper 6 bits; 60..63 = 1..4 little-endian length bytes follow)
//   01 copy, 11-bit offset (3 high offset bits in the tag's top bits + 1 byte), length 4..11
//   10 copy, 2-byte LE offset, length 1..64      11 copy, 4-byte LE offset, length 1..64
// S2's extension (klauspost/compress s2/README.md "Format Extensions"): a 01 copy whose offset is 0
// repeats the previous copy's offset; its 3-bit length code means 0..4 → 4..8, 5 → 8 + 1 byte,
// 6 → 260 + 2 LE bytes, 7 → 65540 + 3 LE bytes. The first copy of a block cannot be a repeat (the offset
// is not carried across blocks).
//
// What this deliberately does not do: dictionaries (not used by S2 streams), the seek index (skipped),
// and compression (EncodeStream writes uncompressed chunks only; RocksDB compresses on disk anyway).
// Every malformed input is an error, never a crash; output is bounded by `max_decoded_size`.
//
// Thread-safety: pure functions, safe from any thread.
#ifndef SIGIL_CACHE_S2_H_
#define SIGIL_CACHE_S2_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sigil::cache::s2 {

// Default cap on decoded output: far above any OCSP response (a few KiB), far below memory trouble.
inline constexpr size_t kDefaultMaxDecodedSize = 1 << 20;

// Decodes a whole S2 (or Snappy) framed stream. INVALID_ARGUMENT for any structural error (no leading
// stream identifier, truncated chunk, reserved chunk type, malformed block, output above
// `max_decoded_size`); DATA_LOSS when a chunk's CRC does not match its data. An empty input has no stream
// identifier and is INVALID_ARGUMENT.
absl::StatusOr<std::string> DecodeStream(absl::string_view stream,
                                         size_t max_decoded_size = kDefaultMaxDecodedSize);

// Decodes one S2 (or Snappy) block. INVALID_ARGUMENT when malformed or when its declared length is above
// `max_decoded_size`.
absl::StatusOr<std::string> DecodeBlock(absl::string_view block, size_t max_decoded_size = kDefaultMaxDecodedSize);

// Encodes `data` as an S2 stream that klauspost's s2.NewReader (and any Snappy-framing reader that
// accepts the S2 identifier) reads: the "S2sTwO" identifier, then uncompressed chunks of at most 64 KiB
// with their masked CRC-32C. Never fails.
std::string EncodeStream(absl::string_view data);

// CRC-32C (Castagnoli, reflected, init and xor-out 0xffffffff): Crc32c("123456789") == 0xe3069283.
uint32_t Crc32c(absl::string_view data);

// The framing format's masked CRC-32C of `data`.
uint32_t MaskedCrc32c(absl::string_view data);

}  // namespace sigil::cache::s2

#endif  // SIGIL_CACHE_S2_H_
