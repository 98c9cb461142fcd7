// loadgen: a closed-loop gRPC load generator for Sigil's daemons (bench/run.sh, the soak script).
//
// `--concurrency` calls are kept outstanding at all times, spread round-robin over `--channels` channels
// (each its own TCP+TLS connection); each completion immediately starts the next call on the same slot, from
// gRPC's callback threads (the callback API: no thread per call, no completion-queue polling of our own).
// After `--warmup` seconds, completions during the next `--duration` seconds are counted and their latencies
// recorded; or, with `--requests=N`, exactly N calls are made (no warm-up) and the run ends when they have
// all completed (for cold-cache bursts).
//
//   loadgen --target=127.0.0.1:7443 --ca=ca.pem --cert=client.pem --key=client-key.pem
//           --rpc=health|sign|sign_batch|verify_peer [--channels=4] [--concurrency=64] [--duration=10]
//           [--warmup=2] [--requests=N] [--timeout=10]
//   sign, sign_batch: --identity=NAME --scheme=0x0403 [--batch=32]
//   verify_peer:      --chain=chain.pem (leaf first, trust anchor last) [--leaves=leaves.pem] [--profile=P]
//                     [--peer_role=client|server] [--expect_allowed=true]
//
// Prints one JSON object on one line to stdout (progress and errors go to stderr):
//   {"rpc":"sign","target":"...","channels":4,"concurrency":64,"warmup_s":2,"duration_s":10.0,
//    "calls":N,"ok":N,"errors":N,"error_codes":{"14":3},"calls_per_s":X,"items_per_s":X,
//    "latency_us":{"p50":..,"p90":..,"p99":..,"p999":..,"max":..,"mean":..},"rejected":N,"check":"ok"}
// items_per_s counts signatures for sign_batch (successful items only) and equals calls_per_s otherwise.
// Exit status: 0 when the run completed with no failed call (and, for verify_peer with --expect_allowed,
// no rejected peer); 1 otherwise; 2 for bad flags or unreadable files.
//
// Before the load, one call is checked for correctness: a signature must verify against the identity's
// certificate (GetCertificateChain), a VerifyPeer answer must be allowed when --expect_allowed is set.
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/openssl_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "sigil/signer/v1/signer.grpc.pb.h"
#include "sigil/verifier/v1/verifier.grpc.pb.h"
#include "signer/signature_scheme.h"

ABSL_FLAG(std::string, target, "127.0.0.1:7443", "daemon host:port");
ABSL_FLAG(std::string, ca, "", "PEM CA bundle the daemon's certificate chains to");
ABSL_FLAG(std::string, cert, "", "PEM client certificate (mTLS)");
ABSL_FLAG(std::string, key, "", "PEM client key (mTLS)");
ABSL_FLAG(bool, plaintext, false, "connect without TLS (development daemons only)");
ABSL_FLAG(std::string, rpc, "health", "health | sign | sign_batch | verify_peer");
ABSL_FLAG(int, channels, 4, "channels (separate connections)");
ABSL_FLAG(int, concurrency, 64, "calls kept outstanding, over all channels");
ABSL_FLAG(double, duration, 10, "measured seconds (after warm-up)");
ABSL_FLAG(double, warmup, 2, "seconds of load before measuring");
ABSL_FLAG(int64_t, requests, 0, "when > 0: make exactly this many calls, no warm-up, then stop");
ABSL_FLAG(double, timeout, 10, "deadline of each call, seconds");
ABSL_FLAG(std::string, identity, "", "sign, sign_batch: identity name");
ABSL_FLAG(std::string, scheme, "0x0403", "sign, sign_batch: TLS SignatureScheme code");
ABSL_FLAG(int, batch, 32, "sign_batch: signatures per call (1-64)");
ABSL_FLAG(std::string, chain, "", "verify_peer: PEM chain, leaf first, trust anchor last");
ABSL_FLAG(std::string, leaves, "",
          "verify_peer: PEM file of leaf certificates issued by the chain's second certificate; call i uses "
          "leaf i mod count in place of the chain's leaf (distinct leaves = cold lookups)");
ABSL_FLAG(std::string, profile, "", "verify_peer: policy profile (empty = default)");
ABSL_FLAG(std::string, peer_role, "client", "verify_peer: client | server");
ABSL_FLAG(bool, expect_allowed, true, "verify_peer: count a rejected peer as a failure");
ABSL_FLAG(std::string, label, "", "free text copied into the JSON line (which run this is)");

