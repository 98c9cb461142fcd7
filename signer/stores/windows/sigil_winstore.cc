// sigil_winstore.exe: the Windows store agent. Reads one request per line on stdin and answers each with
// zero or more data lines and then "ok" or "error <CODE> <message>" (CODE as absl spells it). Binary values
// are uppercase or lowercase hex. It is how the Linux-side tests drive the Windows store under Wine
// (signer/stores/windows/testing/wine_agent.h), and an operator's tool on Windows to see what the store
// lists, which certificate a cert_match selects, and the chain signerd would send.
//
//   list   <provider>                                   -> cert <der-hex> <key_ref>          (each with a key)
//   select <provider> <match_by> <0|1> <term-hex>       -> selected <der-hex> <reason>       (skip_invalid 0|1)
//   chain  <provider> <leaf-der-hex>                    -> cert <der-hex>                    (leaf first)
//   cas    <provider>                                   -> cert <der-hex>                    (ChainCaCertificates)
//   key    <provider> <thumbprint>                      -> key <RSA|ECDSA> <bits> <scheme,...>   (real KSP path)
//   sign   <provider> <thumbprint> <scheme> <digest-hex> -> signature <hex>                  (real KSP path)
//   ecdsa-der <raw-r||s-hex>                            -> der <hex>
// Test provisioning and the test key seam (ncrypt_key.h ImportRsaForTesting), never used by signerd:
//   test-import    <provider> <container> <der-hex>     adds to MY with a KSP key name
//   test-import-ca <provider> <der-hex>                 adds to Root (self-signed) or CA
//   test-key  <provider> <thumbprint> <rsa-blob-hex>                    -> key ...
//   test-sign <provider> <thumbprint> <rsa-blob-hex> <scheme> <digest-hex> -> signature <hex>
//
// <provider> is WindowsCurrentUser or WindowsLocalMachine; <scheme> is the TLS code in hex ("0804").
// Exit status: 0 when every request was answered (even with "error"), 2 for unreadable input.
#include <fcntl.h>
#include <io.h>

#include <cstdio>
#include <ctime>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "signer/stores/windows/cert_match.h"
#include "signer/stores/windows/cert_store.h"
#include "signer/stores/windows/ecdsa_der.h"
#include "signer/stores/windows/encoding.h"
#include "signer/stores/windows/ncrypt_key.h"

