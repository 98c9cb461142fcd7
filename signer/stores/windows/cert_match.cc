#include "signer/stores/windows/cert_match.h"

#include <algorithm>

#include "signer/stores/windows/encoding.h"

namespace sigil::winstore {
namespace {

struct Candidate {
  size_t index;
  bool valid;
  int64_t not_before;
  const std::string* sha256;
};

}  // namespace

Result<MatchBy> ParseMatchBy(std::string_view value) {
  if (value.empty() || EqualsIgnoreAsciiCase(value, "Subject")) return MatchBy::kSubject;
  if (EqualsIgnoreAsciiCase(value, "Issuer")) return MatchBy::kIssuer;
  if (EqualsIgnoreAsciiCase(value, "Thumbprint")) return MatchBy::kThumbprint;
  return Status(Code::kInvalidArgument, "cert match by type not implemented");
}

const char* MatchByName(MatchBy by) {
  switch (by) {
    case MatchBy::kSubject:
      return "Subject";
    case MatchBy::kIssuer:
      return "Issuer";
    case MatchBy::kThumbprint:
      return "Thumbprint";
  }
  return "?";
}

std::string NormalizeThumbprint(std::string_view term) {
  std::string out;
  for (char c : term) {
    if (c == ':' || c == ' ') continue;
    out.push_back((c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return out;
}

bool ValidAt(const CertFacts& facts, int64_t now_unix) {
  return facts.not_before_unix <= now_unix && now_unix <= facts.not_after_unix;
}

bool Matches(const CertFacts& facts, const MatchSpec& spec) {
  switch (spec.by) {
    case MatchBy::kThumbprint:
      return facts.thumbprint == NormalizeThumbprint(spec.term);
    case MatchBy::kSubject:
    case MatchBy::kIssuer: {
      const std::vector<std::string>& values =
          spec.by == MatchBy::kSubject ? facts.subject_values : facts.issuer_values;
      return std::any_of(values.begin(), values.end(),
                         [&](const std::string& value) { return EqualsIgnoreAsciiCase(value, spec.term); });
    }
  }
  return false;
}

Result<Selection> SelectCertificate(const std::vector<CertFacts>& candidates, const MatchSpec& spec,
                                    int64_t now_unix) {
  std::vector<Candidate> matches;
  size_t skipped_invalid = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const CertFacts& facts = candidates[i];
    if (!Matches(facts, spec)) continue;
    bool valid = ValidAt(facts, now_unix);
    if (spec.skip_invalid && !valid) {
      ++skipped_invalid;
      continue;
    }
    matches.push_back(Candidate{i, valid, facts.not_before_unix, &facts.sha256});
  }
  if (matches.empty()) {
    std::string message = std::string("no certificate matches ") + MatchByName(spec.by) + " \"" + spec.term +
                          "\" among " + std::to_string(candidates.size()) + " certificate(s) with a key";
    if (skipped_invalid > 0) {
      message += " (" + std::to_string(skipped_invalid) +
                 " matching certificate(s) skipped as outside their validity period)";
    }
    return Status(Code::kNotFound, message);
  }
  std::sort(matches.begin(), matches.end(), [](const Candidate& a, const Candidate& b) {
    if (a.valid != b.valid) return a.valid;
    if (a.not_before != b.not_before) return a.not_before > b.not_before;
    return *a.sha256 < *b.sha256;
  });
  Selection selection;
  selection.index = matches[0].index;
  const std::string count = std::to_string(matches.size());
  if (matches.size() == 1) {
    selection.reason = "the only match";
  } else if (matches[0].valid != matches[1].valid) {
    selection.reason = "the only currently valid one of " + count + " matches";
  } else if (matches[0].not_before != matches[1].not_before) {
    selection.reason = "the latest NotBefore of " + count + (matches[0].valid ? " valid" : "") + " matches";
  } else {
    selection.reason = "the lowest SHA-256 fingerprint of " + count + " matches with the same NotBefore";
  }
  if (skipped_invalid > 0) {
    selection.reason += "; " + std::to_string(skipped_invalid) + " skipped as outside their validity period";
  }
  return selection;
}

}  // namespace sigil::winstore
