// Hashing, Ed25519 and encodings, all through libsodium.
//
// Every signature in the system is domain-separated: records and device
// attestations are signed over DSSE's pre-authentication encoding with a
// payload type of their own; checkpoints are signed as C2SP signed notes.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "verifier/status.h"

namespace verifier {

using Hash = std::array<uint8_t, 32>;
using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;
using PublicKey = std::array<uint8_t, 32>;

inline constexpr size_t kPublicKeySize = 32;
inline constexpr size_t kSignatureSize = 64;

// DSSE payload type of SignedRecord signatures.
inline constexpr std::string_view kRecordPayloadType =
    "application/vnd.provenance.record.v1+protobuf";

// Calls sodium_init() once; safe from any thread. Aborts if it fails.
void InitCrypto();

inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsStringView(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

Hash Sha256(ByteView data);
inline Hash Sha256(std::string_view data) { return Sha256(AsBytes(data)); }

// Constant-time equality of two equal-length byte strings.
bool ConstantTimeEqual(ByteView a, ByteView b);

// An Ed25519 key pair. The secret key is wiped on destruction; it is never
// printed by any function here.
class SigningKey {
 public:
  static SigningKey Generate();
  // REQUIRES: seed.size() == 32
  static Result<SigningKey> FromSeed(ByteView seed);

  SigningKey(const SigningKey&) = default;
  SigningKey& operator=(const SigningKey&) = default;
  ~SigningKey();

  const PublicKey& public_key() const { return public_key_; }
  std::array<uint8_t, 32> seed() const;
  std::array<uint8_t, 64> Sign(ByteView message) const;

 private:
  SigningKey() = default;
  PublicKey public_key_{};
  std::array<uint8_t, 64> secret_{};
};

bool VerifySignature(ByteView public_key, ByteView message, ByteView signature);

// DSSE pre-authentication encoding:
// "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in ASCII decimal.
Bytes PreAuthEncoding(std::string_view payload_type, ByteView body);

// Key id of a record-signing key: SHA-256 of the raw public key.
Hash KeyId(ByteView public_key);

std::string HexEncode(ByteView data);
Result<Bytes> HexDecode(std::string_view hex);
// Standard base64 with padding (RFC 4648 §4).
std::string Base64Encode(ByteView data);
Result<Bytes> Base64Decode(std::string_view text);

// Copies exactly 32 bytes into a Hash. Fails on any other length.
Result<Hash> ToHash(ByteView data);

// Writes a secret key file (the 32-byte seed, hex) created with mode 0600;
// refuses to overwrite. ReadKeyFile refuses group- or world-readable files.
Status WriteKeyFile(const std::string& path, const SigningKey& key);
Result<SigningKey> ReadKeyFile(const std::string& path);

}  // namespace verifier
