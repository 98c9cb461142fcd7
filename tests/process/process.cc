#include "tests/process/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tools/cpp/runfiles/runfiles.h"

extern char** environ;

namespace sigil {
namespace testing {
namespace {

// How often the Wait* calls look at the child and its log.
constexpr absl::Duration kPollInterval = absl::Milliseconds(20);

// A file descriptor closed on scope exit.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }

 private:
  const int fd_;
};

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

bool WriteWholeFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  return !out.fail();
}

// The name part of "NAME=value".
absl::string_view EnvName(absl::string_view entry) { return entry.substr(0, entry.find('=')); }

// This process's environment with `overrides` ("NAME=value") on top.
std::vector<std::string> ChildEnvironment(const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    absl::string_view entry(*e);
    bool overridden = false;
    for (const std::string& o : overrides) overridden = overridden || EnvName(o) == EnvName(entry);
    if (!overridden) env.emplace_back(entry);
  }
  env.insert(env.end(), overrides.begin(), overrides.end());
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// In the child, between fork and exec: only async-signal-safe calls. Makes `from` also `to`, without
// close-on-exec (dup2 onto itself would keep the flag, so that case clears it).
void ChildRedirect(int from, int to) {
  if (from == to) {
    fcntl(to, F_SETFD, 0);
  } else {
    dup2(from, to);
  }
}

// In the child: writes `message` (a NUL-terminated literal) to stderr; async-signal-safe.
void ChildWrite(const char* message) {
  ssize_t unused = write(STDERR_FILENO, message, strlen(message));
  (void)unused;
}

}  // namespace

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/tmp";
}

std::string Runfile(absl::string_view relative) {
  using ::bazel::tools::cpp::runfiles::Runfiles;
  // Created once: the runfiles manifest or directory does not change while the test runs.
  static const Runfiles* const runfiles = Runfiles::CreateForTest();
  if (runfiles != nullptr) {
    const char* workspace = std::getenv("TEST_WORKSPACE");
    std::string path = runfiles->Rlocation(absl::StrCat(workspace != nullptr ? workspace : "sigil", "/", relative));
    if (!path.empty() && access(path.c_str(), F_OK) == 0) return path;
  }
  return std::string(relative);
}

// Hand-written fork/exec rather than posix_spawn: posix_spawn cannot set PR_SET_PDEATHSIG in the child, and
// without it a test killed by Bazel's timeout would leave its daemons running (holding ports and files).
absl::StatusOr<std::unique_ptr<Process>> Process::Spawn(std::vector<std::string> argv, const SpawnOptions& options) {
  static std::atomic<int> counter{0};
  if (argv.empty()) return absl::InvalidArgumentError("Process::Spawn: empty argv");
  if (access(argv[0].c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("Process::Spawn: ", argv[0], " is not an executable file: ",
                                            std::strerror(errno)));
  }
  std::string log_path = options.log_path;
  if (log_path.empty()) {
    log_path = absl::StrCat(TempDir(), "/", argv[0].substr(argv[0].rfind('/') + 1), "-", counter++, ".log");
  }
  // Everything the child needs is prepared here: after fork only async-signal-safe calls.
  ScopedFd log_fd(open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (log_fd.get() < 0) {
    return absl::InternalError(absl::StrCat("cannot create ", log_path, ": ", std::strerror(errno)));
  }
  std::string stdin_path = "/dev/null";
  if (options.stdin_data.has_value()) {
    stdin_path = log_path + ".in";
    if (!WriteWholeFile(stdin_path, *options.stdin_data)) {
      return absl::InternalError(absl::StrCat("cannot write ", stdin_path));
    }
  }
  ScopedFd stdin_fd(open(stdin_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (stdin_fd.get() < 0) {
    return absl::InternalError(absl::StrCat("cannot open ", stdin_path, ": ", std::strerror(errno)));
  }
  std::vector<char*> child_argv = CStrings(argv);
  std::vector<std::string> env_strings = ChildEnvironment(options.env);
  std::vector<char*> child_env = CStrings(env_strings);

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork failed: ", std::strerror(errno)));
  if (pid == 0) {
    // Die with the test process even if it is killed before its destructors run; if it already died between
    // fork and prctl, the signal will never come, so stop here.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    ChildRedirect(stdin_fd.get(), STDIN_FILENO);
    ChildRedirect(log_fd.get(), STDOUT_FILENO);
    ChildRedirect(log_fd.get(), STDERR_FILENO);
    // The test may block signals (gRPC, gtest death tests); the child starts with none blocked and default SIGPIPE.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    execve(child_argv[0], child_argv.data(), child_env.data());
    ChildWrite("sigil::testing::Process: execve failed\n");
    _exit(127);
  }
  return std::unique_ptr<Process>(new Process(pid, std::move(log_path)));
}

Process::~Process() { Kill(); }

std::string Process::Log() const { return ReadWholeFile(log_path_); }

std::optional<int> Process::ExitStatus() {
  if (!reaped_) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
    reaped_ = true;
    exit_status_ = status;
  }
  return exit_status_;
}

bool Process::Running() { return !ExitStatus().has_value(); }

void Process::Signal(int sig) {
  if (!reaped_) kill(pid_, sig);
}

void Process::Kill() {
  if (reaped_) return;
  kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  exit_status_ = status;
}

absl::StatusOr<int> Process::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (std::optional<int> status = ExitStatus(); status.has_value()) return *status;
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat("pid ", pid_, " still running ",
                                                      absl::FormatDuration(timeout), " later; log:\n", Log()));
    }
    absl::SleepFor(kPollInterval);
  }
}

