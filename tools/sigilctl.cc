// sigilctl: a small operator CLI for Sigil daemons, for machines without grpcurl (Debian 12 does not
// package it). Every call has a deadline and uses mutual TLS.
//
//   sigilctl --target H:P --ca CA --cert CERT --key KEY health
//   sigilctl ... list
//   sigilctl ... chain --identity NAME            (PEM chain on stdout)
//   sigilctl ... sign --identity NAME --message TEXT [--scheme 0x0804]
//       signs the scheme's hash of TEXT, verifies the signature against the identity's certificate and
//       exits 0 only when it verifies.
//   sigilctl ... cache-stats                      (verifierd: Cache/GetStats as JSON, zeros included)
//   sigilctl ... cache-lookup (--fingerprint B64 | --subject_cert CERT.pem)   (the entry as JSON)
//   sigilctl ... cache-purge (--fingerprint B64 | --status GOOD|REVOKED|UNKNOWN | --all)
//   sigilctl ... cache-export [--file cache.json]                     (stdout without --file)
//   sigilctl ... cache-import --file cache.json --issuers CA-bundle.pem
#include <openssl/evp.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/channel.h"
#include "common/openssl_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/client_context.h"
#include "sigil/cache/v1/cache.grpc.pb.h"
#include "sigil/signer/v1/signer.grpc.pb.h"
#include "signer/signature_scheme.h"

ABSL_FLAG(std::string, target, "127.0.0.1:7443", "daemon host:port");
ABSL_FLAG(std::string, ca, "", "PEM CA bundle for the daemon's certificate");
ABSL_FLAG(std::string, cert, "", "PEM client certificate (mTLS)");
ABSL_FLAG(std::string, key, "", "PEM client key (mTLS)");
ABSL_FLAG(bool, plaintext, false, "connect without TLS (development daemons only)");
ABSL_FLAG(double, timeout, 5.0, "deadline of each call, seconds");
ABSL_FLAG(std::string, identity, "", "identity name (chain, sign)");
ABSL_FLAG(std::string, message, "hello from sigilctl", "message to sign (sign)");
ABSL_FLAG(std::string, scheme, "", "TLS SignatureScheme code, e.g. 0x0804 (sign; default: the identity's "
                                   "preferred scheme)");

ABSL_FLAG(std::string, fingerprint, "", "certificate fingerprint, base64 SHA-256 (cache-lookup, cache-purge)");
ABSL_FLAG(std::string, subject_cert, "", "PEM certificate to look up (cache-lookup)");
ABSL_FLAG(std::string, status, "", "GOOD, REVOKED or UNKNOWN (cache-purge)");
ABSL_FLAG(bool, all, false, "purge every entry (cache-purge)");
ABSL_FLAG(std::string, file, "", "cache.json to write (cache-export) or read (cache-import)");
ABSL_FLAG(std::string, issuers, "", "PEM bundle of the issuing CAs (cache-import)");

namespace {

int Fail(absl::string_view what, const grpc::Status& status) {
  std::cerr << what << " failed: " << status.error_code() << " " << status.error_message() << "\n";
  return 1;
}

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_timeout))));
}

// Prefers PSS-SHA256 for RSA (what TLS 1.3 uses) and the curve's own scheme for EC.
uint32_t PreferredScheme(const std::vector<uint32_t>& schemes) {
  for (uint32_t s : schemes) {
    if (s == 0x0804) return s;
  }
  return schemes.empty() ? 0 : schemes.front();
}

int Health(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  SetDeadline(&context);
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) return Fail("Health/Check", status);
  std::cout << grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status()) << "\n";
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? 0 : 1;
}

int List(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = sigil::signer::v1::Signer::NewStub(channel);
  grpc::ClientContext context;
  SetDeadline(&context);
  sigil::signer::v1::ListIdentitiesResponse response;
  grpc::Status status = stub->ListIdentities(&context, {}, &response);
  if (!status.ok()) return Fail("ListIdentities", status);
  for (const auto& identity : response.identities()) {
    std::cout << identity.name() << "\t" << identity.key_type() << "-" << identity.key_bits() << "\t"
              << identity.subject() << "\tschemes:";
    for (uint32_t s : identity.schemes()) std::cout << " " << sigil::signer::SchemeLabel(s);
    std::cout << "\n";
  }
  return 0;
}

