// The Merkle tree on storage, laid out as C2SP tlog-tiles: tiles of height 8
// (up to 256 hashes). The tile at level L, index i holds the hashes of the
// complete nodes at tree height 8L numbered 256i..256i+255. Any node hash is
// one tile read plus at most 255 in-memory hashes, so any proof costs
// O(log n) reads. Leaves are 0-based.
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "ledger/kv_store.h"
#include "verifier/merkle.h"

namespace ledger {

using verifier::Hash;

inline constexpr int kTileHeight = 8;
inline constexpr uint64_t kTileWidth = 256;

// Reads node hashes and proofs from stored tiles. Thread-safe. Full tiles are
// immutable and cached; partial tiles are read each time.
class TileReader {
 public:
  explicit TileReader(const KvStore* kv, size_t cache_tiles = 4096)
      : kv_(kv), cache_capacity_(cache_tiles) {}

  // Hash of the complete node covering leaves [begin, end) of a tree of at
  // least `end` leaves. REQUIRES: end - begin is a power of two dividing begin.
  Result<Hash> SubtreeHash(uint64_t begin, uint64_t end) const;
  Result<Hash> RootAt(uint64_t size) const;
  Result<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t size) const;
  Result<std::vector<Hash>> ConsistencyProof(uint64_t size1, uint64_t size2) const;

 private:
  // The stored hashes [first, first + count) at tile level `level`.
  Result<std::vector<Hash>> StoredHashes(int level, uint64_t first, uint64_t count) const;
  Result<std::string> Tile(int level, uint64_t tile_index, uint64_t min_width) const;
  verifier::SubtreeHashFn Fn() const;

  const KvStore* kv_;
  size_t cache_capacity_;
  mutable std::mutex mu_;
  // Full tiles only, LRU. GUARDED_BY(mu_)
  mutable std::list<std::pair<uint64_t, std::string>> lru_;
  mutable std::unordered_map<uint64_t, decltype(lru_)::iterator> cache_;
};

// The growing right edge of the tree: appends leaf hashes and emits the tile
// writes for them. Single writer (the sequencer); not thread-safe.
class TreeWriter {
 public:
  // Restores the writer for a stored tree of `size` leaves.
  static Result<TreeWriter> Open(const TileReader& reader, const KvStore* kv, uint64_t size);

  void Append(const Hash& leaf_hash);
  // Adds every tile changed since the last flush to `batch`.
  void FlushTiles(KvBatch* batch);

  uint64_t size() const { return range_.size(); }
  Hash Root() const { return range_.Root(); }

 private:
  struct OpenTile {
    uint64_t index = 0;
    std::string bytes;  // up to 256 hashes
    bool dirty = false;
  };
  verifier::CompactRange range_;
  std::vector<OpenTile> tiles_;  // one per level
  std::vector<std::pair<std::string, std::string>> completed_;  // full tiles to write
};

}  // namespace ledger
