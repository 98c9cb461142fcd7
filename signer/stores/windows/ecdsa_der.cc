#include "signer/stores/windows/ecdsa_der.h"

namespace sigil::winstore {
namespace {

// DER length octets (X.690 section 8.1.3): short form below 128, else long form.
void AppendLength(std::string& out, size_t length) {
  if (length < 0x80) {
    out.push_back(static_cast<char>(length));
    return;
  }
  std::string bytes;
  while (length > 0) {
    bytes.insert(bytes.begin(), static_cast<char>(length & 0xff));
    length >>= 8;
  }
  out.push_back(static_cast<char>(0x80 | bytes.size()));
  out += bytes;
}

// A non-negative big-endian magnitude as a DER INTEGER: leading zero octets dropped, one 0x00 added when the
// first remaining octet has its high bit set (else it would read as negative).
std::string Integer(std::string_view magnitude) {
  size_t start = 0;
  while (start < magnitude.size() && magnitude[start] == '\0') ++start;
  std::string content(magnitude.substr(start));
  if (content.empty() || (static_cast<unsigned char>(content[0]) & 0x80) != 0) content.insert(content.begin(), '\0');
  std::string out(1, '\x02');
  AppendLength(out, content.size());
  return out + content;
}

}  // namespace

Result<std::string> EcdsaRawToDer(std::string_view raw) {
  if (raw.empty() || raw.size() % 2 != 0) {
    return Status(Code::kInvalidArgument,
                  "an ECDSA signature from NCrypt must be r || s of equal halves; got " + std::to_string(raw.size()) +
                      " bytes");
  }
  const size_t half = raw.size() / 2;
  std::string body = Integer(raw.substr(0, half)) + Integer(raw.substr(half));
  std::string out(1, '\x30');
  AppendLength(out, body.size());
  return out + body;
}

}  // namespace sigil::winstore