int Chain(const std::shared_ptr<grpc::Channel>& channel, sigil::signer::v1::GetCertificateChainResponse* out,
          bool print) {
  auto stub = sigil::signer::v1::Signer::NewStub(channel);
  grpc::ClientContext context;
  SetDeadline(&context);
  sigil::signer::v1::GetCertificateChainRequest request;
  request.set_identity(absl::GetFlag(FLAGS_identity));
  grpc::Status status = stub->GetCertificateChain(&context, request, out);
  if (!status.ok()) return Fail("GetCertificateChain", status);
  if (print) {
    for (const std::string& der : out->certificates()) {
      auto cert = sigil::ParseDerCertificate(der);
      if (cert.ok()) std::cout << sigil::CertificatePem(cert->get());
    }
  }
  return 0;
}

int Sign(const std::shared_ptr<grpc::Channel>& channel) {
  sigil::signer::v1::GetCertificateChainResponse chain;
  if (int rc = Chain(channel, &chain, false); rc != 0) return rc;
  uint32_t code = PreferredScheme({chain.schemes().begin(), chain.schemes().end()});
  if (!absl::GetFlag(FLAGS_scheme).empty()) {
    std::string text = absl::GetFlag(FLAGS_scheme);
    uint32_t parsed = 0;
    bool ok = (text.rfind("0x", 0) == 0) ? absl::SimpleHexAtoi(text.substr(2), &parsed)
                                          : absl::SimpleAtoi(text, &parsed);
    if (!ok) {
      std::cerr << "--scheme must be a number such as 0x0804\n";
      return 2;
    }
    code = parsed;
  }
  const sigil::signer::SignatureScheme* scheme = sigil::signer::FindScheme(code);
  if (scheme == nullptr) {
    std::cerr << "unknown scheme " << sigil::signer::SchemeLabel(code) << "\n";
    return 2;
  }
  std::string message = absl::GetFlag(FLAGS_message);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_Digest(message.data(), message.size(), md, &md_len, scheme->md(), nullptr);
  std::string digest(reinterpret_cast<char*>(md), md_len);

  auto stub = sigil::signer::v1::Signer::NewStub(channel);
  grpc::ClientContext context;
  SetDeadline(&context);
  sigil::signer::v1::SignRequest request;
  request.set_identity(absl::GetFlag(FLAGS_identity));
  request.set_scheme(code);
  request.set_digest(digest);
  sigil::signer::v1::SignResponse response;
  grpc::Status status = stub->Sign(&context, request, &response);
  if (!status.ok()) return Fail("Sign", status);

  auto leaf = sigil::ParseDerCertificate(chain.certificates(0));
  if (!leaf.ok()) {
    std::cerr << "identity certificate: " << leaf.status().message() << "\n";
    return 1;
  }
  absl::Status verified = sigil::signer::VerifySignature(X509_get0_pubkey(leaf->get()), *scheme, digest,
                                                         response.signature());
  std::cout << "identity:  " << request.identity() << "\nscheme:    " << sigil::signer::SchemeLabel(code)
            << "\nsignature: " << absl::Base64Escape(response.signature()) << "\nverified:  "
            << (verified.ok() ? "yes, with the identity certificate's public key" : verified.ToString())
            << "\n";
  return verified.ok() ? 0 : 1;
}

void PrintJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  std::cout << json;
}

