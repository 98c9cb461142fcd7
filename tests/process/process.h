// Child processes for tests that span processes: the built daemons (signerd, verifierd), the example echo
// server, and stock tools (`openssl s_server`, `s_client`, `pkey`, ...).
//
// A `Process` is one child started with fork/exec. Its stdout and stderr go to one log file (under TEST_TMPDIR
// unless the caller names one), its stdin is /dev/null or a file holding caller-given bytes, and it gets
// PR_SET_PDEATHSIG(SIGKILL) so it dies with the test even when the test process is killed before destructors
// run. The object owns the child: the destructor SIGKILLs it if it is still running and reaps it, so no test
// leaves a process (or a zombie) behind.
//
// Deliberately not here: a PATH search (argv[0] is executed as given: an absolute path, or a path relative to the
// working directory such as one from `Runfile`), pipes (output goes to a file, so a chatty child never blocks
// and the log stays readable after it exits), process groups (a child's own children are not tracked).
//
// Thread-safety: a `Process` is not thread-safe; use one from one thread at a time. `RunCommand`, `Runfile` and
// `TempDir` may be called from any thread.
#ifndef SIGIL_TESTS_PROCESS_PROCESS_H_
#define SIGIL_TESTS_PROCESS_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sigil {
namespace testing {

// $TEST_TMPDIR, else "/tmp". No trailing slash.
std::string TempDir();

// The path of `relative` (a workspace-relative path such as "signer/signerd" or "client/provider/sigil.so") in
// this test's runfiles, found with Bazel's runfiles library; `relative` itself when it is not there (under
// `bazel test` the working directory is the runfiles root, so that still works).
std::string Runfile(absl::string_view relative);

// How to start a child. Every field is optional.
struct SpawnOptions {
  // "NAME=value" entries for the child's environment: this process's environment with these on top (an entry
  // replaces a variable of the same name; "NAME=" sets it empty).
  std::vector<std::string> env;
  // Bytes for the child's stdin (written to `<log_path>.in` first); nullopt = /dev/null.
  std::optional<std::string> stdin_data;
  // Where stdout and stderr go (created or truncated); empty = "<TempDir()>/<basename of argv[0]>-<n>.log".
  std::string log_path;
};

// One child process; see the file comment for what it owns and guarantees.
class Process {
 public:
  // Starts argv[0] with `argv` (argv[0] included). INVALID_ARGUMENT for an empty `argv`; NOT_FOUND when argv[0]
  // is not an executable file; INTERNAL when the log or stdin file cannot be created or fork fails. If exec itself
  // fails in the child, the child exits with status 127 and says so in its log.
  static absl::StatusOr<std::unique_ptr<Process>> Spawn(std::vector<std::string> argv,
                                                        const SpawnOptions& options = {});

  // SIGKILLs the child if it is still running and reaps it.
  ~Process();

  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // The child's pid (valid until it is reaped; kept afterwards for messages).
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }

  // Everything the child has written to stdout and stderr so far; "" if the log cannot be read.
  std::string Log() const;

  // Whether the child is still running. Reaps it (recording its wait status) once it has exited.
  bool Running();

  // The child's wait status (decode with WIFEXITED/WEXITSTATUS/WIFSIGNALED/WTERMSIG) once it has been reaped;
  // nullopt while it runs. Does not block; reaps an exited child.
  std::optional<int> ExitStatus();

  // Sends `sig` to the child; nothing once it has been reaped.
  void Signal(int sig);

  // SIGKILLs the child and reaps it (blocking until it is gone); nothing once it has been reaped.
  void Kill();

  // Waits up to `timeout` for the child to exit and returns its wait status. DEADLINE_EXCEEDED (with the log)
  // if it is still running then; the child is left running (the caller may Signal, Kill or wait again).
  absl::StatusOr<int> Wait(absl::Duration timeout);

  // Polls the log until `pattern` matches somewhere in it and returns the match's groups (index 0 is the whole
  // match). FAILED_PRECONDITION (with the log) if the child exits first; DEADLINE_EXCEEDED (with the log) after
  // `timeout`.
  absl::StatusOr<std::vector<std::string>> WaitForLog(const std::regex& pattern, absl::Duration timeout);

  // WaitForLog, then the pattern's first group as a TCP port (1..65535). A match whose group is not a port is
  // treated as no match yet.
  absl::StatusOr<int> WaitForPort(const std::regex& pattern, absl::Duration timeout);

 private:
  Process(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}

  pid_t pid_;
  bool reaped_ = false;
  int exit_status_ = 0;  // Meaningful once reaped_.
  const std::string log_path_;
};

// What the daemons (signerd, verifierd) log once they serve: "Server is ready".
inline constexpr char kDaemonReadyLine[] = "Server is ready";

// The daemons' listener line, "<daemon> listening on 127.0.0.1:0 (port 41234); ...": group 1 is the port.
const std::regex& DaemonPortPattern();

// Waits up to `timeout` until `daemon` has logged kDaemonReadyLine and returns the port from its listener line
// (DaemonPortPattern). INTERNAL (with the log) if it is ready without a listener line; otherwise as
// Process::WaitForLog.
absl::StatusOr<int> WaitForDaemonReady(Process& daemon, absl::Duration timeout);

// The outcome of RunCommand.
struct CommandResult {
  // The wait status; -1 when the command could not be started or did not finish in time.
  int status = -1;
  // Its stdout and stderr interleaved as written; when status is -1, followed by the reason.
  std::string output;
  // Whether the command exited with status 0.
  bool ok() const { return status == 0; }
};

// Runs `argv` (as Process::Spawn) to completion and returns its status and output. A command still running
// after `timeout` is killed (status -1).
CommandResult RunCommand(std::vector<std::string> argv, const SpawnOptions& options = {},
                         absl::Duration timeout = absl::Seconds(30));

}  // namespace testing
}  // namespace sigil

#endif  // SIGIL_TESTS_PROCESS_PROCESS_H_
