// Durability and exclusivity of the RocksDB cache across processes:
// - a writer process (crash_writer, save_interval 1 s) is SIGKILLed at a random moment, 20 times; after
//   each kill the store reopens, and every entry acknowledged more than save_interval (+ margin) before
//   the kill is present (the bound, which also holds for a machine crash); since every write
//   reaches the OS before Put returns, every acknowledged entry is in fact present after a process kill;
// - while one process holds the store, opening it elsewhere fails with FAILED_PRECONDITION naming it.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cache/rocksdb_cache.h"
#include "gtest/gtest.h"

namespace sigil::cache {
namespace {

constexpr char kWriter[] = "cache/crash_writer";
const absl::Duration kSaveInterval = absl::Seconds(1);
const absl::Duration kMargin = absl::Milliseconds(500);

std::string TestDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Starts `kWriter` with `args`; its stdout goes to `stdout_fd` when >= 0.
pid_t Spawn(const std::vector<std::string>& args, int stdout_fd = -1) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (stdout_fd >= 0) dup2(stdout_fd, STDOUT_FILENO);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(kWriter));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(kWriter, argv.data());
    _exit(127);
  }
  return pid;
}

struct Ack {
  int64_t index;
  absl::Time at;
};

// Complete lines of the acks file (a line cut by the kill is ignored).
std::vector<Ack> ReadAcks(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  std::vector<Ack> out;
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    std::vector<std::string> fields = absl::StrSplit(text.substr(start, end - start), ' ');
    int64_t index = 0, nanos = 0;
    if (fields.size() == 2 && absl::SimpleAtoi(fields[0], &index) && absl::SimpleAtoi(fields[1], &nanos)) {
      out.push_back({index, absl::FromUnixNanos(nanos)});
    }
  }
  return out;
}

TEST(CrashTest, KillNineAtRandomPointsLosesNothingOlderThanSaveInterval) {
  const std::string dir = TestDir("crash");
  const std::string store = dir + "/_rc_";
  const unsigned seed = static_cast<unsigned>(absl::ToUnixNanos(absl::Now()));
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> run_ms(50, 1600);
  SCOPED_TRACE(absl::StrCat("random seed ", seed));
  int64_t total_acked = 0;
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    const std::string prefix = absl::StrCat("round", round);
    const std::string acks = absl::StrCat(dir, "/acks-", round);
    const pid_t pid = Spawn({"--store", store, "--acks", acks, "--prefix", prefix, "--pause_us", "200"});
    ASSERT_GT(pid, 0);
    absl::SleepFor(absl::Milliseconds(run_ms(random)));
    const absl::Time killed_at = absl::Now();
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "the writer exited by itself with " << WEXITSTATUS(wstatus);

    RocksDbOcspCacheOptions options;
    options.local_store = store;
    options.save_interval = kSaveInterval;
    auto cache = RocksDbOcspCache::Create(options, std::make_shared<SystemClock>());
    ASSERT_TRUE(cache.ok()) << "reopen after kill -9: " << cache.status();

    const std::vector<Ack> acked = ReadAcks(acks);
    total_acked += static_cast<int64_t>(acked.size());
    int64_t old_enough = 0, missing_old = 0, missing_recent = 0;
    for (const Ack& ack : acked) {
      const std::string name = absl::StrCat(prefix, "-", ack.index);
      auto got = (*cache)->Peek(CacheKey(name));
      ASSERT_TRUE(got.ok()) << got.status();
      const bool present = got->has_value() && (*got)->response_der == "response-of-" + name;
      const bool must_survive = ack.at < killed_at - kSaveInterval - kMargin;
      if (must_survive) ++old_enough;
      if (!present) ++(must_survive ? missing_old : missing_recent);
    }
    EXPECT_EQ(missing_old, 0) << "of " << old_enough << " entries acknowledged over save_interval before the kill";
    // Stronger than the issue asks: every Put reaches the OS before it returns, so a process kill loses
    // nothing acknowledged.
    EXPECT_EQ(missing_recent, 0) << "of " << acked.size() << " acknowledged entries";
  }
  EXPECT_GT(total_acked, 0);
  std::cerr << total_acked << " acknowledged writes in 20 rounds\n";
}

TEST(CrashTest, SecondProcessGetsAClearErrorWhileTheFirstHoldsTheStore) {
  const std::string store = TestDir("lock") + "/_rc_";
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t holder = Spawn({"--store", store, "--hold"}, pipe_fds[1]);
  close(pipe_fds[1]);
  ASSERT_GT(holder, 0);
  char ready[6] = {};
  ASSERT_EQ(read(pipe_fds[0], ready, 5), 5);  // Blocks until the holder has the store open.
  EXPECT_STREQ(ready, "ready");
  close(pipe_fds[0]);

  RocksDbOcspCacheOptions options;
  options.local_store = store;
  auto second = RocksDbOcspCache::Create(options, std::make_shared<SystemClock>());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(second.status().message().rfind(absl::StrCat("OCSP cache directory ", store, " is already in use"), 0),
            0u)
      << second.status();

  // Another process sees the same (the writer's own start-up error, exit status 2).
  const pid_t other = Spawn({"--store", store, "--hold"});
  int wstatus = 0;
  ASSERT_EQ(waitpid(other, &wstatus, 0), other);
  ASSERT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 2);

  ASSERT_EQ(kill(holder, SIGKILL), 0);
  ASSERT_EQ(waitpid(holder, &wstatus, 0), holder);
  auto after = RocksDbOcspCache::Create(options, std::make_shared<SystemClock>());
  EXPECT_TRUE(after.ok()) << "the lock dies with its process: " << after.status();
}

}  // namespace
}  // namespace sigil::cache
