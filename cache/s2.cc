#include "cache/s2.h"

#include <rocksdb/file_checksum.h>

#include <algorithm>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sigil::cache::s2 {
namespace {

constexpr uint8_t kChunkCompressed = 0x00;
constexpr uint8_t kChunkUncompressed = 0x01;
constexpr uint8_t kChunkStreamIdentifier = 0xff;
constexpr absl::string_view kS2Magic = "S2sTwO";
constexpr absl::string_view kSnappyMagic = "sNaPpY";
constexpr size_t kChecksumSize = 4;
// What EncodeStream puts in one chunk: the Snappy framing format's limit, so that strict Snappy-framing
// readers accept the chunks too (S2 allows up to 4 MiB).
constexpr size_t kMaxEncodeChunk = 64 * 1024;

uint32_t Le(const unsigned char* p, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void PutLe32(uint32_t v, std::string* out) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

absl::Status Corrupt(absl::string_view what) { return absl::InvalidArgumentError(absl::StrCat("S2: ", what)); }

// Decodes one block, appending at most `max_decoded_size` bytes to `out`.
absl::Status DecodeBlockInto(absl::string_view block, size_t max_decoded_size, std::string* out) {
  const auto* src = reinterpret_cast<const unsigned char*>(block.data());
  const size_t n = block.size();
  size_t s = 0;

  // Uncompressed length: a uvarint of at most 32 bits (5 bytes).
  uint64_t declared = 0;
  for (int shift = 0;; shift += 7) {
    if (s >= n) return Corrupt("block ends inside its length");
    if (shift > 28) return Corrupt("block length varint is too long");
    const unsigned char b = src[s++];
    declared |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) break;
  }
  if (declared > 0xffffffffu) return Corrupt("block length does not fit in 32 bits");
  if (declared > max_decoded_size) {
    return Corrupt(absl::StrCat("block declares ", declared, " bytes, above the limit of ", max_decoded_size));
  }
  const size_t base = out->size();
  const size_t length = static_cast<size_t>(declared);
  out->resize(base + length);
  char* dst = out->data() + base;
  size_t d = 0;
  size_t last_offset = 0;  // 0: no copy yet in this block, so no repeat is allowed.

  while (s < n) {
    const unsigned char tag = src[s];
    size_t copy_length = 0;
    size_t offset = 0;
    switch (tag & 0x03) {
      case 0x00: {  // Literal.
        uint64_t x = tag >> 2;
        if (x < 60) {
          s += 1;
        } else {
          const int bytes = static_cast<int>(x - 59);  // 1..4
          if (n - s < static_cast<size_t>(1 + bytes)) return Corrupt("literal length runs past the block");
          x = Le(src + s + 1, bytes);
          s += 1 + bytes;
        }
        const uint64_t literal = x + 1;
        if (literal > length - d) return Corrupt("literal runs past the declared length");
        if (literal > n - s) return Corrupt("literal runs past the block");
        std::copy(src + s, src + s + literal, dst + d);
        d += literal;
        s += literal;
        continue;
      }
      case 0x01: {  // Copy with a 1-byte offset, or (offset 0) S2's repeat of the last offset.
        if (n - s < 2) return Corrupt("copy runs past the block");
        const size_t code = (tag >> 2) & 0x07;
        const size_t short_offset = (static_cast<size_t>(tag & 0xe0) << 3) | src[s + 1];
        s += 2;
        if (short_offset != 0) {
          offset = short_offset;
          copy_length = code + 4;
          break;
        }
        switch (code) {
          case 5:
            if (n - s < 1) return Corrupt("repeat length runs past the block");
            copy_length = src[s] + 8;
            s += 1;
            break;
          case 6:
            if (n - s < 2) return Corrupt("repeat length runs past the block");
            copy_length = Le(src + s, 2) + 260;
            s += 2;
            break;
          case 7:
            if (n - s < 3) return Corrupt("repeat length runs past the block");
            copy_length = Le(src + s, 3) + 65540;
            s += 3;
            break;
          default:
            copy_length = code + 4;
        }
        if (last_offset == 0) return Corrupt("repeat offset before any copy in the block");
        offset = last_offset;
        break;
      }
      case 0x02:  // Copy with a 2-byte offset.
        if (n - s < 3) return Corrupt("copy runs past the block");
        copy_length = (tag >> 2) + 1;
        offset = Le(src + s + 1, 2);
        s += 3;
        break;
      default:  // 0x03: copy with a 4-byte offset.
        if (n - s < 5) return Corrupt("copy runs past the block");
        copy_length = (tag >> 2) + 1;
        offset = Le(src + s + 1, 4);
        s += 5;
        break;
    }
    if (offset == 0 || offset > d) return Corrupt("copy offset points outside the decoded data");
    if (copy_length > length - d) return Corrupt("copy runs past the declared length");
    // Byte by byte: a copy may overlap its own output (offset < length repeats a pattern).
    for (size_t end = d + copy_length; d < end; ++d) dst[d] = dst[d - offset];
    last_offset = offset;
  }
  if (d != length) return Corrupt(absl::StrCat("block decodes to ", d, " bytes but declares ", length));
  return absl::OkStatus();
}

}  // namespace

