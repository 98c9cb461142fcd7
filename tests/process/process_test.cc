// Process and RunCommand against real /bin/sh children: what each contract in process.h promises.
#include "tests/process/process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sigil {
namespace testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr absl::Duration kTimeout = absl::Seconds(10);

std::vector<std::string> Sh(const std::string& script) { return {"/bin/sh", "-c", script}; }

std::unique_ptr<Process> MustSpawn(const std::string& script, const SpawnOptions& options = {}) {
  absl::StatusOr<std::unique_ptr<Process>> process = Process::Spawn(Sh(script), options);
  EXPECT_TRUE(process.ok()) << process.status();
  return process.ok() ? *std::move(process) : nullptr;
}

TEST(ProcessTest, WaitForPortReadsTheFirstGroup) {
  auto process = MustSpawn("sleep 0.2; echo 'server listening on 127.0.0.1:0 (port 41234); ok'; exec sleep 30");
  ASSERT_NE(process, nullptr);
  absl::StatusOr<int> port = process->WaitForPort(std::regex(R"(\(port (\d+)\))"), kTimeout);
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_EQ(*port, 41234);
  EXPECT_TRUE(process->Running());
}

TEST(ProcessTest, WaitForPortSkipsAMatchThatIsNotAPort) {
  auto process = MustSpawn("echo 'port 0'; echo 'port 99999'; exit 0");
  ASSERT_NE(process, nullptr);
  absl::StatusOr<int> port = process->WaitForPort(std::regex(R"(port (\d+))"), absl::Seconds(1));
  EXPECT_FALSE(port.ok());
}

TEST(ProcessTest, WaitForLogReturnsTheGroups) {
  auto process = MustSpawn("echo 'a=1 b=two'; exec sleep 30");
  ASSERT_NE(process, nullptr);
  auto groups = process->WaitForLog(std::regex(R"(a=(\d+) b=(\w+))"), kTimeout);
  ASSERT_TRUE(groups.ok()) << groups.status();
  EXPECT_EQ(*groups, (std::vector<std::string>{"a=1 b=two", "1", "two"}));
}

TEST(ProcessTest, WaitForLogFailsWhenTheChildExitsFirst) {
  auto process = MustSpawn("echo 'no port here'; exit 4");
  ASSERT_NE(process, nullptr);
  absl::StatusOr<int> port = process->WaitForPort(std::regex(R"(port (\d+))"), kTimeout);
  ASSERT_EQ(port.status().code(), absl::StatusCode::kFailedPrecondition) << port.status();
  EXPECT_THAT(port.status().message(), HasSubstr("no port here"));
}

TEST(ProcessTest, WaitForLogTimesOut) {
  auto process = MustSpawn("echo starting; exec sleep 30");
  ASSERT_NE(process, nullptr);
  auto match = process->WaitForLog(std::regex("never"), absl::Milliseconds(200));
  ASSERT_EQ(match.status().code(), absl::StatusCode::kDeadlineExceeded) << match.status();
  EXPECT_THAT(match.status().message(), HasSubstr("starting"));
  EXPECT_TRUE(process->Running());
}

TEST(ProcessTest, DaemonReadyGivesTheListenerPort) {
  auto process = MustSpawn(
      "echo 'signerd listening on 127.0.0.1:0 (port 5123); mTLS'; sleep 0.1; echo 'Server is ready'; exec sleep 30");
  ASSERT_NE(process, nullptr);
  absl::StatusOr<int> port = WaitForDaemonReady(*process, kTimeout);
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_EQ(*port, 5123);
}

TEST(ProcessTest, DaemonReadyWithoutAListenerLineIsInternal) {
  auto process = MustSpawn("echo 'Server is ready'; exec sleep 30");
  ASSERT_NE(process, nullptr);
  absl::StatusOr<int> port = WaitForDaemonReady(*process, kTimeout);
  EXPECT_EQ(port.status().code(), absl::StatusCode::kInternal) << port.status();
}

TEST(ProcessTest, WaitReturnsTheExitStatus) {
  auto process = MustSpawn("exit 3");
  ASSERT_NE(process, nullptr);
  absl::StatusOr<int> status = process->Wait(kTimeout);
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 3);
  EXPECT_FALSE(process->Running());
  EXPECT_EQ(process->ExitStatus(), *status);
  // Waiting again gives the same status.
  EXPECT_EQ(process->Wait(kTimeout).value_or(-1), *status);
}

TEST(ProcessTest, WaitTimesOutAndLeavesTheChildRunning) {
  auto process = MustSpawn("exec sleep 30");
  ASSERT_NE(process, nullptr);
  absl::StatusOr<int> status = process->Wait(absl::Milliseconds(100));
  EXPECT_EQ(status.status().code(), absl::StatusCode::kDeadlineExceeded) << status.status();
  EXPECT_TRUE(process->Running());
}

TEST(ProcessTest, SignalReachesTheChild) {
  auto process = MustSpawn("exec sleep 30");
  ASSERT_NE(process, nullptr);
  process->Signal(SIGTERM);
  absl::StatusOr<int> status = process->Wait(kTimeout);
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_TRUE(WIFSIGNALED(*status)) << *status;
  EXPECT_EQ(WTERMSIG(*status), SIGTERM);
}

TEST(ProcessTest, ChildHasDefaultSignalMaskAndHandlers) {
  // A blocked signal in the test must not stay blocked in the child.
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  ASSERT_EQ(sigprocmask(SIG_BLOCK, &block, &old), 0);
  auto process = MustSpawn("exec sleep 30");
  sigprocmask(SIG_SETMASK, &old, nullptr);
  ASSERT_NE(process, nullptr);
  process->Signal(SIGTERM);
  absl::StatusOr<int> status = process->Wait(kTimeout);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGTERM) << *status;
}

