// A real `nats-server` (Debian package, found on PATH) for tests: listens on 127.0.0.1 with a port the
// OS chose (`-p -1`), learnt from the ports file the server writes (`--ports_file_dir`), so there is no
// race to retry. The child is killed (SIGKILL) and reaped in the destructor, and also dies with the test
// process (PR_SET_PDEATHSIG). testonly.
#ifndef SIGIL_TESTS_NATS_NATS_SERVER_H_
#define SIGIL_TESTS_NATS_NATS_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace sigil::testing {

class NatsServer {
 public:
  // Starts nats-server with its working files under `dir` (created if missing) and waits up to 10 s for
  // its ports file. INTERNAL with the server's log when it exits or never becomes ready.
  static absl::StatusOr<std::unique_ptr<NatsServer>> Start(const std::string& dir);
  ~NatsServer();

  // "nats://127.0.0.1:PORT".
  const std::string& url() const { return url_; }

 private:
  NatsServer(pid_t pid, std::string url) : pid_(pid), url_(std::move(url)) {}
  pid_t pid_;
  std::string url_;
};

}  // namespace sigil::testing

#endif  // SIGIL_TESTS_NATS_NATS_SERVER_H_
