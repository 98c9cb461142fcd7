#include "tests/nats/nats_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sigil::testing {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

absl::StatusOr<std::unique_ptr<NatsServer>> NatsServer::Start(const std::string& dir) {
  mkdir(dir.c_str(), 0700);
  const std::string log = dir + "/nats-server.log";
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    execlp("nats-server", "nats-server", "-a", "127.0.0.1", "-p", "-1", "--ports_file_dir", dir.c_str(),
           static_cast<char*>(nullptr));
    _exit(127);
  }
  auto server = std::unique_ptr<NatsServer>(new NatsServer(pid, ""));
  const std::string ports = absl::StrCat(dir, "/nats-server_", pid, ".ports");
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      server->pid_ = -1;
      return absl::InternalError(absl::StrCat("nats-server exited (status ", status, "): ", Slurp(log)));
    }
    const std::string text = Slurp(ports);
    // {"nats":["nats://127.0.0.1:41245"]}
    const size_t start = text.find("nats://");
    if (start != std::string::npos) {
      const size_t end = text.find('"', start);
      if (end != std::string::npos) {
        server->url_ = text.substr(start, end - start);
        return server;
      }
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::InternalError(absl::StrCat("nats-server wrote no ports file within 10 s: ", Slurp(log)));
}

NatsServer::~NatsServer() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

}  // namespace sigil::testing