absl::StatusOr<std::vector<std::string>> Process::WaitForLog(const std::regex& pattern, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    // Whether it had exited is checked before the log is read, so a line written just before exit still counts.
    const bool exited = !Running();
    const std::string log = Log();
    std::smatch match;
    if (std::regex_search(log, match, pattern)) {
      std::vector<std::string> groups;
      for (const auto& group : match) groups.push_back(group.str());
      return groups;
    }
    if (exited) {
      return absl::FailedPreconditionError(
          absl::StrCat("exited (wait status ", exit_status_, ") before its log matched; log:\n", log));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("log did not match after ", absl::FormatDuration(timeout), "; log:\n", log));
    }
    absl::SleepFor(kPollInterval);
  }
}

absl::StatusOr<int> Process::WaitForPort(const std::regex& pattern, absl::Duration timeout) {
  if (pattern.mark_count() < 1) return absl::InvalidArgumentError("WaitForPort: the pattern has no group");
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::StatusOr<std::vector<std::string>> groups = WaitForLog(pattern, deadline - absl::Now());
    if (!groups.ok()) return groups.status();
    int port = 0;
    if (absl::SimpleAtoi((*groups)[1], &port) && port > 0 && port <= 65535) return port;
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat("no port in '", (*groups)[0], "'; log:\n", Log()));
    }
    absl::SleepFor(kPollInterval);
  }
}

const std::regex& DaemonPortPattern() {
  static const std::regex* const pattern = new std::regex(R"(listening on \S+ \(port (\d+)\))");
  return *pattern;
}

absl::StatusOr<int> WaitForDaemonReady(Process& daemon, absl::Duration timeout) {
  static const std::regex* const ready = new std::regex(kDaemonReadyLine);
  absl::StatusOr<std::vector<std::string>> match = daemon.WaitForLog(*ready, timeout);
  if (!match.ok()) return match.status();
  const std::string log = daemon.Log();
  std::smatch port_match;
  int port = 0;
  if (!std::regex_search(log, port_match, DaemonPortPattern()) || !absl::SimpleAtoi(port_match[1].str(), &port) ||
      port <= 0 || port > 65535) {
    return absl::InternalError(absl::StrCat("ready, but no '(port N)' in the log:\n", log));
  }
  return port;
}

CommandResult RunCommand(std::vector<std::string> argv, const SpawnOptions& options, absl::Duration timeout) {
  CommandResult result;
  absl::StatusOr<std::unique_ptr<Process>> process = Process::Spawn(std::move(argv), options);
  if (!process.ok()) {
    result.output = process.status().ToString();
    return result;
  }
  absl::StatusOr<int> status = (*process)->Wait(timeout);
  if (!status.ok()) (*process)->Kill();
  result.output = (*process)->Log();
  if (status.ok()) {
    result.status = *status;
  } else {
    absl::StrAppend(&result.output, "\n[killed: still running after ", absl::FormatDuration(timeout), "]");
  }
  return result;
}

}  // namespace testing
}  // namespace sigil