namespace {

using sigil::signer::v1::Signer;
using sigil::verifier::v1::Verifier;

[[noreturn]] void Die(int code, absl::string_view message) {
  std::cerr << "loadgen: " << message << "\n";
  std::exit(code);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials() {
  if (absl::GetFlag(FLAGS_plaintext)) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  if (!absl::GetFlag(FLAGS_ca).empty()) {
    auto ca = sigil::ReadFileToString(absl::GetFlag(FLAGS_ca));
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
  }
  if (!absl::GetFlag(FLAGS_cert).empty()) {
    auto cert = sigil::ReadFileToString(absl::GetFlag(FLAGS_cert));
    if (!cert.ok()) return cert.status();
    auto key = sigil::ReadFileToString(absl::GetFlag(FLAGS_key));
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *cert;
    ssl.pem_private_key = *key;
  }
  return grpc::SslCredentials(ssl);
}

// What one call sends, built once per run (verify_peer: one request per leaf) and shared read-only by every
// slot.
struct Requests {
  sigil::signer::v1::SignRequest sign;
  sigil::signer::v1::SignBatchRequest batch;
  std::vector<sigil::verifier::v1::VerifyPeerRequest> verify;
};

// Measurement state shared by every slot. Phase boundaries are fixed before the first call starts.
struct Run {
  std::string rpc;
  absl::Time measure_from;
  absl::Time measure_until;
  int64_t max_requests = 0;  // > 0: fixed count mode.
  absl::Duration timeout;
  const Requests* requests = nullptr;

  std::atomic<int64_t> started{0};
  std::atomic<int> active_slots{0};
  absl::Notification all_done;

  // Guards members below.
  absl::Mutex mu;
  std::vector<int64_t> latencies_ns ABSL_GUARDED_BY(mu);
  int64_t ok ABSL_GUARDED_BY(mu) = 0;
  int64_t items ABSL_GUARDED_BY(mu) = 0;
  int64_t rejected ABSL_GUARDED_BY(mu) = 0;
  std::map<int, int64_t> errors ABSL_GUARDED_BY(mu);
  std::string first_error ABSL_GUARDED_BY(mu);
};

// One outstanding call at a time: started again from its own completion callback until the run ends.
// Latencies are buffered per slot and merged under the run's mutex at the end, so the hot path takes no lock.
class Slot {
 public:
  Slot(Run* run, std::shared_ptr<grpc::Channel> channel)
      : run_(run),
        health_(grpc::health::v1::Health::NewStub(channel)),
        signer_(Signer::NewStub(channel)),
        verifier_(Verifier::NewStub(channel)) {}

  void Start() {
    run_->active_slots.fetch_add(1);
    Next();
  }

 private:
  // Starts the next call, or retires the slot when the run is over.
  void Next() {
    const absl::Time now = absl::Now();
    int64_t index = run_->started.fetch_add(1);
    bool over = run_->max_requests > 0 ? index >= run_->max_requests : now >= run_->measure_until;
    if (over) {
      Retire();
      return;
    }
    context_ = std::make_unique<grpc::ClientContext>();
    context_->set_deadline(absl::ToChronoTime(now + run_->timeout));
    start_ = now;
    auto done = [this](grpc::Status status) { Done(std::move(status)); };
    if (run_->rpc == "health") {
      health_->async()->Check(context_.get(), &health_request_, &health_response_, done);
    } else if (run_->rpc == "sign") {
      signer_->async()->Sign(context_.get(), &run_->requests->sign, &sign_response_, done);
    } else if (run_->rpc == "sign_batch") {
      signer_->async()->SignBatch(context_.get(), &run_->requests->batch, &batch_response_, done);
    } else {
      const auto& all = run_->requests->verify;
      verifier_->async()->VerifyPeer(context_.get(), &all[static_cast<size_t>(index) % all.size()], &verify_response_,
                                     done);
    }
  }

  void Done(grpc::Status status) {
    const absl::Time end = absl::Now();
    const bool counted = run_->max_requests > 0 || (start_ >= run_->measure_from && end <= run_->measure_until);
    if (counted) {
      int64_t items = 1;
      bool rejected = false;
      if (status.ok() && run_->rpc == "sign_batch") {
        items = 0;
        for (const auto& result : batch_response_.results()) items += result.code() == 0 ? 1 : 0;
        if (items != batch_response_.results_size()) {
          status = grpc::Status(static_cast<grpc::StatusCode>(batch_response_.results(0).code() == 0
                                                                   ? grpc::StatusCode::UNKNOWN
                                                                   : batch_response_.results(0).code()),
                                "a batch item failed");
        }
      }
      if (status.ok() && run_->rpc == "verify_peer") rejected = !verify_response_.allowed();
      if (status.ok()) {
        ++ok_;
        items_ += items;
        if (rejected) ++rejected_;
        latencies_ns_.push_back(absl::ToInt64Nanoseconds(end - start_));
      } else {
        ++errors_[static_cast<int>(status.error_code())];
        if (first_error_.empty()) {
          first_error_ = absl::StrCat(status.error_code(), " ", status.error_message());
        }
      }
    }
    Next();
  }

  void Retire() {
    {
      absl::MutexLock lock(&run_->mu);
      run_->latencies_ns.insert(run_->latencies_ns.end(), latencies_ns_.begin(), latencies_ns_.end());
      run_->ok += ok_;
      run_->items += items_;
      run_->rejected += rejected_;
      for (const auto& [code, count] : errors_) run_->errors[code] += count;
      if (run_->first_error.empty()) run_->first_error = first_error_;
    }
    if (run_->active_slots.fetch_sub(1) == 1) run_->all_done.Notify();
  }

  Run* const run_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
  std::unique_ptr<Signer::Stub> signer_;
  std::unique_ptr<Verifier::Stub> verifier_;
  std::unique_ptr<grpc::ClientContext> context_;
  absl::Time start_;
  grpc::health::v1::HealthCheckRequest health_request_;
  grpc::health::v1::HealthCheckResponse health_response_;
  sigil::signer::v1::SignResponse sign_response_;
  sigil::signer::v1::SignBatchResponse batch_response_;
  sigil::verifier::v1::VerifyPeerResponse verify_response_;

  std::vector<int64_t> latencies_ns_;
  int64_t ok_ = 0, items_ = 0, rejected_ = 0;
  std::map<int, int64_t> errors_;
  std::string first_error_;
};

// Percentile by nearest rank of sorted `v` (non-empty), in microseconds.
double PercentileUs(const std::vector<int64_t>& v, double p) {
  size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size()));
  if (rank >= v.size()) rank = v.size() - 1;
  return static_cast<double>(v[rank]) / 1000.0;
}

