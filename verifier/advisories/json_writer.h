// JsonObjectWriter: writes one JSON object (RFC 8259) with its members in the order they are added.
//
// Why not protobuf's JSON printer (google::protobuf::Struct): a Struct is a map and prints its keys
// sorted, and the advisory events must keep the reference server's member order
// (type, id, timestamp, kind, peer|link, ..., server, reason) byte for byte. This writer only appends; it
// does not check for duplicate keys.
//
// Strings are escaped as Go's encoding/json escapes them (the reference server is written in Go): '"',
// '\\', control characters (\b \f \n \r \t short forms, others \u00XX), and the HTML-sensitive '<', '>',
// '&' and U+2028/U+2029 as \u003c, \u003e, \u0026, \u2028, \u2029. Invalid UTF-8 bytes become \ufffd.
//
// Thread-safety: none; one writer per thread.
#ifndef SIGIL_VERIFIER_ADVISORIES_JSON_WRITER_H_
#define SIGIL_VERIFIER_ADVISORIES_JSON_WRITER_H_

#include <string>

#include "absl/strings/string_view.h"

namespace sigil::verifier::advisories {

// Appends `value` as a quoted, escaped JSON string to `out`.
void AppendJsonString(absl::string_view value, std::string* out);

class JsonObjectWriter {
 public:
  JsonObjectWriter() : json_("{") {}

  // Adds a string member.
  JsonObjectWriter& String(absl::string_view key, absl::string_view value);
  // Adds a boolean member.
  JsonObjectWriter& Bool(absl::string_view key, bool value);
  // Adds a member whose value is already JSON (e.g. another writer's Finish()); not checked.
  JsonObjectWriter& Raw(absl::string_view key, absl::string_view json);

  // Closes the object and returns it. The writer must not be used afterwards.
  std::string Finish();

 private:
  void Key(absl::string_view key);

  std::string json_;
  bool first_ = true;
};

}  // namespace sigil::verifier::advisories

#endif  // SIGIL_VERIFIER_ADVISORIES_JSON_WRITER_H_
