#include "signer/stores/windows/testing/wine_agent.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sigil::signer::testing {
namespace {

namespace fs = std::filesystem;

std::string TempRoot() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return tmp != nullptr ? tmp : "/tmp";
}

// Environment prefix for a wine command line in `prefix`.
std::string WineEnv(const std::string& prefix) {
  return absl::StrCat("env WINEPREFIX='", prefix, "' WINEDEBUG=-all DISPLAY= WINEDLLOVERRIDES='mscoree,mshtml=' HOME='",
                      TempRoot(), "' ");
}

// Runs `command` with sh; returns its stdout, or INTERNAL with the exit status.
absl::StatusOr<std::string> Run(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return absl::InternalError(absl::StrCat("popen failed: ", command));
  std::string out;
  char buffer[65536];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  int status = pclose(pipe);
  if (status != 0) {
    return absl::InternalError(absl::StrCat("`", command.substr(0, 200), "` exited with ", status, "; output: ",
                                            out.substr(0, 2000)));
  }
  return out;
}

// The prefix booted once per process; every agent gets a copy.
absl::StatusOr<std::string> TemplatePrefix() {
  static std::mutex mu;
  static std::string* booted = nullptr;
  std::lock_guard<std::mutex> lock(mu);
  if (booted != nullptr) return *booted;
  std::string prefix = absl::StrCat(TempRoot(), "/wine-template-", getpid());
  fs::remove_all(prefix);
  auto boot = Run(absl::StrCat(WineEnv(prefix), "wineboot -i >'", prefix, ".log' 2>&1 && ", WineEnv(prefix),
                               "wineserver -w"));
  if (!boot.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("booting a Wine prefix failed (see ", prefix, ".log): ",
                                                      boot.status().message()));
  }
  booted = new std::string(prefix);
  // The template is ~700 MB (Wine's DLLs); it goes with the test process.
  std::atexit([] {
    std::error_code error;
    fs::remove_all(*booted, error);
  });
  return *booted;
}

absl::StatusCode CodeFromName(absl::string_view name) {
  static const std::pair<const char*, absl::StatusCode> kCodes[] = {
      {"INVALID_ARGUMENT", absl::StatusCode::kInvalidArgument},
      {"NOT_FOUND", absl::StatusCode::kNotFound},
      {"PERMISSION_DENIED", absl::StatusCode::kPermissionDenied},
      {"FAILED_PRECONDITION", absl::StatusCode::kFailedPrecondition},
      {"UNIMPLEMENTED", absl::StatusCode::kUnimplemented},
      {"INTERNAL", absl::StatusCode::kInternal},
      {"UNAVAILABLE", absl::StatusCode::kUnavailable},
  };
  for (const auto& [text, code] : kCodes) {
    if (name == text) return code;
  }
  return absl::StatusCode::kInternal;
}

}  // namespace

absl::StatusOr<std::shared_ptr<WineAgent>> WineAgent::Create() {
  std::string agent;
  if (const char* env = std::getenv("SIGIL_WINSTORE_AGENT"); env != nullptr) {
    agent = env;
  } else {
    const char* srcdir = std::getenv("TEST_SRCDIR");
    const char* workspace = std::getenv("TEST_WORKSPACE");
    agent = absl::StrCat(srcdir != nullptr ? srcdir : ".", "/", workspace != nullptr ? workspace : "sigil",
                         "/signer/stores/windows/sigil_winstore.exe");
  }
  if (!fs::exists(agent)) return absl::FailedPreconditionError(absl::StrCat("store agent not found: ", agent));
  auto source = TemplatePrefix();
  if (!source.ok()) return source.status();

  static std::atomic<int> counter{0};
  std::string prefix = absl::StrCat(TempRoot(), "/wine-", getpid(), "-", counter++);
  std::error_code error;
  fs::remove_all(prefix, error);
  // Hard links for the ~700 MB of DLLs Wine never rewrites; real copies of the registry it does rewrite.
  // Symlinks stay symlinks (dosdevices/z: points at /).
  fs::copy(*source, prefix,
           fs::copy_options::recursive | fs::copy_options::create_hard_links | fs::copy_options::copy_symlinks, error);
  if (error) return absl::InternalError(absl::StrCat("copying the Wine prefix: ", error.message()));
  for (const char* reg : {"system.reg", "user.reg", "userdef.reg"}) {
    fs::remove(fs::path(prefix) / reg, error);
    fs::copy_file(fs::path(*source) / reg, fs::path(prefix) / reg, error);
    if (error) return absl::InternalError(absl::StrCat("copying ", reg, ": ", error.message()));
  }
  // One wineserver for the prefix's lifetime (each agent call then starts in ~0.1 s).
  auto server = Run(absl::StrCat(WineEnv(prefix), "wineserver -p </dev/null >/dev/null 2>&1"));
  if (!server.ok()) return server.status();
  return std::shared_ptr<WineAgent>(new WineAgent(prefix, agent));
}

WineAgent::~WineAgent() {
  (void)Run(absl::StrCat(WineEnv(prefix_), "wineserver -k >/dev/null 2>&1; true"));
  std::error_code error;
  fs::remove_all(prefix_, error);
}

absl::StatusOr<std::vector<std::string>> WineAgent::Call(const std::string& request) const {
  static std::atomic<int> counter{0};
  const std::string input = absl::StrCat(prefix_, ".request-", counter++);
  const std::string output = input + ".out";
  {
    std::ofstream out(input, std::ios::binary);
    out << request << "\n";
  }
  // Files, not a pipe: Wine's helper processes may inherit the agent's stdout and keep a pipe open.
  const std::string errors = input + ".err";
  auto slurp = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
  };
  absl::StatusOr<std::string> run;
  std::string text;
  std::string stderr_text;
  // Every request is idempotent, so a wine start-up failure (non-zero exit before the agent answered
  // anything; seen rarely) is retried once.
  for (int attempt = 0; attempt < 2; ++attempt) {
    run = Run(absl::StrCat(WineEnv(prefix_), "wine '", agent_, "' <'", input, "' >'", output, "' 2>'", errors, "'"));
    text = slurp(output);
    stderr_text = slurp(errors);
    if (run.ok() || !text.empty()) break;
  }
  std::remove(input.c_str());
  std::remove(output.c_str());
  std::remove(errors.c_str());
  if (!run.ok()) {
    return absl::InternalError(absl::StrCat(run.status().message(), "; stdout: ", text.substr(0, 500),
                                            "; stderr: ", stderr_text.substr(0, 2000)));
  }
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  for (std::string& line : lines) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
  }
  if (lines.empty()) return absl::InternalError(absl::StrCat("the agent answered nothing to: ", request.substr(0, 80)));
  const std::string last = lines.back();
  lines.pop_back();
  if (last == "ok") return lines;
  if (absl::StartsWith(last, "error ")) {
    std::vector<std::string> parts = absl::StrSplit(last.substr(6), absl::MaxSplits(' ', 1));
    return absl::Status(CodeFromName(parts[0]), parts.size() > 1 ? parts[1] : "");
  }
  return absl::InternalError(absl::StrCat("unexpected agent answer: ", last.substr(0, 200)));
}

std::vector<std::string> WineAgent::Values(const std::vector<std::string>& lines, absl::string_view tag) {
  std::vector<std::string> values;
  const std::string prefix = absl::StrCat(tag, " ");
  for (const std::string& line : lines) {
    if (absl::StartsWith(line, prefix)) values.push_back(line.substr(prefix.size()));
  }
  return values;
}

}  // namespace sigil::signer::testing
