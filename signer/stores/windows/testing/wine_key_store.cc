#include "signer/stores/windows/testing/wine_key_store.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/openssl_util.h"
#include "signer/matching.h"

namespace sigil::signer::testing {
namespace {

std::string Hex(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

absl::StatusOr<std::string> Unhex(absl::string_view hex, absl::string_view what) {
  if (hex.size() % 2 != 0 || hex.find_first_not_of("0123456789abcdefABCDEF") != absl::string_view::npos) {
    return absl::InternalError(absl::StrCat("the agent's ", what, " is not hex"));
  }
  return absl::HexStringToBytes(hex);
}

absl::StatusOr<std::vector<std::string>> DerList(const WineAgent& agent, const std::string& request) {
  auto lines = agent.Call(request);
  if (!lines.ok()) return lines.status();
  std::vector<std::string> out;
  for (const std::string& value : WineAgent::Values(*lines, "cert")) {
    std::vector<std::string> words = absl::StrSplit(value, absl::MaxSplits(' ', 1));
    auto der = Unhex(words[0], "certificate");
    if (!der.ok()) return der.status();
    out.push_back(*std::move(der));
  }
  return out;
}

void AppendLe32(std::string& out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

absl::StatusOr<std::string> BigEndian(EVP_PKEY* key, const char* name, int width) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, absl::StrCat("RSA parameter ", name));
  }
  BignumPtr owner(bn);
  std::string out(width > 0 ? width : BN_num_bytes(bn), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  return out;
}

// A SigningKey that signs through the agent's test seam ("test-sign").
class WineSigningKey : public SigningKey {
 public:
  WineSigningKey(std::shared_ptr<const WineAgent> agent, std::string request_prefix, KeyInfo info,
                 std::vector<uint16_t> schemes)
      : agent_(std::move(agent)), request_prefix_(std::move(request_prefix)), info_(info), schemes_(std::move(schemes)) {}

  const KeyInfo& info() const override { return info_; }
  std::vector<uint16_t> Schemes() const override { return schemes_; }
  bool MayBlock() const override { return true; }

  absl::StatusOr<std::string> Sign(const SignatureScheme& scheme, absl::string_view digest) override {
    auto lines = agent_->Call(absl::StrFormat("test-sign %s %04x %s", request_prefix_, scheme.code, Hex(digest)));
    if (!lines.ok()) return lines.status();
    std::vector<std::string> values = WineAgent::Values(*lines, "signature");
    if (values.size() != 1) return absl::InternalError("the agent returned no signature");
    return Unhex(values[0], "signature");
  }

 private:
  const std::shared_ptr<const WineAgent> agent_;
  // "<provider> <thumbprint> <blob-hex>"
  const std::string request_prefix_;
  const KeyInfo info_;
  const std::vector<uint16_t> schemes_;
};

}  // namespace

void TestKeyBlobs::Add(const std::string& cert_der, std::string blob) {
  absl::MutexLock lock(&mu_);
  blobs_[cert_der] = std::move(blob);
}

std::optional<std::string> TestKeyBlobs::Find(const std::string& cert_der) const {
  absl::MutexLock lock(&mu_);
  auto it = blobs_.find(cert_der);
  if (it == blobs_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<std::string> RsaPrivateBlob(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) return absl::InvalidArgumentError("not an RSA key");
  const int bits = EVP_PKEY_get_bits(key);
  auto e = BigEndian(key, OSSL_PKEY_PARAM_RSA_E, 0);
  auto n = BigEndian(key, OSSL_PKEY_PARAM_RSA_N, (bits + 7) / 8);
  auto p = BigEndian(key, OSSL_PKEY_PARAM_RSA_FACTOR1, 0);
  auto q = BigEndian(key, OSSL_PKEY_PARAM_RSA_FACTOR2, 0);
  for (const auto* part : {&e, &n, &p, &q}) {
    if (!part->ok()) return part->status();
  }
  std::string blob;
  AppendLe32(blob, 0x32415352);  // BCRYPT_RSAPRIVATE_MAGIC "RSA2"
  AppendLe32(blob, static_cast<uint32_t>(bits));
  AppendLe32(blob, static_cast<uint32_t>(e->size()));
  AppendLe32(blob, static_cast<uint32_t>(n->size()));
  AppendLe32(blob, static_cast<uint32_t>(p->size()));
  AppendLe32(blob, static_cast<uint32_t>(q->size()));
  return absl::StrCat(blob, *e, *n, *p, *q);
}

absl::StatusOr<std::vector<StoreCertificate>> WineKeyStore::Certificates() {
  auto lines = agent_->Call(absl::StrCat("list ", provider_));
  if (!lines.ok()) return lines.status();
  std::vector<StoreCertificate> out;
  for (const std::string& value : WineAgent::Values(*lines, "cert")) {
    std::vector<std::string> words = absl::StrSplit(value, absl::MaxSplits(' ', 1));
    auto der = Unhex(words[0], "certificate");
    if (!der.ok()) return der.status();
    out.push_back(StoreCertificate{*std::move(der), words.size() > 1 ? words[1] : ""});
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> WineKeyStore::CaCertificates() {
  return DerList(*agent_, absl::StrCat("cas ", provider_));
}

absl::StatusOr<std::unique_ptr<SigningKey>> WineKeyStore::OpenKey(const StoreCertificate& certificate) {
  std::optional<std::string> blob = keys_->Find(certificate.der);
  if (!blob.has_value()) return absl::NotFoundError("the fixture holds no key for this certificate");
  const std::string request_prefix = absl::StrCat(provider_, " ", Thumbprint(certificate.der), " ", Hex(*blob));
  auto lines = agent_->Call(absl::StrCat("test-key ", request_prefix));
  if (!lines.ok()) return lines.status();
  std::vector<std::string> values = WineAgent::Values(*lines, "key");
  // "RSA 2048 0806,0805,..."
  std::vector<std::string> words = values.size() == 1 ? absl::StrSplit(values[0], ' ') : std::vector<std::string>{};
  KeyInfo info;
  if (words.size() != 3 || words[0] != "RSA" || !absl::SimpleAtoi(words[1], &info.bits)) {
    return absl::InternalError("unexpected key description from the agent");
  }
  info.type = KeyType::kRsa;
  std::vector<uint16_t> schemes;
  for (absl::string_view code : absl::StrSplit(words[2], ',', absl::SkipEmpty())) {
    uint32_t value = 0;
    if (!absl::SimpleHexAtoi(code, &value)) return absl::InternalError("unexpected scheme list from the agent");
    schemes.push_back(static_cast<uint16_t>(value));
  }
  return std::unique_ptr<SigningKey>(new WineSigningKey(agent_, request_prefix, info, std::move(schemes)));
}

}  // namespace sigil::signer::testing
