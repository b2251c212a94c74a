// C2SP tlog-tiles (https://c2sp.org/tlog-tiles): resource paths, entry
// bundles and tile bytes. Pure: no storage, no I/O. docs/tiles.md.
//
// A tile at level L, index N holds up to 256 consecutive hashes at tree height
// 8L; level 0 holds leaf hashes. The entry bundle N holds leaves
// [256N, 256N + 256), each a big-endian uint16 length then the leaf bytes.
// A tile or bundle of width W < 256 is partial and served at ".p/W".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "verifier/crypto.h"
#include "verifier/status.h"

namespace verifier {

inline constexpr int kTileHeight = 8;
inline constexpr uint64_t kTileWidth = 256;
inline constexpr size_t kMaxBundleEntryBytes = 65535;  // the uint16 prefix
inline constexpr int kEntriesLevel = -1;               // TileRef.level of a bundle

struct TileRef {
  int level = 0;       // 0..63, or kEntriesLevel for an entry bundle
  uint64_t index = 0;  // N
  uint64_t width = 0;  // 1..256; 256 is a full tile

  bool full() const { return width == kTileWidth; }
  bool operator==(const TileRef&) const = default;
};

// "x001/x234/067" for 1234067: zero-padded 3-digit elements, all but the last
// prefixed with 'x'.
std::string TileIndexPath(uint64_t index);
// "tile/<L>/<N>[.p/<W>]" or "tile/entries/<N>[.p/<W>]", relative to the
// log's prefix. REQUIRES: 1 <= width <= 256, level in [-1, 63].
std::string TilePath(const TileRef& tile);
// The inverse of TilePath; MALFORMED_TILE_PATH for anything else (leading
// zeros, missing 'x', width 0 or >= 256 after ".p/", ...).
Result<TileRef> ParseTilePath(std::string_view path);

// Width of the rightmost tile at `level` for a tree of `size` leaves:
// floor(size / 256^level) mod 256; 0 when that tile is full or absent.
uint64_t PartialTileWidth(int level, uint64_t size);

// The tiles and bundles that a log growing from `old_size` to `new_size`
// leaves must publish: every tile that gains hashes, full ones at width 256
// and the rightmost of each level at its partial width, in level order
// (bundles first). Empty when new_size <= old_size.
std::vector<TileRef> TilesToPublish(uint64_t old_size, uint64_t new_size);

// The tile at `level` that holds the stored hash for [begin, end): a
// complete subtree of 256^level leaves or more. For the proof builders.
struct TileSlot {
  TileRef tile;       // width: the smallest width that contains the slot
  uint64_t slot = 0;  // first hash within the tile
  uint64_t count = 0; // hashes to combine (a power of two <= 256)
};
// REQUIRES: [begin, end) is a complete aligned subtree.
TileSlot SlotOf(uint64_t begin, uint64_t end);

// Appends one entry; INVALID_ARGUMENT/ENTRY_TOO_LARGE above 65535 bytes.
Status AppendBundleEntry(std::string* bundle, std::string_view entry);
// Exactly `count` entries and nothing after them; MALFORMED_BUNDLE otherwise.
Result<std::vector<std::string>> ParseEntryBundle(std::string_view bytes, uint64_t count);
// Exactly `width` hashes (32 * width bytes); MALFORMED_TILE otherwise.
Result<std::vector<Hash>> ParseTile(std::string_view bytes, uint64_t width);

}  // namespace verifier