uint32_t Crc32c(absl::string_view data) {
  // RocksDB's public CRC-32C (the file-checksum generator, hardware-accelerated where the CPU allows);
  // Debian's Abseil 20220623 predates absl/crc and no other installed library exports CRC-32C.
  static const std::shared_ptr<rocksdb::FileChecksumGenFactory> factory = rocksdb::GetFileChecksumGenCrc32cFactory();
  rocksdb::FileChecksumGenContext context;
  std::unique_ptr<rocksdb::FileChecksumGenerator> generator = factory->CreateFileChecksumGenerator(context);
  generator->Update(data.data(), data.size());
  generator->Finalize();
  const std::string sum = generator->GetChecksum();  // 4 bytes, big-endian (file_checksum.h).
  uint32_t crc = 0;
  for (char c : sum) crc = (crc << 8) | static_cast<unsigned char>(c);
  return crc;
}

uint32_t MaskedCrc32c(absl::string_view data) {
  const uint32_t crc = Crc32c(data);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

absl::StatusOr<std::string> DecodeBlock(absl::string_view block, size_t max_decoded_size) {
  std::string out;
  absl::Status status = DecodeBlockInto(block, max_decoded_size, &out);
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::string> DecodeStream(absl::string_view stream, size_t max_decoded_size) {
  const auto* p = reinterpret_cast<const unsigned char*>(stream.data());
  const size_t n = stream.size();
  size_t pos = 0;
  bool identified = false;
  std::string out;
  while (pos < n) {
    if (n - pos < 4) return Corrupt("stream ends inside a chunk header");
    const uint8_t type = p[pos];
    const size_t length = Le(p + pos + 1, 3);
    if (n - pos - 4 < length) return Corrupt(absl::StrFormat("chunk 0x%02x runs past the end of the stream", type));
    const absl::string_view body = stream.substr(pos + 4, length);
    pos += 4 + length;

    if (type == kChunkStreamIdentifier) {
      if (body != kS2Magic && body != kSnappyMagic) return Corrupt("unknown stream identifier");
      identified = true;
      continue;
    }
    if (!identified) return Corrupt("stream does not start with a stream identifier");
    if (type == kChunkCompressed || type == kChunkUncompressed) {
      if (body.size() < kChecksumSize) return Corrupt("data chunk is shorter than its checksum");
      const uint32_t want = Le(reinterpret_cast<const unsigned char*>(body.data()), 4);
      const absl::string_view payload = body.substr(kChecksumSize);
      const size_t start = out.size();
      const size_t room = max_decoded_size - start;
      if (type == kChunkCompressed) {
        absl::Status status = DecodeBlockInto(payload, room, &out);
        if (!status.ok()) return status;
      } else {
        if (payload.size() > room) {
          return Corrupt(absl::StrCat("stream decodes to more than the limit of ", max_decoded_size, " bytes"));
        }
        out.append(payload.data(), payload.size());
      }
      if (MaskedCrc32c(absl::string_view(out).substr(start)) != want) {
        return absl::DataLossError("S2: chunk checksum does not match its data");
      }
      continue;
    }
    if (type < 0x80) return Corrupt(absl::StrFormat("reserved unskippable chunk type 0x%02x", type));
    // 0x80-0xfe: skippable (padding, S2 index); ignored.
  }
  if (!identified) return Corrupt("stream has no stream identifier");
  return out;
}

std::string EncodeStream(absl::string_view data) {
  std::string out;
  out.reserve(10 + data.size() + (data.size() / kMaxEncodeChunk + 1) * 8);
  out.push_back(static_cast<char>(kChunkStreamIdentifier));
  out.append("\x06\x00\x00", 3);
  out.append(kS2Magic.data(), kS2Magic.size());
  for (size_t pos = 0; pos < data.size(); pos += kMaxEncodeChunk) {
    const absl::string_view chunk = data.substr(pos, kMaxEncodeChunk);
    const size_t length = chunk.size() + kChecksumSize;
    out.push_back(static_cast<char>(kChunkUncompressed));
    out.push_back(static_cast<char>(length & 0xff));
    out.push_back(static_cast<char>((length >> 8) & 0xff));
    out.push_back(static_cast<char>((length >> 16) & 0xff));
    PutLe32(MaskedCrc32c(chunk), &out);
    out.append(chunk.data(), chunk.size());
  }
  return out;
}

}  // namespace sigil::cache::s2
