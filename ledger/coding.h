// Byte encodings of the RocksDB keys. Integers are big-endian so that key
// order is numeric order (leaf order, tile order). Leaf indices are 0-based.
//
//   "L" be64(index)             -> SignedRecord bytes of leaf `index`
//   "H" leaf_hash[32]           -> be64(index)
//   "T" u8(level) be64(tile)    -> up to 256 concatenated 32-byte hashes
//   "C" be64(size)              -> signed checkpoint note for that size
//   "S" state_key               -> rulebook state (verifier/state.h)
//   "M" name                    -> metadata ("Mcheckpoint": latest note)
// docs/storage.md describes the layout.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "verifier/crypto.h"

namespace ledger::coding {

void PutBigEndian64(std::string* dst, uint64_t v);
// REQUIRES: src.size() >= 8
uint64_t DecodeBigEndian64(std::string_view src);

std::string LeafKey(uint64_t index);
std::string LeafHashKey(const verifier::Hash& leaf_hash);
std::string TileKey(int level, uint64_t tile_index);
std::string CheckpointKey(uint64_t size);
std::string StateKey(std::string_view state_key);
inline constexpr std::string_view kLatestCheckpointKey = "Mcheckpoint";
inline constexpr std::string_view kLeafPrefix = "L";
inline constexpr std::string_view kTilePrefix = "T";
inline constexpr std::string_view kStatePrefix = "S";

}  // namespace ledger::coding
