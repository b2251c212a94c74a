#include "ledger/tree.h"

#include <bit>
#include <cstring>

#include "ledger/coding.h"

namespace ledger {

using verifier::Status;

namespace {

Status Corrupt(const std::string& what) {
  return verifier::DataLoss("TREE_CORRUPT", what);
}

uint64_t CacheKey(int level, uint64_t index) {
  return (static_cast<uint64_t>(level) << 56) | index;
}

}  // namespace

Result<std::string> TileReader::Tile(int level, uint64_t tile_index,
                                     uint64_t min_width) const {
  uint64_t key = CacheKey(level, tile_index);
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
  }
  std::string bytes;
  PROV_ASSIGN_OR_RETURN(bool found, kv_->Get(coding::TileKey(level, tile_index), &bytes));
  if (!found || bytes.size() % 32 != 0 || bytes.size() / 32 < min_width ||
      bytes.size() > kTileWidth * 32) {
    return Corrupt("tile " + std::to_string(level) + "/" + std::to_string(tile_index) +
                   " is missing or too short");
  }
  if (bytes.size() == kTileWidth * 32) {
    std::lock_guard lock(mu_);
    if (!cache_.count(key)) {
      lru_.emplace_front(key, bytes);
      cache_[key] = lru_.begin();
      if (lru_.size() > cache_capacity_) {
        cache_.erase(lru_.back().first);
        lru_.pop_back();
      }
    }
  }
  return bytes;
}

Result<std::vector<Hash>> TileReader::StoredHashes(int level, uint64_t first,
                                                   uint64_t count) const {
  uint64_t tile_index = first / kTileWidth;
  uint64_t offset = first % kTileWidth;
  PROV_ASSIGN_OR_RETURN(std::string bytes, Tile(level, tile_index, offset + count));
  std::vector<Hash> out(count);
  for (uint64_t i = 0; i < count; ++i) {
    std::memcpy(out[i].data(), bytes.data() + (offset + i) * 32, 32);
  }
  return out;
}

Result<Hash> TileReader::SubtreeHash(uint64_t begin, uint64_t end) const {
  uint64_t width = end - begin;
  int height = std::countr_zero(width);
  int level = height / kTileHeight;
  int within = height % kTileHeight;
  uint64_t base = uint64_t{1} << (level * kTileHeight);  // leaves per stored hash
  // The node spans 2^within stored hashes at this level, all in one tile.
  PROV_ASSIGN_OR_RETURN(auto hashes,
                        StoredHashes(level, begin / base, uint64_t{1} << within));
  while (hashes.size() > 1) {
    for (size_t i = 0; i < hashes.size() / 2; ++i) {
      hashes[i] = verifier::NodeHash(hashes[2 * i], hashes[2 * i + 1]);
    }
    hashes.resize(hashes.size() / 2);
  }
  return hashes[0];
}

verifier::SubtreeHashFn TileReader::Fn() const {
  return [this](uint64_t b, uint64_t e) { return SubtreeHash(b, e); };
}

Result<Hash> TileReader::RootAt(uint64_t size) const {
  return verifier::RangeHash(0, size, Fn());
}

Result<std::vector<Hash>> TileReader::InclusionProof(uint64_t index, uint64_t size) const {
  return verifier::MakeInclusionProof(index, size, Fn());
}

Result<std::vector<Hash>> TileReader::ConsistencyProof(uint64_t size1,
                                                       uint64_t size2) const {
  return verifier::MakeConsistencyProof(size1, size2, Fn());
}

Result<TreeWriter> TreeWriter::Open(const TileReader& reader, const KvStore* kv,
                                    uint64_t size) {
  TreeWriter w;
  std::vector<Hash> edge;
  for (auto span : verifier::CompactRange::Subtrees(size)) {
    PROV_ASSIGN_OR_RETURN(Hash h, reader.SubtreeHash(span.begin, span.end));
    edge.push_back(h);
  }
  PROV_ASSIGN_OR_RETURN(w.range_, verifier::CompactRange::FromHashes(size, std::move(edge)));
  // Load the partial tile of every level.
  for (int level = 0;; ++level) {
    uint64_t stored = level * kTileHeight >= 64 ? 0 : size >> (level * kTileHeight);
    if (stored == 0) break;
    OpenTile t;
    t.index = stored / kTileWidth;
    uint64_t width = stored % kTileWidth;
    if (width > 0) {
      std::string bytes;
      PROV_ASSIGN_OR_RETURN(bool found, kv->Get(coding::TileKey(level, t.index), &bytes));
      if (!found || bytes.size() < width * 32) {
        return Corrupt("partial tile " + std::to_string(level) + "/" +
                       std::to_string(t.index) + " is missing or too short");
      }
      t.bytes = bytes.substr(0, width * 32);
    }
    w.tiles_.push_back(std::move(t));
  }
  return w;
}

void TreeWriter::Append(const Hash& leaf_hash) {
  range_.Append(leaf_hash, [this](int height, uint64_t index, const Hash& h) {
    if (height % kTileHeight != 0) return;
    size_t level = height / kTileHeight;
    if (tiles_.size() <= level) tiles_.resize(level + 1);
    OpenTile& t = tiles_[level];
    t.index = index / kTileWidth;
    t.bytes.append(verifier::AsStringView(h));
    t.dirty = true;
    if (t.bytes.size() == kTileWidth * 32) {
      completed_.emplace_back(coding::TileKey(static_cast<int>(level), t.index),
                              std::move(t.bytes));
      t.bytes.clear();
      t.index += 1;
      t.dirty = false;
    }
  });
}

void TreeWriter::FlushTiles(KvBatch* batch) {
  for (auto& [k, v] : completed_) batch->Put(std::move(k), std::move(v));
  completed_.clear();
  for (size_t level = 0; level < tiles_.size(); ++level) {
    OpenTile& t = tiles_[level];
    if (t.dirty) {
      batch->Put(coding::TileKey(static_cast<int>(level), t.index), t.bytes);
      t.dirty = false;
    }
  }
}

}  // namespace ledger