TEST(ProcessTest, KillReapsAndIsIdempotent) {
  auto process = MustSpawn("exec sleep 30");
  ASSERT_NE(process, nullptr);
  process->Kill();
  EXPECT_FALSE(process->Running());
  ASSERT_TRUE(process->ExitStatus().has_value());
  EXPECT_TRUE(WIFSIGNALED(*process->ExitStatus()));
  EXPECT_EQ(WTERMSIG(*process->ExitStatus()), SIGKILL);
  process->Kill();
  process->Signal(SIGTERM);
}

TEST(ProcessTest, DestructorKillsAndReaps) {
  auto process = MustSpawn("exec sleep 30");
  ASSERT_NE(process, nullptr);
  const pid_t pid = process->pid();
  ASSERT_EQ(kill(pid, 0), 0);
  process.reset();
  // Reaped, not a zombie: the pid is gone (and no longer our child).
  errno = 0;
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), -1);
}

TEST(ProcessTest, LogGoesToTheNamedFile) {
  SpawnOptions options;
  options.log_path = TempDir() + "/named-log.txt";
  auto process = MustSpawn("echo to-stdout; echo to-stderr >&2", options);
  ASSERT_NE(process, nullptr);
  ASSERT_TRUE(process->Wait(kTimeout).ok());
  EXPECT_EQ(process->log_path(), options.log_path);
  EXPECT_EQ(process->Log(), "to-stdout\nto-stderr\n");
}

TEST(ProcessTest, DefaultLogIsUnderTempDir) {
  auto process = MustSpawn("true");
  ASSERT_NE(process, nullptr);
  EXPECT_THAT(process->log_path(), StartsWith(TempDir() + "/sh-"));
}

TEST(ProcessTest, SpawnRefusesWhatCannotRun) {
  EXPECT_EQ(Process::Spawn({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Process::Spawn({"/nonexistent/binary"}).status().code(), absl::StatusCode::kNotFound);
  SpawnOptions options;
  options.log_path = "/nonexistent/dir/log";
  EXPECT_EQ(Process::Spawn(Sh("true"), options).status().code(), absl::StatusCode::kInternal);
}

TEST(RunCommandTest, CapturesStdoutAndStderrAndStatus) {
  CommandResult result = RunCommand(Sh("echo out; echo err >&2; exit 0"));
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.output, "out\nerr\n");
  CommandResult failed = RunCommand(Sh("echo failing; exit 2"));
  EXPECT_FALSE(failed.ok());
  ASSERT_TRUE(WIFEXITED(failed.status));
  EXPECT_EQ(WEXITSTATUS(failed.status), 2);
  EXPECT_EQ(failed.output, "failing\n");
}

TEST(RunCommandTest, EnvironmentIsAddedAndOverridden) {
  ASSERT_EQ(setenv("SIGIL_PROCESS_TEST_INHERITED", "inherited", 1), 0);
  ASSERT_EQ(setenv("SIGIL_PROCESS_TEST_REPLACED", "old", 1), 0);
  SpawnOptions options;
  options.env = {"SIGIL_PROCESS_TEST_ADDED=added", "SIGIL_PROCESS_TEST_REPLACED=new"};
  CommandResult result = RunCommand(
      Sh("echo \"$SIGIL_PROCESS_TEST_INHERITED $SIGIL_PROCESS_TEST_ADDED $SIGIL_PROCESS_TEST_REPLACED\"; "
         "env | grep -c '^SIGIL_PROCESS_TEST_REPLACED='"),
      options);
  ASSERT_TRUE(result.ok()) << result.output;
  EXPECT_EQ(result.output, "inherited added new\n1\n");
  unsetenv("SIGIL_PROCESS_TEST_INHERITED");
  unsetenv("SIGIL_PROCESS_TEST_REPLACED");
}

TEST(RunCommandTest, StdinIsGivenOrEmpty) {
  SpawnOptions options;
  options.stdin_data = "line one\nline two\n";
  CommandResult fed = RunCommand({"/bin/cat"}, options);
  ASSERT_TRUE(fed.ok()) << fed.output;
  EXPECT_EQ(fed.output, "line one\nline two\n");
  // Without stdin_data, stdin is /dev/null: cat ends at once with nothing.
  CommandResult empty = RunCommand({"/bin/cat"}, {}, kTimeout);
  ASSERT_TRUE(empty.ok()) << empty.output;
  EXPECT_EQ(empty.output, "");
}

TEST(RunCommandTest, TimeoutKillsTheCommand) {
  CommandResult result = RunCommand(Sh("echo begun; exec sleep 30"), {}, absl::Milliseconds(300));
  EXPECT_EQ(result.status, -1);
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.output, StartsWith("begun\n"));
  EXPECT_THAT(result.output, HasSubstr("killed"));
}

TEST(RunCommandTest, SpawnFailureIsInTheOutput) {
  CommandResult result = RunCommand({"/nonexistent/binary"});
  EXPECT_EQ(result.status, -1);
  EXPECT_THAT(result.output, HasSubstr("NOT_FOUND"));
}

TEST(RunfileTest, FindsAFileInTheRunfilesOrReturnsTheInput) {
  EXPECT_EQ(Runfile("no/such/file"), "no/such/file");
  std::string self = Runfile("tests/process/process_test");
  EXPECT_EQ(access(self.c_str(), X_OK), 0) << self;
}

}  // namespace
}  // namespace testing
}  // namespace sigil
