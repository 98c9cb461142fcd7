#include "tests/ocsp/responder_harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace sigil::testing {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool SendAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads until the peer closes or `stop` (checked every 100 ms) or `deadline`.
std::string RecvUntilClose(int fd, const std::atomic<bool>& stop, absl::Time deadline) {
  std::string out;
  char buf[4096];
  while (!stop.load() && absl::Now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

struct HttpMessage {
  std::string start_line;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string Header(absl::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (absl::EqualsIgnoreCase(k, name)) return v;
    }
    return "";
  }
};

// Reads one HTTP request (headers, then Content-Length bytes of body).
std::optional<HttpMessage> ReadRequest(int fd, const std::atomic<bool>& stop) {
  std::string data;
  char buf[4096];
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  size_t header_end = std::string::npos;
  HttpMessage msg;
  size_t content_length = 0;
  while (!stop.load() && absl::Now() < deadline) {
    if (header_end == std::string::npos) {
      header_end = data.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        std::vector<std::string> lines = absl::StrSplit(data.substr(0, header_end), "\r\n");
        msg.start_line = lines[0];
        for (size_t i = 1; i < lines.size(); ++i) {
          size_t colon = lines[i].find(':');
          if (colon == std::string::npos) continue;
          msg.headers.emplace_back(lines[i].substr(0, colon),
                                   std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1))));
        }
        (void)absl::SimpleAtoi(msg.Header("Content-Length"), &content_length);
      }
    }
    if (header_end != std::string::npos && data.size() >= header_end + 4 + content_length) {
      msg.body = data.substr(header_end + 4, content_length);
      return msg;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return std::nullopt;
    data.append(buf, static_cast<size_t>(n));
  }
  return std::nullopt;
}

int ConnectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string Response(int code, absl::string_view reason, absl::string_view content_type, absl::string_view body) {
  std::string out = absl::StrCat("HTTP/1.0 ", code, " ", reason, "\r\n");
  if (!content_type.empty()) absl::StrAppend(&out, "Content-Type: ", content_type, "\r\n");
  absl::StrAppend(&out, "Content-Length: ", body.size(), "\r\nConnection: close\r\n\r\n", body);
  return out;
}

}  // namespace

// ---- OpenSslResponder ----

absl::StatusOr<std::unique_ptr<OpenSslResponder>> OpenSslResponder::Start(const OpenSslResponderSpec& spec) {
  std::vector<std::string> args = {"openssl", "ocsp",  "-index", spec.index_file, "-CA", spec.ca_file,
                                   "-rsigner", spec.signer_cert_file, "-rkey", spec.signer_key_file,
                                   "-port", "0", "-ignore_err"};
  if (spec.next_update_minutes.has_value()) {
    args.push_back("-nmin");
    args.push_back(std::to_string(*spec.next_update_minutes));
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Start() reads the log for the responder's port: an old log must not be mistaken for the new one.
  unlink(spec.log_file.c_str());
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    int fd = open(spec.log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execvp("openssl", argv.data());
    _exit(127);
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      return absl::InternalError(absl::StrCat("openssl ocsp exited: ", ReadAll(spec.log_file)));
    }
    const std::string log = ReadAll(spec.log_file);
    size_t at = log.find("ACCEPT ");
    size_t ready = log.find("waiting for OCSP client connections");
    if (at != std::string::npos && ready != std::string::npos) {
      std::string line = log.substr(at, log.find('\n', at) - at);
      int port = 0;
      if (absl::SimpleAtoi(line.substr(line.rfind(':') + 1, line.find(' ', line.rfind(':')) - line.rfind(':') - 1),
                           &port) &&
          port > 0) {
        return std::unique_ptr<OpenSslResponder>(new OpenSslResponder(pid, port));
      }
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return absl::InternalError(absl::StrCat("openssl ocsp never became ready: ", ReadAll(spec.log_file)));
}

OpenSslResponder::~OpenSslResponder() {
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

std::string OpenSslResponder::url() const { return absl::StrCat("http://127.0.0.1:", port_, "/"); }

// ---- OcspFrontend ----

absl::StatusOr<std::unique_ptr<OcspFrontend>> OcspFrontend::Start() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 256) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return absl::InternalError(absl::StrCat("bind/listen: ", strerror(errno)));
  }
  std::unique_ptr<OcspFrontend> frontend(new OcspFrontend(fd, ntohs(addr.sin_port)));
  frontend->acceptor_ = std::thread([f = frontend.get()] { f->AcceptLoop(); });
  return frontend;
}

OcspFrontend::~OcspFrontend() {
  stopping_.store(true);
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> handlers;
  {
    absl::MutexLock lock(&mu_);
    handlers.swap(handlers_);
  }
  for (std::thread& t : handlers) t.join();
  close(listen_fd_);
}

std::string OcspFrontend::url() const { return absl::StrCat("http://127.0.0.1:", port_, "/"); }

void OcspFrontend::SetBackendPort(int port) {
  absl::MutexLock lock(&mu_);
  backend_port_ = port;
}

