#include "ledger/coding.h"

namespace ledger::coding {

void PutBigEndian64(std::string* dst, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    dst->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

uint64_t DecodeBigEndian64(std::string_view src) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(src[i]);
  return v;
}

std::string LeafKey(uint64_t index) {
  std::string k(kLeafPrefix);
  PutBigEndian64(&k, index);
  return k;
}

std::string LeafHashKey(const verifier::Hash& leaf_hash) {
  std::string k = "H";
  k.append(verifier::AsStringView(leaf_hash));
  return k;
}

std::string TileKey(int level, uint64_t tile_index) {
  std::string k(kTilePrefix);
  k.push_back(static_cast<char>(level));
  PutBigEndian64(&k, tile_index);
  return k;
}

std::string CheckpointKey(uint64_t size) {
  std::string k = "C";
  PutBigEndian64(&k, size);
  return k;
}

std::string StateKey(std::string_view state_key) {
  std::string k(kStatePrefix);
  k.append(state_key);
  return k;
}

}  // namespace ledger::coding
