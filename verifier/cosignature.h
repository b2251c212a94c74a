// C2SP tlog-cosignature v1 (https://c2sp.org/tlog-cosignature): timestamped
// Ed25519 witness cosignatures on checkpoints, signature type 0x04.
//
//   key hash  = SHA-256(name || "\n" || 0x04 || 32-byte public key)[:4]
//   message   = "cosignature/v1\n" "time <T>\n" || checkpoint note text
//   line      = "— <name> " base64(key hash || u64 T big-endian || sig[64]) "\n"
//
// T is POSIX seconds, at most 2^63 - 1. The name is not signed, so one key
// must never serve two witness names. docs/witness.md has the vectors.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "verifier/crypto.h"
#include "verifier/note.h"
#include "verifier/status.h"

namespace verifier {

inline constexpr uint8_t kCosignatureV1Type = 0x04;
// Key hash, timestamp, Ed25519 signature.
inline constexpr size_t kCosignatureSize = 4 + 8 + 64;
inline constexpr uint64_t kMaxCosignatureTime = (uint64_t{1} << 63) - 1;

// A witness verifier key: "<name>+<hash8 hex>+<base64(0x04 || pubkey)>".
struct WitnessVerifier {
  std::string name;
  uint32_t key_hash = 0;
  PublicKey public_key{};
};

uint32_t CosignatureKeyHash(std::string_view name, const PublicKey& key);
// REQUIRES: IsValidKeyName(name).
std::string FormatWitnessKey(std::string_view name, const PublicKey& key);
// MALFORMED_WITNESS_KEY, or WRONG_KEY_TYPE for a vkey of another type (a
// log's 0x01 key is not a witness key).
Result<WitnessVerifier> ParseWitnessKey(std::string_view vkey);

// The signed message of a cosignature at `timestamp` on `text` (a note text,
// final newline included).
std::string CosignatureMessage(std::string_view text, uint64_t timestamp);

// One cosignature line ("— ...\n") on the checkpoint `text` at `timestamp`.
// MALFORMED_CHECKPOINT if text is not a checkpoint; BAD_TIMESTAMP beyond 2^63-1;
// MALFORMED_WITNESS_KEY for an invalid name.
Result<std::string> CosignCheckpoint(std::string_view text, std::string_view name,
                                     const SigningKey& key, uint64_t timestamp);

// Verifies the cosignature(s) by `witness` on `note` and returns the
// timestamp (the latest, if the key signed more than once; every one must
// verify). Errors: MALFORMED_NOTE; NO_COSIGNATURE (none by that name and key
// hash); MALFORMED_COSIGNATURE (wrong length, timestamp beyond 2^63-1);
// BAD_COSIGNATURE (the signature does not verify).
Result<uint64_t> VerifyCosignature(std::string_view note, const WitnessVerifier& witness);
// The same on a note already parsed.
Result<uint64_t> VerifyCosignature(const ParsedNote& note, const WitnessVerifier& witness);

// Appends signature lines (each "— <name> <base64>\n", as an add-checkpoint
// response) to a signed note. Lines already on the note are skipped. On any
// malformed line, or if the result is not a well-formed note, nothing is
// added and MALFORMED_NOTE is returned.
Result<std::string> AddSignatureLines(std::string_view note, std::string_view lines);

// The signatures on `note` whose key hash is `key_hash`, in note order.
std::vector<NoteSignature> SignaturesByKeyHash(const ParsedNote& note, uint32_t key_hash);

}  // namespace verifier
