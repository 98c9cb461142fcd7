// Starting and stopping a Sigil daemon's gRPC server: TLS listener, gRPC's built-in grpc.health.v1
// service, server reflection, and clean shutdown on SIGTERM / SIGINT.
#ifndef SIGIL_COMMON_GRPC_SERVER_H_
#define SIGIL_COMMON_GRPC_SERVER_H_

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/tls_listener.h"
#include "grpcpp/server.h"
#include "grpcpp/support/server_interceptor.h"

namespace sigil {

// A started server. Thread-safe: Shutdown may be called from any thread, once.
class RunningServer {
 public:
  // Builds and starts a server on options.listen (port 0 picks a free port) with `services`
  // (borrowed: they must outlive the server), and, when options.health_listen is set, a plaintext server
  // there with gRPC's health service only (plus reflection, which gRPC adds to every server).
  // UNAVAILABLE when an address cannot be bound.
  // `interceptors` (e.g. common/metrics.h MetricsInterceptors()) see every RPC of the mTLS listener.
  static absl::StatusOr<std::unique_ptr<RunningServer>> Start(
      const ListenerOptions& options, const std::vector<grpc::Service*>& services,
      std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors = {});

  ~RunningServer();

  // The bound port.
  int port() const { return port_; }
  // The health listener's bound port; 0 when options.health_listen was empty.
  int health_port() const { return health_port_; }

  // Marks the health service NOT_SERVING (on both listeners), lets in-flight RPCs finish for up to
  // `grace`, then cancels the rest and waits for the servers to stop.
  void Shutdown(absl::Duration grace);

 private:
  RunningServer(std::unique_ptr<grpc::Server> server, int port, std::unique_ptr<grpc::Server> health_server,
                int health_port)
      : server_(std::move(server)),
        port_(port),
        health_server_(std::move(health_server)),
        health_port_(health_port) {}

  std::unique_ptr<grpc::Server> server_;
  const int port_;
  std::unique_ptr<grpc::Server> health_server_;  // null without health_listen
  const int health_port_;
  bool shut_down_ = false;
};

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (and the threads it starts afterwards). Call
// first thing in main, before any thread exists, then use WaitForTerminationSignal.
void BlockTerminationSignals();

// Waits for SIGTERM or SIGINT and returns its number. SIGHUP calls `on_hangup` (may be empty) and keeps
// waiting.
int WaitForTerminationSignal(const std::function<void()>& on_hangup = nullptr);

// The common life of a daemon after its services are built: starts the server, logs where it listens
// and "Server is ready", waits for SIGTERM/SIGINT, shuts down with a 5 s grace period and logs
// "<daemon> stopped". SIGHUP calls `on_hangup` (may be empty) on the waiting thread. Returns the
// start-up error, if any. Call BlockTerminationSignals first.
// `interceptors` as for RunningServer::Start.
absl::Status ServeUntilSignalled(
    absl::string_view daemon, const ListenerOptions& options, const std::vector<grpc::Service*>& services,
    const std::function<void()>& on_hangup = nullptr,
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors = {});

// Logs "<daemon> cannot start: <message>" at fatal level and returns the exit status 1.
int FailStartup(absl::string_view daemon, const absl::Status& status);

}  // namespace sigil

#endif  // SIGIL_COMMON_GRPC_SERVER_H_
