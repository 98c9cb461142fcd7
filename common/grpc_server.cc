#include "common/grpc_server.h"

#include <signal.h>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace sigil {

absl::StatusOr<std::unique_ptr<RunningServer>> RunningServer::Start(
    const ListenerOptions& options, const std::vector<grpc::Service*>& services,
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  SIGIL_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> creds, MakeServerCredentials(options));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, creds, &port);
  ApplyListenerArgs(options, &builder);
  for (grpc::Service* service : services) builder.RegisterService(service);
  if (!interceptors.empty()) builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  // Kubelet's native gRPC probes speak plaintext only, so they cannot reach the mTLS listener; this
  // second server registers no service of ours, so only grpc.health.v1 (and reflection) answer there.
  std::unique_ptr<grpc::Server> health_server;
  int health_port = 0;
  if (!options.health_listen.empty()) {
    grpc::ServerBuilder health_builder;
    health_builder.AddListeningPort(options.health_listen, grpc::InsecureServerCredentials(), &health_port);
    health_server = health_builder.BuildAndStart();
    if (health_server == nullptr || health_port == 0) {
      server->Shutdown();
      server->Wait();
      return absl::UnavailableError(absl::StrCat("cannot listen on ", options.health_listen, " (health_listen)"));
    }
  }
  return std::unique_ptr<RunningServer>(
      new RunningServer(std::move(server), port, std::move(health_server), health_port));
}

RunningServer::~RunningServer() { Shutdown(absl::ZeroDuration()); }

void RunningServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(false);
  if (health_server_ != nullptr) {
    if (auto* health = health_server_->GetHealthCheckService()) health->SetServingStatus(false);
  }
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
  if (health_server_ != nullptr) {
    health_server_->Shutdown(absl::ToChronoTime(absl::Now()));
    health_server_->Wait();
  }
}

namespace {
sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}
}  // namespace

void BlockTerminationSignals() {
  sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForTerminationSignal(const std::function<void()>& on_hangup) {
  sigset_t set = TerminationSignals();
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      LogInfo("SIGHUP received");
      if (on_hangup) on_hangup();
      continue;
    }
    return sig;
  }
}

absl::Status ServeUntilSignalled(
    absl::string_view daemon, const ListenerOptions& options, const std::vector<grpc::Service*>& services,
    const std::function<void()>& on_hangup,
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors) {
  SIGIL_ASSIGN_OR_RETURN(std::unique_ptr<RunningServer> server,
                         RunningServer::Start(options, services, std::move(interceptors)));
  LogInfo(absl::StrCat(daemon, " listening on ", options.listen, " (port ", server->port(),
                       "); health and reflection enabled"));
  if (server->health_port() != 0) {
    LogInfo(absl::StrCat(daemon, " health listening on ", options.health_listen, " (port ", server->health_port(),
                         "; plaintext, grpc.health.v1 only)"));
  }
  LogInfo("Server is ready");
  int sig = WaitForTerminationSignal(on_hangup);
  LogInfo(absl::StrCat("Received signal ", sig, ", shutting down"));
  server->Shutdown(absl::Seconds(5));
  LogInfo(absl::StrCat(daemon, " stopped"));
  return absl::OkStatus();
}

int FailStartup(absl::string_view daemon, const absl::Status& status) {
  Log(LogLevel::kFatal, absl::StrCat(daemon, " cannot start: ", status.message()));
  return 1;
}

}  // namespace sigil
