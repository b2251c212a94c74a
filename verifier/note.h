// C2SP signed-note (https://c2sp.org/signed-note) with Ed25519 keys, and
// C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint) bodies. Notes made
// here verify with Go's golang.org/x/mod/sumdb/note and vice versa.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "verifier/crypto.h"
#include "verifier/status.h"

namespace verifier {

// A note verifier key: "<name>+<hash8 hex>+<base64(0x01 || pubkey)>".
struct NoteVerifier {
  std::string name;
  uint32_t key_hash = 0;  // first 4 bytes of SHA-256(name || "\n" || 0x01 || key)
  PublicKey public_key{};
};

uint32_t NoteKeyHash(std::string_view name, const PublicKey& key);
// REQUIRES: name is non-empty and has no '+', spaces or newlines.
std::string FormatVerifierKey(std::string_view name, const PublicKey& key);
Result<NoteVerifier> ParseVerifierKey(std::string_view vkey);
// Go's signer key format: "PRIVATE+KEY+<name>+<hash8>+<base64(0x01 || seed)>".
std::string FormatSignerKey(std::string_view name, const SigningKey& key);
Result<std::pair<std::string, SigningKey>> ParseSignerKey(std::string_view skey);

// Returns `text` followed by a blank line and one signature line.
// REQUIRES: text ends with '\n' and has no blank line.
std::string SignNote(std::string_view text, std::string_view name,
                     const SigningKey& key);

// Checks that `note` is well formed and carries a valid signature by
// `verifier`; returns the signed text. Signatures by other keys are ignored,
// as the spec requires; a bad signature by the same key is an error.
Result<std::string> OpenNote(std::string_view note, const NoteVerifier& verifier);

// A tlog-checkpoint body: origin, tree size, root hash, extension lines.
struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  std::vector<std::string> extensions;
};

std::string FormatCheckpoint(const Checkpoint& c);

// The signing time of a checkpoint, as an extension line
// "Timestamp: <unix nanoseconds>" (the line Rekor's checkpoints carry).
// provd writes it on every checkpoint it signs.
std::string TimestampExtension(int64_t unix_nanos);
// Unix seconds of the checkpoint's Timestamp line; 0 when it has none;
// MALFORMED_CHECKPOINT for a malformed or repeated one.
Result<int64_t> CheckpointTime(const Checkpoint& c);
Result<Checkpoint> ParseCheckpoint(std::string_view text);

// OpenNote + ParseCheckpoint + the origin must equal `expected_origin`.
Result<Checkpoint> VerifyCheckpoint(std::string_view note,
                                    const NoteVerifier& verifier,
                                    std::string_view expected_origin);

// The parts of a well-formed signed note, signatures not verified: the text
// (with its final newline) and each signature line in order. Well-formed as
// OpenNote requires: at most 1 MiB, UTF-8 without control characters but
// '\n', no blank line in the text, 1 to 100 signature lines.
struct NoteSignature {
  std::string name;
  uint32_t key_hash = 0;
  Bytes signature;  // the bytes after the 4-byte key hash
};
struct ParsedNote {
  std::string text;
  std::vector<NoteSignature> signatures;
};
Result<ParsedNote> ParseNote(std::string_view note);
// One signature line "— <name> <base64(hash || signature)>\n".
std::string FormatSignatureLine(const NoteSignature& sig);
// Non-empty UTF-8 with no spaces, '+' or control characters.
bool IsValidKeyName(std::string_view name);

}  // namespace verifier