namespace sigil::winstore {
namespace {

using Lines = std::vector<std::string>;

std::vector<std::string> Split(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

Status Usage(const std::string& command) {
  return Status(Code::kInvalidArgument, "bad arguments for \"" + command + "\"; see sigil_winstore.cc for the protocol");
}

Result<std::string> Bytes(const std::string& hex, const char* what) {
  std::optional<std::string> bytes = HexDecode(hex);
  if (!bytes.has_value()) return Status(Code::kInvalidArgument, std::string(what) + " is not hex");
  return *bytes;
}

Result<uint16_t> SchemeCode(const std::string& hex) {
  char* end = nullptr;
  unsigned long code = std::strtoul(hex.c_str(), &end, 16);
  if (end == hex.c_str() || *end != '\0' || code > 0xffff) {
    return Status(Code::kInvalidArgument, "signature scheme \"" + hex + "\" is not a hex TLS code");
  }
  return static_cast<uint16_t>(code);
}

std::string KeyLine(const NCryptSigningKey& key) {
  std::string line = key.description().algorithm == KeyAlgorithm::kRsa ? "key RSA " : "key ECDSA ";
  line += std::to_string(key.description().bits) + " ";
  const std::vector<uint16_t> schemes = key.Schemes();
  for (size_t i = 0; i < schemes.size(); ++i) {
    char code[8];
    std::snprintf(code, sizeof(code), "%s%04x", i ? "," : "", schemes[i]);
    line += code;
  }
  return line;
}

Result<std::unique_ptr<NCryptSigningKey>> OpenKey(const CertStore& store, const std::string& thumbprint,
                                                  const std::string* test_blob_hex) {
  WINSTORE_ASSIGN_OR_RETURN(ScopedCertContext cert, store.FindByThumbprint(thumbprint));
  if (test_blob_hex == nullptr) return NCryptSigningKey::AcquireForCertificate(cert.get());
  WINSTORE_ASSIGN_OR_RETURN(std::string blob, Bytes(*test_blob_hex, "the RSA key blob"));
  return NCryptSigningKey::ImportRsaForTesting(blob, cert.get());
}

Status Handle(const std::vector<std::string>& words, Lines& out) {
  const std::string& command = words[0];
  const size_t n = words.size();
  if (command == "ecdsa-der") {
    if (n != 2) return Usage(command);
    WINSTORE_ASSIGN_OR_RETURN(std::string raw, Bytes(words[1], "the signature"));
    WINSTORE_ASSIGN_OR_RETURN(std::string der, EcdsaRawToDer(raw));
    out.push_back("der " + HexEncode(der));
    return OkStatus();
  }
  if (n < 2) return Usage(command);
  WINSTORE_ASSIGN_OR_RETURN(StoreLocation location, ParseProvider(words[1]));

  if (command == "test-import" && n == 4) {
    WINSTORE_ASSIGN_OR_RETURN(std::string der, Bytes(words[3], "the certificate"));
    return AddCertificateWithKeyName(location, der, ToUtf16(words[2]));
  }
  if (command == "test-import-ca" && n == 3) {
    WINSTORE_ASSIGN_OR_RETURN(std::string der, Bytes(words[2], "the certificate"));
    return AddCaCertificate(location, der);
  }

  WINSTORE_ASSIGN_OR_RETURN(CertStore store, CertStore::Open(location));
  if (command == "list" && n == 2) {
    WINSTORE_ASSIGN_OR_RETURN(std::vector<StoreEntry> entries, store.CertificatesWithKeys());
    for (const StoreEntry& entry : entries) out.push_back("cert " + HexEncode(entry.facts.der) + " " + entry.key_ref);
    return OkStatus();
  }
  if (command == "select" && n == 5) {
    WINSTORE_ASSIGN_OR_RETURN(MatchBy by, ParseMatchBy(words[2]));
    WINSTORE_ASSIGN_OR_RETURN(std::string term, Bytes(words[4], "the cert_match term"));
    WINSTORE_ASSIGN_OR_RETURN(std::vector<StoreEntry> entries, store.CertificatesWithKeys());
    std::vector<CertFacts> facts;
    for (const StoreEntry& entry : entries) facts.push_back(entry.facts);
    WINSTORE_ASSIGN_OR_RETURN(Selection selection,
                              SelectCertificate(facts, MatchSpec{by, term, words[3] == "1"},
                                                static_cast<int64_t>(std::time(nullptr))));
    out.push_back("selected " + HexEncode(facts[selection.index].der) + " " + selection.reason);
    return OkStatus();
  }
  if (command == "chain" && n == 3) {
    WINSTORE_ASSIGN_OR_RETURN(std::string leaf, Bytes(words[2], "the leaf certificate"));
    WINSTORE_ASSIGN_OR_RETURN(std::vector<std::string> chain, store.Chain(leaf));
    for (const std::string& der : chain) out.push_back("cert " + HexEncode(der));
    return OkStatus();
  }
  if (command == "cas" && n == 2) {
    WINSTORE_ASSIGN_OR_RETURN(std::vector<std::string> cas, store.ChainCaCertificates());
    for (const std::string& der : cas) out.push_back("cert " + HexEncode(der));
    return OkStatus();
  }
  const bool test = command.rfind("test-", 0) == 0;
  if ((command == "key" && n == 3) || (command == "test-key" && n == 4)) {
    WINSTORE_ASSIGN_OR_RETURN(std::unique_ptr<NCryptSigningKey> key,
                              OpenKey(store, words[2], test ? &words[3] : nullptr));
    out.push_back(KeyLine(*key));
    return OkStatus();
  }
  if ((command == "sign" && n == 5) || (command == "test-sign" && n == 6)) {
    const size_t base = test ? 4 : 3;
    WINSTORE_ASSIGN_OR_RETURN(uint16_t scheme, SchemeCode(words[base]));
    WINSTORE_ASSIGN_OR_RETURN(std::string digest, Bytes(words[base + 1], "the digest"));
    WINSTORE_ASSIGN_OR_RETURN(std::unique_ptr<NCryptSigningKey> key,
                              OpenKey(store, words[2], test ? &words[3] : nullptr));
    WINSTORE_ASSIGN_OR_RETURN(std::string signature, key->Sign(scheme, digest));
    out.push_back("signature " + HexEncode(signature));
    return OkStatus();
  }
  return Status(Code::kInvalidArgument, "unknown request \"" + command + "\" with " + std::to_string(n - 1) +
                                            " argument(s)");
}

std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

}  // namespace
}  // namespace sigil::winstore

int main() {
  using namespace sigil::winstore;
  // Binary stdio: no "\r\n" translation on the wire.
  _setmode(_fileno(stdout), _O_BINARY);
  _setmode(_fileno(stdin), _O_BINARY);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::vector<std::string> words = Split(line);
    if (words.empty()) continue;
    Lines out;
    Status status = Handle(words, out);
    for (const std::string& data : out) std::cout << data << "\n";
    if (status.ok()) {
      std::cout << "ok\n";
    } else {
      std::cout << "error " << CodeName(status.code()) << " " << OneLine(status.message()) << "\n";
    }
    std::cout.flush();
  }
  return std::cin.bad() ? 2 : 0;
}
