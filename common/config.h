// Daemon configuration loading: a JSON file mapped onto a config/v1 proto message with protobuf's JSON
// parser. Unknown fields are an error naming the field. The seeds' boolean short forms are expanded first:
// `"ocsp_peer": true` means `{"verify": true}`, `"ocsp_cache": true|false` means `{"type": "local"|"none"}`.
//
// This only maps JSON onto the proto; each daemon validates the message once into its own options.
#ifndef SIGIL_COMMON_CONFIG_H_
#define SIGIL_COMMON_CONFIG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace sigil {

// Parses `json` into `message` (cleared first). INVALID_ARGUMENT with the parser's message (which names
// an unknown field or a wrongly typed value) prefixed by `what`.
absl::Status ParseJsonConfig(absl::string_view json, absl::string_view what,
                             google::protobuf::Message* message);

// Reads `path` and parses it as above. NOT_FOUND / FAILED_PRECONDITION when the file cannot be read.
absl::Status LoadJsonConfigFile(const std::string& path, google::protobuf::Message* message);

}  // namespace sigil

#endif  // SIGIL_COMMON_CONFIG_H_
