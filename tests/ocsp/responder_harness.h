// Real OCSP responders for tests: `openssl ocsp` processes over an index file (OpenSslResponder), and a
// small HTTP server in the test process (OcspFrontend) that sits in front of one, relaying requests to
// it or injecting faults (GET-only / POST-only, HTTP 500, garbage, oversized or slow bodies, hangs,
// closed connections, a fixed body, a wrong Content-Type), and counting requests. testonly.
//
// Ports always come from the OS: the frontend binds 127.0.0.1:0; `openssl ocsp -port 0` binds an
// ephemeral port and prints it ("ACCEPT [::]:PORT"), which Start() reads, so there is no race to retry.
// Child processes are killed (SIGKILL) and reaped in the destructor.
#ifndef SIGIL_TESTS_OCSP_RESPONDER_HARNESS_H_
#define SIGIL_TESTS_OCSP_RESPONDER_HARNESS_H_

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace sigil::testing {

struct OpenSslResponderSpec {
  // Files `openssl ocsp` reads: the `openssl ca` index (tests/pki OpenSslIndexLine), the CA certificate,
  // and the responder's signing certificate and key (the CA itself, or a delegate).
  std::string index_file;
  std::string ca_file;
  std::string signer_cert_file;
  std::string signer_key_file;
  // NextUpdate = ThisUpdate + this many minutes; absent: responses carry no NextUpdate.
  std::optional<int> next_update_minutes = 60;
  // Where the responder's stdout/stderr go.
  std::string log_file;
};

class OpenSslResponder {
 public:
  // Spawns the responder and waits (up to 10 s) until it accepts connections. INTERNAL with the log's
  // contents when it exits or never becomes ready.
  static absl::StatusOr<std::unique_ptr<OpenSslResponder>> Start(const OpenSslResponderSpec& spec);
  ~OpenSslResponder();

  int port() const { return port_; }
  std::string url() const;

 private:
  OpenSslResponder(pid_t pid, int port) : pid_(pid), port_(port) {}
  pid_t pid_;
  int port_;
};

class OcspFrontend {
 public:
  enum class Mode {
    kRelay,             // Forward to the backend responder, return its answer.
    kGetOnly,           // Relay GET; answer POST with 405.
    kPostOnly,          // Relay POST; answer GET with 405.
    kStatus500,         // HTTP 500, empty body.
    kGarbage,           // 200, application/ocsp-response, bytes that are not DER.
    kOversized,         // 200, application/ocsp-response, a 200 KiB body.
    kHuge,              // 200, application/ocsp-response, Content-Length 10 MiB, the body sent in 64 KiB chunks
                        // through a 64 KiB send buffer until it is all sent or the client hangs up
                        // (huge_body_bytes_sent() says how far it got).
    kSlowBody,          // Relay, but send the body one byte every 300 ms.
    kHang,              // Read the request, never answer (until the client gives up or Stop).
    kClose,             // Close the connection at once without answering ("unreachable").
    kWrongContentType,  // Relay, but with Content-Type text/html.
    kFixedBody,         // 200, application/ocsp-response, the body set with SetFixedBody.
  };

  // Binds 127.0.0.1:0 and starts serving (mode kRelay, no backend: 502 until SetBackend).
  static absl::StatusOr<std::unique_ptr<OcspFrontend>> Start();
  // Stops serving: closes the socket, wakes hanging handlers and joins every thread.
  ~OcspFrontend();

  int port() const { return port_; }
  // "http://127.0.0.1:PORT/".
  std::string url() const;

  void SetBackendPort(int port);
  void SetMode(Mode mode);
  void SetFixedBody(std::string body);
  // Requests received (every method), and by method.
  int requests() const { return gets_.load() + posts_.load(); }
  int gets() const { return gets_.load(); }
  int posts() const { return posts_.load(); }
  void ResetCounts();
  // kHuge: the size of the body (kHugeBodyBytes), and how many of its bytes the client's side of the
  // connection accepted in the last answer, once that answer has ended (-1 until then).
  static constexpr int64_t kHugeBodyBytes = 10 * 1024 * 1024;
  int64_t huge_body_bytes_sent() const { return huge_body_bytes_sent_.load(); }

 private:
  explicit OcspFrontend(int listen_fd, int port) : listen_fd_(listen_fd), port_(port) {}
  void AcceptLoop();
  void Handle(int fd);

  const int listen_fd_;
  const int port_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> gets_{0};
  std::atomic<int> posts_{0};
  std::atomic<int64_t> huge_body_bytes_sent_{-1};
  std::thread acceptor_;

  // Guards members below.
  mutable absl::Mutex mu_;
  int backend_port_ ABSL_GUARDED_BY(mu_) = 0;
  Mode mode_ ABSL_GUARDED_BY(mu_) = Mode::kRelay;
  std::string fixed_body_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> handlers_ ABSL_GUARDED_BY(mu_);
};

// A TCP port on 127.0.0.1 that nothing listens on (bound to find it, then closed): connection refused.
int UnusedPort();

}  // namespace sigil::testing

#endif  // SIGIL_TESTS_OCSP_RESPONDER_HARNESS_H_
