#include "common/config.h"

#include "absl/strings/str_cat.h"
#include "common/openssl_util.h"
#include "common/status_macros.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace sigil {
namespace {

// Rewrites the seeds' boolean short forms into their long forms, at any depth.
void ExpandShortForms(google::protobuf::Struct* s) {
  for (auto& [key, value] : *s->mutable_fields()) {
    if (value.kind_case() == google::protobuf::Value::kBoolValue) {
      bool b = value.bool_value();
      if (key == "ocsp_peer") {
        google::protobuf::Struct long_form;
        (*long_form.mutable_fields())["verify"].set_bool_value(b);
        *value.mutable_struct_value() = long_form;
      } else if (key == "ocsp_cache") {
        google::protobuf::Struct long_form;
        (*long_form.mutable_fields())["type"].set_string_value(b ? "local" : "none");
        *value.mutable_struct_value() = long_form;
      }
    } else if (value.kind_case() == google::protobuf::Value::kStructValue) {
      ExpandShortForms(value.mutable_struct_value());
    } else if (value.kind_case() == google::protobuf::Value::kListValue) {
      for (auto& item : *value.mutable_list_value()->mutable_values()) {
        if (item.kind_case() == google::protobuf::Value::kStructValue) {
          ExpandShortForms(item.mutable_struct_value());
        }
      }
    }
  }
}

}  // namespace

absl::Status ParseJsonConfig(absl::string_view json, absl::string_view what,
                             google::protobuf::Message* message) {
  message->Clear();
  google::protobuf::Struct tree;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(std::string(json), &tree, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": not valid JSON: ", status.message().as_string()));
  }
  ExpandShortForms(&tree);
  std::string expanded;
  status = google::protobuf::util::MessageToJsonString(tree, &expanded);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat(what, ": ", status.message().as_string()));
  }
  status = google::protobuf::util::JsonStringToMessage(expanded, message, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", status.message().as_string()));
  }
  return absl::OkStatus();
}

absl::Status LoadJsonConfigFile(const std::string& path, google::protobuf::Message* message) {
  SIGIL_ASSIGN_OR_RETURN(std::string json, ReadFileToString(path, 4 << 20));
  return ParseJsonConfig(json, absl::StrCat("config '", path, "'"), message);
}

}  // namespace sigil
