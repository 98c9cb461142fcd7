#include "verifier/stapling/staple_options.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace sigil::verifier::stapling {

absl::StatusOr<v1::StapleMode> ParseStapleMode(absl::string_view mode, absl::string_view where) {
  const std::string m = absl::AsciiStrToLower(mode);
  if (m.empty() || m == "auto") return v1::AUTO;
  if (m == "must") return v1::MUST;
  if (m == "always") return v1::ALWAYS;
  if (m == "never") return v1::NEVER;
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": unknown OCSP stapling mode \"", mode, "\" (auto, must, always or never)"));
}

bool ModeStaples(v1::StapleMode mode, bool must_staple) {
  switch (mode) {
    case v1::ALWAYS:
      return true;
    case v1::AUTO:
    case v1::MUST:
      return must_staple;
    default:
      return false;
  }
}

bool ModeStopsServing(v1::StapleMode mode) { return mode == v1::MUST || mode == v1::ALWAYS; }

absl::StatusOr<StapleManagerOptions> ValidateStaplingConfig(const config::v1::VerifierConfig& config) {
  StapleManagerOptions options;
  options.store_dir = config.store_dir();
  options.profiles["default"] = StapleProfile{};
  for (const auto& [name, profile] : config.profiles()) {
    const std::string where = absl::StrCat("profile \"", name, "\" ocsp.mode");
    StapleProfile out;
    absl::StatusOr<v1::StapleMode> mode = ParseStapleMode(profile.ocsp().mode(), where);
    if (!mode.ok()) return mode.status();
    out.mode = *mode;
    out.url = profile.ocsp().url();
    if (!out.url.empty() && !absl::StartsWithIgnoreCase(out.url, "http://") &&
        !absl::StartsWithIgnoreCase(out.url, "https://")) {
      return absl::InvalidArgumentError(
          absl::StrCat("profile \"", name, "\" ocsp.url: \"", out.url, "\" is not an http or https URL"));
    }
    options.profiles[name] = std::move(out);
  }
  return options;
}

}  // namespace sigil::verifier::stapling
