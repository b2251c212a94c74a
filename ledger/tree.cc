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

ExpandedTile::ExpandedTile(std::string_view bytes) : width_(bytes.size() / 32) {
  uint32_t total = 0;
  for (int h = 0; h <= kTileHeight; ++h) {
    offset_[h] = total;
    total += static_cast<uint32_t>(width_ >> h);
  }
  nodes_.resize(total);
  std::memcpy(nodes_.data(), bytes.data(), width_ * 32);
  for (int h = 1; h <= kTileHeight; ++h) {
    for (uint64_t i = 0; i < (width_ >> h); ++i) {
      nodes_[offset_[h] + i] = verifier::NodeHash(node(h - 1, 2 * i), node(h - 1, 2 * i + 1));
    }
  }
}

Result<TileReader::TilePtr> TileReader::Tile(int level, uint64_t tile_index,
                                             uint64_t min_width) const {
  uint64_t key = CacheKey(level, tile_index);
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second->second->width() >= min_width) {
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
  auto tile = std::make_shared<const ExpandedTile>(bytes);
  std::lock_guard lock(mu_);
  auto it = cache_.find(key);
  if (it != cache_.end()) {
    // Another reader may have cached a wider one meanwhile: keep the wider.
    if (it->second->second->width() < tile->width()) it->second->second = tile;
    lru_.splice(lru_.begin(), lru_, it->second);
    return tile;
  }
  lru_.emplace_front(key, tile);
  cache_[key] = lru_.begin();
  if (lru_.size() > cache_capacity_) {
    cache_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return tile;
}

Result<Hash> TileReader::SubtreeHash(uint64_t begin, uint64_t end) const {
  return Fn()(begin, end);
}

verifier::SubtreeHashFn TileReader::Fn() const {
  struct Memo {
    uint64_t index = 0;
    TilePtr tile;
  };
  // Shared by the copies std::function may make of the lambda.
  auto memo = std::make_shared<std::array<Memo, 8>>();
  return [this, memo](uint64_t begin, uint64_t end) -> Result<Hash> {
    const verifier::TileSlot s = verifier::SlotOf(begin, end);
    const int h = std::countr_zero(s.count);
    Memo& m = (*memo)[static_cast<size_t>(s.tile.level) % memo->size()];
    if (!m.tile || m.index != s.tile.index || m.tile->width() < s.tile.width) {
      PROV_ASSIGN_OR_RETURN(m.tile, Tile(s.tile.level, s.tile.index, s.tile.width));
      m.index = s.tile.index;
    }
    return m.tile->node(h, s.slot >> h);
  };
}

Result<TileReader::EdgePtr> TileReader::EdgeAt(uint64_t size) const {
  {
    std::lock_guard lock(mu_);
    for (const EdgePtr& e : edges_) {
      if (e && e->size == size) return e;
    }
  }
  auto edge = std::make_shared<Edge>();
  edge->size = size;
  edge->peaks = verifier::CompactRange::Subtrees(size);
  auto fn = Fn();
  for (const auto& p : edge->peaks) {
    PROV_ASSIGN_OR_RETURN(Hash h, fn(p.begin, p.end));
    edge->peak_hash.push_back(h);
  }
  const size_t n = edge->peaks.size();
  edge->right_of.resize(n);
  edge->root = n == 0 ? verifier::EmptyRoot() : edge->peak_hash[n - 1];
  for (size_t i = n; i-- > 1;) {
    edge->right_of[i - 1] = edge->root;
    edge->root = verifier::NodeHash(edge->peak_hash[i - 1], edge->root);
  }
  std::lock_guard lock(mu_);
  edges_[next_edge_++ % edges_.size()] = edge;
  return EdgePtr(std::move(edge));
}

Result<Hash> TileReader::RootAt(uint64_t size) const {
  PROV_ASSIGN_OR_RETURN(EdgePtr edge, EdgeAt(size));
  return edge->root;
}

// RFC 9162 PATH(m, D[0:n]) is: the path of m inside the peak holding it
// (siblings at heights 0.., all complete nodes), then the hash of the peaks
// to its right (if any), then the peaks to its left, nearest first. The
// siblings at heights 8L..8L+7 all lie in one level-L tile, so a proof reads
// one cached tile per level and hashes nothing.
Result<std::vector<Hash>> TileReader::InclusionProof(uint64_t index, uint64_t size) const {
  if (index >= size) return verifier::MakeInclusionProof(index, size, Fn());  // the error
  PROV_ASSIGN_OR_RETURN(EdgePtr edge, EdgeAt(size));
  size_t p = 0;
  while (edge->peaks[p].end <= index) ++p;
  const int height = std::countr_zero(edge->peaks[p].end - edge->peaks[p].begin);
  std::vector<Hash> proof;
  proof.reserve(height + edge->peaks.size());
  for (int level = 0; level * kTileHeight < height; ++level) {
    const int shift = level * kTileHeight;
    const int heights = std::min(kTileHeight, height - shift);
    const uint64_t slot = (index >> shift) % kTileWidth;
    const uint64_t last = slot | ((uint64_t{1} << heights) - 1);
    PROV_ASSIGN_OR_RETURN(TilePtr tile, Tile(level, index >> (shift + kTileHeight), last + 1));
    for (int h = 0; h < heights; ++h) proof.push_back(tile->node(h, (slot >> h) ^ 1));
  }
  if (p + 1 < edge->peaks.size()) proof.push_back(edge->right_of[p]);
  for (size_t q = p; q-- > 0;) proof.push_back(edge->peak_hash[q]);
  return proof;
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
