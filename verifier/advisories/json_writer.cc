#include "verifier/advisories/json_writer.h"

#include <cstdint>
#include <utility>

namespace sigil::verifier::advisories {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void AppendUnicodeEscape(uint32_t code, std::string* out) {
  out->append("\\u");
  for (int shift = 12; shift >= 0; shift -= 4) out->push_back(kHex[(code >> shift) & 0xF]);
}

// Length of the valid UTF-8 sequence starting at s[i] (1..4), or 0 when it is not valid UTF-8
// (overlong forms, surrogates and code points above U+10FFFF are invalid, as in Go's utf8 package).
size_t Utf8SequenceLength(absl::string_view s, size_t i, uint32_t* code) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(i);
  size_t len;
  uint32_t min;
  if (b0 < 0x80) {
    *code = b0;
    return 1;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2, *code = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, *code = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, *code = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    *code = (*code << 6) | (byte(i + k) & 0x3F);
  }
  if (*code < min || *code > 0x10FFFF || (*code >= 0xD800 && *code <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

void AppendJsonString(absl::string_view value, std::string* out) {
  out->push_back('"');
  for (size_t i = 0; i < value.size();) {
    uint32_t code = 0;
    const size_t len = Utf8SequenceLength(value, i, &code);
    if (len == 0) {
      out->append("\\ufffd");
      ++i;
      continue;
    }
    switch (code) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '<':
      case '>':
      case '&':
      case 0x2028:
      case 0x2029:
        AppendUnicodeEscape(code, out);
        break;
      default:
        if (code < 0x20) {
          AppendUnicodeEscape(code, out);
        } else {
          out->append(value.data() + i, len);
        }
    }
    i += len;
  }
  out->push_back('"');
}

void JsonObjectWriter::Key(absl::string_view key) {
  if (!first_) json_.push_back(',');
  first_ = false;
  AppendJsonString(key, &json_);
  json_.push_back(':');
}

JsonObjectWriter& JsonObjectWriter::String(absl::string_view key, absl::string_view value) {
  Key(key);
  AppendJsonString(value, &json_);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Bool(absl::string_view key, bool value) {
  Key(key);
  json_.append(value ? "true" : "false");
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Raw(absl::string_view key, absl::string_view json) {
  Key(key);
  json_.append(json.data(), json.size());
  return *this;
}

std::string JsonObjectWriter::Finish() {
  json_.push_back('}');
  return std::move(json_);
}

}  // namespace sigil::verifier::advisories