void OcspFrontend::SetMode(Mode mode) {
  absl::MutexLock lock(&mu_);
  mode_ = mode;
}

void OcspFrontend::SetFixedBody(std::string body) {
  absl::MutexLock lock(&mu_);
  fixed_body_ = std::move(body);
}

void OcspFrontend::ResetCounts() {
  gets_.store(0);
  posts_.store(0);
}

void OcspFrontend::AcceptLoop() {
  while (!stopping_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    absl::MutexLock lock(&mu_);
    handlers_.emplace_back([this, fd] {
      Handle(fd);
      close(fd);
    });
  }
}

void OcspFrontend::Handle(int fd) {
  std::optional<HttpMessage> request = ReadRequest(fd, stopping_);
  if (!request.has_value()) return;
  const bool is_post = absl::StartsWith(request->start_line, "POST ");
  (is_post ? posts_ : gets_).fetch_add(1);
  Mode mode;
  int backend;
  std::string fixed;
  {
    absl::MutexLock lock(&mu_);
    mode = mode_;
    backend = backend_port_;
    fixed = fixed_body_;
  }
  switch (mode) {
    case Mode::kStatus500:
      SendAll(fd, Response(500, "Internal Server Error", "text/plain", ""));
      return;
    case Mode::kGarbage:
      SendAll(fd, Response(200, "OK", "application/ocsp-response", "\x30\x03garbage, not an OCSP response"));
      return;
    case Mode::kOversized:
      SendAll(fd, Response(200, "OK", "application/ocsp-response", std::string(200 * 1024, '\x30')));
      return;
    case Mode::kHuge: {
      // A small send buffer keeps the kernel from absorbing megabytes the client never reads, so the count
      // below is what the client's side accepted (its receive buffer included), not what we produced.
      int sndbuf = 64 * 1024;
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
      huge_body_bytes_sent_.store(-1);
      int64_t sent = 0;
      const std::string head = absl::StrCat(
          "HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: ", kHugeBodyBytes, "\r\n\r\n");
      if (SendAll(fd, head)) {
        const std::string chunk(64 * 1024, '\x30');
        while (sent < kHugeBodyBytes && !stopping_.load() && SendAll(fd, chunk)) sent += chunk.size();
      }
      huge_body_bytes_sent_.store(sent);
      return;
    }
    case Mode::kHang:
      RecvUntilClose(fd, stopping_, absl::Now() + absl::Seconds(30));
      return;
    case Mode::kClose:
      return;
    case Mode::kFixedBody:
      SendAll(fd, Response(200, "OK", "application/ocsp-response", fixed));
      return;
    case Mode::kGetOnly:
      if (is_post) {
        SendAll(fd, Response(405, "Method Not Allowed", "text/plain", ""));
        return;
      }
      break;
    case Mode::kPostOnly:
      if (!is_post) {
        SendAll(fd, Response(405, "Method Not Allowed", "text/plain", ""));
        return;
      }
      break;
    default:
      break;
  }
  // Relay to the backend responder.
  const std::string target = request->start_line.substr(request->start_line.find(' ') + 1,
                                                        request->start_line.rfind(' ') - request->start_line.find(' ') - 1);
  std::string upstream = is_post ? absl::StrCat("POST ", target, " HTTP/1.0\r\nHost: 127.0.0.1\r\n",
                                                "Content-Type: application/ocsp-request\r\nContent-Length: ",
                                                request->body.size(), "\r\n\r\n", request->body)
                                 : absl::StrCat("GET ", target, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  int up = backend > 0 ? ConnectLoopback(backend) : -1;
  if (up < 0) {
    SendAll(fd, Response(502, "Bad Gateway", "text/plain", ""));
    return;
  }
  SendAll(up, upstream);
  std::string answer = RecvUntilClose(up, stopping_, absl::Now() + absl::Seconds(10));
  close(up);
  size_t header_end = answer.find("\r\n\r\n");
  if (header_end == std::string::npos) {
    SendAll(fd, Response(502, "Bad Gateway", "text/plain", ""));
    return;
  }
  int code = 0;
  std::vector<std::string> status = absl::StrSplit(answer.substr(0, answer.find("\r\n")), ' ');
  if (status.size() < 2 || !absl::SimpleAtoi(status[1], &code)) code = 502;
  std::string body = answer.substr(header_end + 4);
  std::string content_type = "application/ocsp-response";
  if (mode == Mode::kWrongContentType) content_type = "text/html";
  if (mode == Mode::kSlowBody) {
    SendAll(fd, absl::StrCat("HTTP/1.0 ", code, " OK\r\nContent-Type: ", content_type,
                             "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n\r\n"));
    for (char c : body) {
      if (stopping_.load() || !SendAll(fd, absl::string_view(&c, 1))) return;
      absl::SleepFor(absl::Milliseconds(300));
    }
    return;
  }
  SendAll(fd, Response(code, code == 200 ? "OK" : "Error", content_type, body));
}

int UnusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace sigil::testing
