// The Merkle tree on storage, laid out as C2SP tlog-tiles: tiles of height 8
// (up to 256 hashes). The tile at level L, index i holds the hashes of the
// complete nodes at tree height 8L numbered 256i..256i+255. Leaves are
// 0-based.
//
// Reads go through a cache of expanded tiles: a tile with every complete node
// of its height-8 subtree hashed once (at most 511 hashes, 16 KiB). A node
// hash is then one cache lookup, and a proof a handful of them (one per tile
// level it crosses); the tile is read and hashed only on a miss.
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "ledger/kv_store.h"
#include "verifier/merkle.h"
#include "verifier/tlog_tiles.h"

namespace ledger {

using verifier::Hash;

using verifier::kTileHeight;
using verifier::kTileWidth;

// A stored tile with its inner nodes: node(h, i) is the hash of the complete
// node at height h above the tile's hashes, i-th from the left, for
// i < width >> h. Immutable.
class ExpandedTile {
 public:
  // REQUIRES: bytes holds 1..256 hashes.
  explicit ExpandedTile(std::string_view bytes);
  uint64_t width() const { return width_; }
  const Hash& node(int h, uint64_t i) const { return nodes_[offset_[h] + i]; }

 private:
  uint64_t width_;
  std::array<uint32_t, kTileHeight + 1> offset_{};
  std::vector<Hash> nodes_;
};

// Reads node hashes and proofs from stored tiles. Thread-safe. Tiles only
// grow, so a cached partial tile stays right for the nodes it holds and is
// re-read only when a wider one is needed.
class TileReader {
 public:
  // Up to `cache_tiles` expanded tiles (16 KiB each) are kept, LRU.
  explicit TileReader(const KvStore* kv, size_t cache_tiles = 8192)
      : kv_(kv), cache_capacity_(cache_tiles) {}

  // Hash of the complete node covering leaves [begin, end) of a tree of at
  // least `end` leaves. REQUIRES: end - begin is a power of two dividing begin.
  Result<Hash> SubtreeHash(uint64_t begin, uint64_t end) const;
  Result<Hash> RootAt(uint64_t size) const;
  Result<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t size) const;
  Result<std::vector<Hash>> ConsistencyProof(uint64_t size1, uint64_t size2) const;

 private:
  using TilePtr = std::shared_ptr<const ExpandedTile>;
  // The complete subtrees ("peaks") of a tree size, largest first, their
  // hashes, and for each peak the hash of all the peaks to its right: with
  // them an inclusion proof at that size needs no hashing at all.
  struct Edge {
    uint64_t size = 0;
    std::vector<verifier::CompactRange::Span> peaks;
    std::vector<Hash> peak_hash;
    std::vector<Hash> right_of;  // right_of[i]: MTH of peaks i+1.. (last: unused)
    Hash root{};
  };
  using EdgePtr = std::shared_ptr<const Edge>;
  Result<EdgePtr> EdgeAt(uint64_t size) const;
  // The tile at (level, index), at least `min_width` wide.
  Result<TilePtr> Tile(int level, uint64_t tile_index, uint64_t min_width) const;
  // A SubtreeHashFn for one proof: it remembers the last tile of each level,
  // so a proof locks the cache once per tile it crosses.
  verifier::SubtreeHashFn Fn() const;

  const KvStore* kv_;
  size_t cache_capacity_;
  mutable std::mutex mu_;
  // LRU of expanded tiles, keyed by level and index. GUARDED_BY(mu_)
  mutable std::list<std::pair<uint64_t, TilePtr>> lru_;
  mutable std::unordered_map<uint64_t, decltype(lru_)::iterator> cache_;
  // The edges of the last few sizes proven at. GUARDED_BY(mu_)
  mutable std::array<EdgePtr, 8> edges_;
  mutable size_t next_edge_ = 0;  // GUARDED_BY(mu_)
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