int CacheCommand(const std::shared_ptr<grpc::Channel>& channel, const std::string& command) {
  namespace cv1 = sigil::cache::v1;
  auto stub = cv1::Cache::NewStub(channel);
  grpc::ClientContext context;
  SetDeadline(&context);
  if (command == "cache-stats") {
    cv1::CacheStats stats;
    grpc::Status status = stub->GetStats(&context, {}, &stats);
    if (!status.ok()) return Fail("Cache/GetStats", status);
    PrintJson(stats);
    return 0;
  }
  if (command == "cache-lookup") {
    cv1::LookupRequest request;
    if (!absl::GetFlag(FLAGS_subject_cert).empty()) {
      auto pem = sigil::ReadFileToString(absl::GetFlag(FLAGS_subject_cert));
      auto certs = pem.ok() ? sigil::ParsePemCertificates(*pem, "--subject_cert") : pem.status();
      if (!certs.ok()) {
        std::cerr << certs.status().message() << "\n";
        return 2;
      }
      request.set_certificate(sigil::CertificateDer(certs->front().get()));
    } else {
      request.set_fingerprint(absl::GetFlag(FLAGS_fingerprint));
    }
    cv1::CacheEntry entry;
    grpc::Status status = stub->Lookup(&context, request, &entry);
    if (!status.ok()) return Fail("Cache/Lookup", status);
    PrintJson(entry);
    return 0;
  }
  if (command == "cache-purge") {
    cv1::PurgeRequest request;
    if (absl::GetFlag(FLAGS_all)) {
      request.set_all(true);
    } else if (!absl::GetFlag(FLAGS_status).empty()) {
      cv1::ResponseStatus status;
      if (!cv1::ResponseStatus_Parse(absl::GetFlag(FLAGS_status), &status)) {
        std::cerr << "--status must be GOOD, REVOKED or UNKNOWN\n";
        return 2;
      }
      request.set_status(status);
    } else {
      request.set_fingerprint(absl::GetFlag(FLAGS_fingerprint));
    }
    cv1::PurgeResponse response;
    grpc::Status status = stub->Purge(&context, request, &response);
    if (!status.ok()) return Fail("Cache/Purge", status);
    std::cout << "purged " << response.purged() << "\n";
    return 0;
  }
  if (command == "cache-export") {
    cv1::ExportNatsCacheResponse response;
    grpc::Status status = stub->ExportNatsCache(&context, {}, &response);
    if (!status.ok()) return Fail("Cache/ExportNatsCache", status);
    if (absl::GetFlag(FLAGS_file).empty()) {
      std::cout << response.cache_json();
      return 0;
    }
    std::ofstream out(absl::GetFlag(FLAGS_file), std::ios::binary | std::ios::trunc);
    out << response.cache_json();
    return out.good() ? 0 : 1;
  }
  if (command == "cache-import") {
    cv1::ImportNatsCacheRequest request;
    auto json = sigil::ReadFileToString(absl::GetFlag(FLAGS_file));
    auto pem = sigil::ReadFileToString(absl::GetFlag(FLAGS_issuers));
    auto issuers = pem.ok() ? sigil::ParsePemCertificates(*pem, "--issuers") : pem.status();
    if (!json.ok() || !issuers.ok()) {
      std::cerr << (json.ok() ? issuers.status() : json.status()).message() << "\n";
      return 2;
    }
    request.set_cache_json(*json);
    for (const auto& issuer : *issuers) request.add_issuers(sigil::CertificateDer(issuer.get()));
    cv1::ImportNatsCacheResponse response;
    grpc::Status status = stub->ImportNatsCache(&context, request, &response);
    if (!status.ok()) return Fail("Cache/ImportNatsCache", status);
    std::cout << "imported " << response.imported() << ", rejected " << response.rejected() << "\n";
    for (const std::string& line : response.rejections()) std::cout << "  " << line << "\n";
    return 0;
  }
  std::cerr << "unknown command '" << command << "'\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "sigilctl --target HOST:PORT --ca CA.pem --cert CERT.pem --key KEY.pem (health|list|chain|sign|cache-stats|"
      "cache-lookup|cache-purge|cache-export|cache-import)");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) {
    std::cerr << "usage: sigilctl [flags] health|list|chain|sign|cache-stats|cache-lookup|cache-purge|"
                 "cache-export|cache-import (see --help)\n";
    return 2;
  }
  sigil::client::ChannelOptions options;
  options.target = absl::GetFlag(FLAGS_target);
  options.ca_file = absl::GetFlag(FLAGS_ca);
  options.cert_file = absl::GetFlag(FLAGS_cert);
  options.key_file = absl::GetFlag(FLAGS_key);
  options.plaintext = absl::GetFlag(FLAGS_plaintext);
  auto channel = sigil::client::MakeChannel(options);
  if (!channel.ok()) {
    std::cerr << channel.status().message() << "\n";
    return 2;
  }
  std::string command = args[1];
  if (command == "health") return Health(*channel);
  if (command == "list") return List(*channel);
  if (command == "chain") {
    sigil::signer::v1::GetCertificateChainResponse chain;
    return Chain(*channel, &chain, true);
  }
  if (command == "sign") return Sign(*channel);
  if (command.rfind("cache-", 0) == 0) return CacheCommand(*channel, command);
  std::cerr << "unknown command '" << command << "'\n";
  return 2;
}