std::string Fixed(double v, int digits = 1) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Loads --chain (and --leaves) into VerifyPeer requests.
std::vector<sigil::verifier::v1::VerifyPeerRequest> VerifyRequests() {
  auto pem = sigil::ReadFileToString(absl::GetFlag(FLAGS_chain));
  if (!pem.ok()) Die(2, absl::StrCat("--chain: ", pem.status().message()));
  auto chain = sigil::ParsePemCertificates(*pem, "--chain");
  if (!chain.ok() || chain->empty()) Die(2, "--chain holds no PEM certificate");
  std::vector<std::string> ders;
  for (auto& cert : *chain) ders.push_back(sigil::CertificateDer(cert.get()));
  std::vector<std::string> leaves = {ders[0]};
  if (!absl::GetFlag(FLAGS_leaves).empty()) {
    auto leaves_pem = sigil::ReadFileToString(absl::GetFlag(FLAGS_leaves), size_t{1} << 30);
    if (!leaves_pem.ok()) Die(2, absl::StrCat("--leaves: ", leaves_pem.status().message()));
    auto parsed = sigil::ParsePemCertificates(*leaves_pem, "--leaves");
    if (!parsed.ok() || parsed->empty()) Die(2, "--leaves holds no PEM certificate");
    leaves.clear();
    for (auto& cert : *parsed) leaves.push_back(sigil::CertificateDer(cert.get()));
  }
  const std::string role = absl::GetFlag(FLAGS_peer_role);
  if (role != "client" && role != "server") Die(2, "--peer_role must be client or server");
  std::vector<sigil::verifier::v1::VerifyPeerRequest> out;
  for (const std::string& leaf : leaves) {
    sigil::verifier::v1::VerifyPeerRequest request;
    request.set_peer_role(role == "client" ? sigil::verifier::v1::CLIENT : sigil::verifier::v1::SERVER);
    request.set_kind("Client");
    request.set_profile(absl::GetFlag(FLAGS_profile));
    auto* c = request.add_chains();
    c->add_certificates(leaf);
    for (size_t i = 1; i < ders.size(); ++i) c->add_certificates(ders[i]);
    out.push_back(std::move(request));
  }
  return out;
}

