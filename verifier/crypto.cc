#include "verifier/crypto.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

namespace verifier {

void InitCrypto() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) {
      std::fprintf(stderr, "fatal: libsodium failed to initialise\n");
      std::abort();
    }
  });
}

Hash Sha256(ByteView data) {
  Hash out;
  crypto_hash_sha256(out.data(), data.data(), data.size());
  return out;
}

bool ConstantTimeEqual(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

SigningKey SigningKey::Generate() {
  InitCrypto();
  SigningKey k;
  crypto_sign_keypair(k.public_key_.data(), k.secret_.data());
  return k;
}

Result<SigningKey> SigningKey::FromSeed(ByteView seed) {
  InitCrypto();
  if (seed.size() != crypto_sign_SEEDBYTES) {
    return InvalidArgument("BAD_KEY", "an Ed25519 seed is 32 bytes");
  }
  SigningKey k;
  crypto_sign_seed_keypair(k.public_key_.data(), k.secret_.data(), seed.data());
  return k;
}

SigningKey::~SigningKey() { sodium_memzero(secret_.data(), secret_.size()); }

std::array<uint8_t, 32> SigningKey::seed() const {
  std::array<uint8_t, 32> s;
  crypto_sign_ed25519_sk_to_seed(s.data(), secret_.data());
  return s;
}

std::array<uint8_t, 64> SigningKey::Sign(ByteView message) const {
  std::array<uint8_t, 64> sig;
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(),
                       secret_.data());
  return sig;
}

bool VerifySignature(ByteView public_key, ByteView message, ByteView signature) {
  if (public_key.size() != kPublicKeySize || signature.size() != kSignatureSize)
    return false;
  return crypto_sign_verify_detached(signature.data(), message.data(),
                                     message.size(), public_key.data()) == 0;
}

Bytes PreAuthEncoding(std::string_view payload_type, ByteView body) {
  std::string head = "DSSEv1 " + std::to_string(payload_type.size()) + " ";
  head.append(payload_type);
  head += " " + std::to_string(body.size()) + " ";
  Bytes out(head.begin(), head.end());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Hash KeyId(ByteView public_key) { return Sha256(public_key); }

std::string HexEncode(ByteView data) {
  std::string out(data.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data.data(), data.size());
  out.pop_back();
  return out;
}

Result<Bytes> HexDecode(std::string_view hex) {
  Bytes out(hex.size() / 2 + 1);
  size_t len = 0;
  const char* end = nullptr;
  if (hex.size() % 2 != 0 ||
      sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr,
                     &len, &end) != 0 ||
      end != hex.data() + hex.size()) {
    return InvalidArgument("BAD_HEX", "not a hex string");
  }
  out.resize(len);
  return out;
}

std::string Base64Encode(ByteView data) {
  const int variant = sodium_base64_VARIANT_ORIGINAL;
  std::string out(sodium_base64_ENCODED_LEN(data.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), data.data(), data.size(), variant);
  out.resize(std::strlen(out.c_str()));
  return out;
}

Result<Bytes> Base64Decode(std::string_view text) {
  Bytes out(text.size() / 4 * 3 + 3);
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(),
                        nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return InvalidArgument("BAD_BASE64", "not standard padded base64");
  }
  out.resize(len);
  return out;
}

Result<Hash> ToHash(ByteView data) {
  if (data.size() != 32) {
    return InvalidArgument("BAD_HASH_LENGTH",
                           "a hash is 32 bytes, got " +
                               std::to_string(data.size()));
  }
  Hash h;
  std::memcpy(h.data(), data.data(), 32);
  return h;
}

Status WriteKeyFile(const std::string& path, const SigningKey& key) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return FailedPrecondition("KEY_FILE",
                              "cannot create " + path + ": " +
                                  std::strerror(errno) +
                                  " (existing key files are never overwritten)");
  }
  auto seed = key.seed();
  std::string text = HexEncode(seed) + "\n";
  sodium_memzero(seed.data(), seed.size());
  ssize_t n = ::write(fd, text.data(), text.size());
  bool ok = n == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  sodium_memzero(text.data(), text.size());
  ::close(fd);
  if (!ok) return Internal("KEY_FILE", "cannot write " + path);
  return Status::Ok();
}

Result<SigningKey> ReadKeyFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return NotFound("KEY_FILE", "cannot read key file " + path + ": " +
                                    std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    return PermissionDenied(
        "KEY_FILE_PERMISSIONS",
        path + " is readable by group or others; run: chmod 600 " + path);
  }
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  auto seed = HexDecode(text);
  sodium_memzero(text.data(), text.size());
  if (!seed.ok() || seed->size() != 32) {
    return InvalidArgument("KEY_FILE", path + " is not a hex Ed25519 seed");
  }
  auto key = SigningKey::FromSeed(*seed);
  sodium_memzero(seed->data(), seed->size());
  return key;
}

}  // namespace verifier
