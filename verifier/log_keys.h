// Following a log's key rotations (docs/log-keys.md). A client pins the
// log's key once; when the log rotates it, the log appends a LogKeyRotation
// signed by the old key and the new one, and signs its checkpoints with the
// new key from the tree size after it. A client that pinned any earlier key
// follows the chain of rotations from its pin, each signed by the key
// before it, and refuses a chain that breaks. Pure and offline.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "verifier/note.h"
#include "verifier/status.h"

namespace verifier {

// A log key and the tree sizes it signs: [from_size, the next era's).
struct LogKeyEra {
  NoteVerifier key;
  uint64_t from_size = 0;
  std::optional<uint64_t> index;  // the rotation's leaf (none for the pinned key)
  std::string leaf;               // its bytes
};

// A rotation leaf as served: its index and exact bytes.
struct RotationLeaf {
  uint64_t index = 0;
  std::string leaf;
};

// The eras from `pinned` on, following `rotations` (every rotation of the
// log, oldest first). Rotations before the pinned key's (a client that
// pinned a later key) are skipped; from the pinned key on, each must be a
// LogKeyRotation of `origin` that names the key before it as old_key and is
// signed by it (ROTATION_NOT_SIGNED otherwise), announce a new key that
// signed it too, and take effect right after its own leaf. DATA_LOSS with
// BAD_ROTATION_CHAIN, ROTATION_NOT_SIGNED or BAD_ROTATION: a log, or a
// server, that shows such a chain is not to be trusted.
Result<std::vector<LogKeyEra>> FollowLogKeyRotations(const NoteVerifier& pinned,
                                                     const std::string& origin,
                                                     const std::vector<RotationLeaf>& rotations);

// The era whose key signs a checkpoint of `size`. REQUIRES: eras non-empty.
const LogKeyEra& EraForSize(const std::vector<LogKeyEra>& eras, uint64_t size);

// The static file of a log's rotations next to its tiles (docs/tiles.md):
// one line per rotation, oldest first, "<leaf index> <base64 of the leaf>".
inline constexpr char kLogKeyRotationsPath[] = "log-key-rotations";
std::string FormatLogKeyRotations(const std::vector<RotationLeaf>& rotations);
// MALFORMED_ROTATIONS (DATA_LOSS) for anything else.
Result<std::vector<RotationLeaf>> ParseLogKeyRotations(std::string_view text);

// The tree size a signed checkpoint note claims, signatures not verified.
Result<uint64_t> NoteSize(std::string_view note);

}  // namespace verifier