// One synchronous call whose answer must be right before any load is made.
std::string Check(const std::shared_ptr<grpc::Channel>& channel, const Requests& requests, const std::string& rpc) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_timeout))));
  if (rpc == "health") {
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status s = grpc::health::v1::Health::NewStub(channel)->Check(&context, {}, &response);
    if (!s.ok()) return absl::StrCat("Health/Check failed: ", s.error_code(), " ", s.error_message());
    if (response.status() != grpc::health::v1::HealthCheckResponse::SERVING) return "Health/Check: not SERVING";
    return "";
  }
  if (rpc == "verify_peer") {
    sigil::verifier::v1::VerifyPeerResponse response;
    grpc::Status s = Verifier::NewStub(channel)->VerifyPeer(&context, requests.verify[0], &response);
    if (!s.ok()) return absl::StrCat("VerifyPeer failed: ", s.error_code(), " ", s.error_message());
    if (absl::GetFlag(FLAGS_expect_allowed) && !response.allowed()) {
      return absl::StrCat("VerifyPeer did not allow the peer: ", response.reason(), " ", response.ShortDebugString());
    }
    return "";
  }
  // sign / sign_batch: the signature must verify against the identity's certificate.
  auto stub = Signer::NewStub(channel);
  sigil::signer::v1::GetCertificateChainRequest chain_request;
  chain_request.set_identity(requests.sign.identity());
  sigil::signer::v1::GetCertificateChainResponse chain;
  grpc::Status s = stub->GetCertificateChain(&context, chain_request, &chain);
  if (!s.ok() || chain.certificates_size() == 0) {
    return absl::StrCat("GetCertificateChain failed: ", s.error_code(), " ", s.error_message());
  }
  auto leaf = sigil::ParseDerCertificate(chain.certificates(0));
  if (!leaf.ok()) return "GetCertificateChain: unparsable leaf";
  grpc::ClientContext sign_context;
  sign_context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_timeout))));
  std::string signature;
  if (rpc == "sign") {
    sigil::signer::v1::SignResponse response;
    s = stub->Sign(&sign_context, requests.sign, &response);
    signature = response.signature();
  } else {
    sigil::signer::v1::SignBatchResponse response;
    s = stub->SignBatch(&sign_context, requests.batch, &response);
    if (s.ok() && (response.results_size() != requests.batch.requests_size() || response.results(0).code() != 0)) {
      return absl::StrCat("SignBatch item failed: ", response.ShortDebugString());
    }
    if (s.ok()) signature = response.results(0).signature();
  }
  if (!s.ok()) return absl::StrCat(rpc, " failed: ", s.error_code(), " ", s.error_message());
  const sigil::signer::SignatureScheme* scheme = sigil::signer::FindScheme(requests.sign.scheme());
  absl::Status verified =
      sigil::signer::VerifySignature(X509_get0_pubkey(leaf->get()), *scheme, requests.sign.digest(), signature);
  if (!verified.ok()) return absl::StrCat("the signature does not verify: ", verified.message());
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("closed-loop gRPC load generator for signerd/verifierd; see bench/loadgen.cc");
  absl::ParseCommandLine(argc, argv);
  const std::string rpc = absl::GetFlag(FLAGS_rpc);
  if (rpc != "health" && rpc != "sign" && rpc != "sign_batch" && rpc != "verify_peer") {
    Die(2, "--rpc must be health, sign, sign_batch or verify_peer");
  }
  const int channels = absl::GetFlag(FLAGS_channels);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  if (channels < 1 || concurrency < 1 || channels > 1024 || concurrency > 100000) {
    Die(2, "--channels must be 1-1024 and --concurrency 1-100000");
  }

  Requests requests;
  if (rpc == "sign" || rpc == "sign_batch") {
    if (absl::GetFlag(FLAGS_identity).empty()) Die(2, "--identity is required");
    uint32_t code = 0;
    if (!absl::SimpleHexAtoi(absl::GetFlag(FLAGS_scheme), &code)) Die(2, "--scheme must be hex, e.g. 0x0403");
    const sigil::signer::SignatureScheme* scheme = sigil::signer::FindScheme(code);
    if (scheme == nullptr) Die(2, "unknown --scheme");
    unsigned char random[32];
    RAND_bytes(random, sizeof(random));
    requests.sign.set_identity(absl::GetFlag(FLAGS_identity));
    requests.sign.set_scheme(code);
    requests.sign.set_digest(sigil::Digest(scheme->md(), std::string(reinterpret_cast<char*>(random), 32)));
    const int batch = absl::GetFlag(FLAGS_batch);
    if (batch < 1 || batch > 64) Die(2, "--batch must be 1-64");
    for (int i = 0; i < batch; ++i) *requests.batch.add_requests() = requests.sign;
  } else if (rpc == "verify_peer") {
    requests.verify = VerifyRequests();
  }

  auto credentials = Credentials();
  if (!credentials.ok()) Die(2, credentials.status().ToString());
  std::vector<std::shared_ptr<grpc::Channel>> pool;
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments args;
    // Distinct arguments keep gRPC from sharing one subchannel (connection) between the channels.
    args.SetInt("sigil.loadgen.channel", i);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    pool.push_back(grpc::CreateCustomChannel(absl::GetFlag(FLAGS_target), *credentials, args));
  }
  for (auto& channel : pool) {
    if (!channel->WaitForConnected(absl::ToChronoTime(absl::Now() + absl::Seconds(10)))) {
      Die(1, absl::StrCat("could not connect to ", absl::GetFlag(FLAGS_target)));
    }
  }
  // The check's call is a warm call in fixed-count mode too, so --requests runs skip it for verify_peer
  // (the first of N cold verifications must be one of the N).
  std::string check = "skipped";
  if (absl::GetFlag(FLAGS_requests) == 0 || rpc != "verify_peer") {
    check = Check(pool[0], requests, rpc);
    if (!check.empty()) Die(1, absl::StrCat("correctness check failed: ", check));
    check = "ok";
  }

  Run run;
  run.rpc = rpc;
  run.requests = &requests;
  run.timeout = absl::Seconds(absl::GetFlag(FLAGS_timeout));
  run.max_requests = absl::GetFlag(FLAGS_requests);
  const absl::Time begin = absl::Now();
  const double warmup = run.max_requests > 0 ? 0 : absl::GetFlag(FLAGS_warmup);
  run.measure_from = begin + absl::Seconds(warmup);
  run.measure_until = run.max_requests > 0 ? absl::InfiniteFuture()
                                           : run.measure_from + absl::Seconds(absl::GetFlag(FLAGS_duration));

  std::vector<std::unique_ptr<Slot>> slots;
  for (int i = 0; i < concurrency; ++i) slots.push_back(std::make_unique<Slot>(&run, pool[i % channels]));
  // Every slot is counted active before any can retire, so all_done cannot fire early.
  run.active_slots.fetch_add(1);
  for (auto& slot : slots) slot->Start();
  if (run.active_slots.fetch_sub(1) == 1) run.all_done.Notify();
  run.all_done.WaitForNotification();
  const absl::Time end = absl::Now();

  absl::MutexLock lock(&run.mu);
  std::sort(run.latencies_ns.begin(), run.latencies_ns.end());
  const double seconds = run.max_requests > 0 ? absl::ToDoubleSeconds(end - begin) : absl::GetFlag(FLAGS_duration);
  int64_t errors = 0;
  std::vector<std::string> codes;
  for (const auto& [code, count] : run.errors) {
    errors += count;
    codes.push_back(absl::StrCat("\"", code, "\":", count));
  }
  std::string latency = "{}";
  if (!run.latencies_ns.empty()) {
    double sum = 0;
    for (int64_t v : run.latencies_ns) sum += static_cast<double>(v);
    const auto& v = run.latencies_ns;
    latency = absl::StrCat("{\"p50\":", Fixed(PercentileUs(v, 50)), ",\"p90\":", Fixed(PercentileUs(v, 90)),
                           ",\"p99\":", Fixed(PercentileUs(v, 99)), ",\"p999\":", Fixed(PercentileUs(v, 99.9)),
                           ",\"max\":", Fixed(static_cast<double>(v.back()) / 1000.0),
                           ",\"mean\":", Fixed(sum / static_cast<double>(v.size()) / 1000.0), "}");
  }
  std::cout << "{\"label\":" << JsonString(absl::GetFlag(FLAGS_label)) << ",\"rpc\":\"" << rpc
            << "\",\"target\":" << JsonString(absl::GetFlag(FLAGS_target)) << ",\"channels\":" << channels
            << ",\"concurrency\":" << concurrency
            << ",\"batch\":" << (rpc == "sign_batch" ? absl::GetFlag(FLAGS_batch) : 1)
            << ",\"warmup_s\":" << Fixed(warmup) << ",\"duration_s\":" << Fixed(seconds, 3)
            << ",\"calls\":" << (run.ok + errors) << ",\"ok\":" << run.ok << ",\"errors\":" << errors
            << ",\"error_codes\":{" << absl::StrJoin(codes, ",") << "}"
            << ",\"calls_per_s\":" << Fixed(static_cast<double>(run.ok) / seconds)
            << ",\"items_per_s\":" << Fixed(static_cast<double>(run.items) / seconds)
            << ",\"latency_us\":" << latency << ",\"rejected\":" << run.rejected
            << ",\"check\":\"" << check << "\"}" << std::endl;
  if (!run.first_error.empty()) std::cerr << "loadgen: first error: " << run.first_error << "\n";
  const bool failed = errors > 0 || (rpc == "verify_peer" && absl::GetFlag(FLAGS_expect_allowed) && run.rejected > 0);
  return failed ? 1 : 0;
}
