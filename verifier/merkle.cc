#include "verifier/merkle.h"

#include <sodium.h>

#include <bit>

namespace verifier {
namespace {

Status Mismatch(const char* what) {
  return InvalidArgument("PROOF_MISMATCH", what);
}

// Largest power of two strictly less than n. REQUIRES: n > 1.
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

}  // namespace

Hash LeafHash(ByteView leaf) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  const uint8_t prefix = 0x00;
  crypto_hash_sha256_update(&st, &prefix, 1);
  crypto_hash_sha256_update(&st, leaf.data(), leaf.size());
  Hash out;
  crypto_hash_sha256_final(&st, out.data());
  return out;
}

Hash NodeHash(const Hash& left, const Hash& right) {
  uint8_t buf[65];
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 33);
  Hash out;
  crypto_hash_sha256(out.data(), buf, sizeof buf);
  return out;
}

Hash EmptyRoot() { return Sha256(ByteView{}); }

Status VerifyInclusion(uint64_t index, uint64_t tree_size, const Hash& leaf_hash,
                       std::span<const Hash> proof, const Hash& root) {
  if (index >= tree_size) {
    return InvalidArgument("BAD_PROOF_INDEX",
                           "leaf index " + std::to_string(index) +
                               " is not below tree size " +
                               std::to_string(tree_size));
  }
  uint64_t fn = index, sn = tree_size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return Mismatch("inclusion proof is too long");
    if ((fn & 1) || fn == sn) {
      r = NodeHash(p, r);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Mismatch("inclusion proof is too short");
  if (!ConstantTimeEqual(r, root)) {
    return Mismatch("inclusion proof does not lead to the root");
  }
  return Status::Ok();
}

Status VerifyConsistency(uint64_t size1, uint64_t size2,
                         std::span<const Hash> proof, const Hash& root1,
                         const Hash& root2) {
  if (size1 > size2) {
    return InvalidArgument("BAD_PROOF_SIZES", "first tree is larger than second");
  }
  if (size1 == size2) {
    if (!proof.empty()) return Mismatch("equal sizes need an empty proof");
    if (!ConstantTimeEqual(root1, root2)) {
      return Mismatch("equal tree sizes with different roots");
    }
    // The empty tree has exactly one root.
    if (size1 == 0 && !ConstantTimeEqual(root1, EmptyRoot())) {
      return Mismatch("the root of the empty tree is SHA-256 of nothing");
    }
    return Status::Ok();
  }
  if (size1 == 0) {
    return InvalidArgument("BAD_PROOF_SIZES",
                           "a consistency proof from the empty tree proves nothing");
  }
  if (proof.empty()) return Mismatch("consistency proof is empty");

  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(size1)) path.push_back(root1);
  path.insert(path.end(), proof.begin(), proof.end());

  uint64_t fn = size1 - 1, sn = size2 - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return Mismatch("consistency proof is too long");
    if ((fn & 1) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Mismatch("consistency proof is too short");
  if (!ConstantTimeEqual(fr, root1)) {
    return Mismatch("consistency proof does not lead to the first root");
  }
  if (!ConstantTimeEqual(sr, root2)) {
    return Mismatch("consistency proof does not lead to the second root");
  }
  return Status::Ok();
}

Result<Hash> RangeHash(uint64_t begin, uint64_t end, const SubtreeHashFn& fn) {
  if (begin >= end) return EmptyRoot();
  uint64_t n = end - begin;
  // Complete aligned subtree: ask storage directly.
  if (std::has_single_bit(n) && begin % n == 0) return fn(begin, end);
  uint64_t k = SplitPoint(n);
  PROV_ASSIGN_OR_RETURN(Hash left, RangeHash(begin, begin + k, fn));
  PROV_ASSIGN_OR_RETURN(Hash right, RangeHash(begin + k, end, fn));
  return NodeHash(left, right);
}

namespace {

// PATH(m, D[begin:end]) appended to `out` leaf-to-root order.
Status Path(uint64_t m, uint64_t begin, uint64_t end, const SubtreeHashFn& fn,
            std::vector<Hash>& out) {
  uint64_t n = end - begin;
  if (n <= 1) return Status::Ok();
  uint64_t k = SplitPoint(n);
  if (m < k) {
    PROV_RETURN_IF_ERROR(Path(m, begin, begin + k, fn, out));
    PROV_ASSIGN_OR_RETURN(Hash h, RangeHash(begin + k, end, fn));
    out.push_back(h);
  } else {
    PROV_RETURN_IF_ERROR(Path(m - k, begin + k, end, fn, out));
    PROV_ASSIGN_OR_RETURN(Hash h, RangeHash(begin, begin + k, fn));
    out.push_back(h);
  }
  return Status::Ok();
}

// SUBPROOF(m, D[begin:end], b) of RFC 9162 §2.1.4.1.
Status SubProof(uint64_t m, uint64_t begin, uint64_t end, bool b,
                const SubtreeHashFn& fn, std::vector<Hash>& out) {
  uint64_t n = end - begin;
  if (m == n) {
    if (b) return Status::Ok();
    PROV_ASSIGN_OR_RETURN(Hash h, RangeHash(begin, end, fn));
    out.push_back(h);
    return Status::Ok();
  }
  uint64_t k = SplitPoint(n);
  if (m <= k) {
    PROV_RETURN_IF_ERROR(SubProof(m, begin, begin + k, b, fn, out));
    PROV_ASSIGN_OR_RETURN(Hash h, RangeHash(begin + k, end, fn));
    out.push_back(h);
  } else {
    PROV_RETURN_IF_ERROR(SubProof(m - k, begin + k, end, false, fn, out));
    PROV_ASSIGN_OR_RETURN(Hash h, RangeHash(begin, begin + k, fn));
    out.push_back(h);
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<Hash>> MakeInclusionProof(uint64_t index, uint64_t tree_size,
                                             const SubtreeHashFn& fn) {
  if (index >= tree_size) {
    return OutOfRange("INDEX_OUT_OF_RANGE",
                      "leaf index " + std::to_string(index) +
                          " is not below tree size " + std::to_string(tree_size));
  }
  std::vector<Hash> out;
  PROV_RETURN_IF_ERROR(Path(index, 0, tree_size, fn, out));
  return out;
}

Result<std::vector<Hash>> MakeConsistencyProof(uint64_t size1, uint64_t size2,
                                               const SubtreeHashFn& fn) {
  if (size1 > size2 || (size1 == 0 && size2 != 0)) {
    return OutOfRange("BAD_PROOF_SIZES",
                      "no consistency proof from size " + std::to_string(size1) +
                          " to size " + std::to_string(size2) +
                          " (need 0 < first <= second)");
  }
  std::vector<Hash> out;
  if (size1 == size2) return out;
  PROV_RETURN_IF_ERROR(SubProof(size1, 0, size2, true, fn, out));
  return out;
}

Hash RootOf(std::span<const Hash> leaf_hashes) {
  if (leaf_hashes.empty()) return EmptyRoot();
  if (leaf_hashes.size() == 1) return leaf_hashes[0];
  uint64_t k = SplitPoint(leaf_hashes.size());
  return NodeHash(RootOf(leaf_hashes.subspan(0, k)),
                  RootOf(leaf_hashes.subspan(k)));
}

SubtreeHashFn InMemorySubtrees(std::span<const Hash> leaf_hashes) {
  return [leaf_hashes](uint64_t begin, uint64_t end) -> Result<Hash> {
    if (end > leaf_hashes.size()) {
      return OutOfRange("INDEX_OUT_OF_RANGE", "subtree beyond the tree");
    }
    return RootOf(leaf_hashes.subspan(begin, end - begin));
  };
}

std::vector<CompactRange::Span> CompactRange::Subtrees(uint64_t size) {
  std::vector<Span> out;
  uint64_t begin = 0;
  for (int bit = 63; bit >= 0; --bit) {
    uint64_t w = uint64_t{1} << bit;
    if (size & w) {
      out.push_back({begin, begin + w});
      begin += w;
    }
  }
  return out;
}

Result<CompactRange> CompactRange::FromHashes(uint64_t size,
                                              std::vector<Hash> hashes) {
  if (hashes.size() != static_cast<size_t>(std::popcount(size))) {
    return InvalidArgument("BAD_COMPACT_RANGE",
                           "compact range needs one hash per set bit of size");
  }
  CompactRange r;
  r.size_ = size;
  r.hashes_ = std::move(hashes);
  return r;
}

void CompactRange::Append(const Hash& leaf_hash, const NodeFn& on_complete) {
  Hash h = leaf_hash;
  uint64_t index = size_;
  int level = 0;
  if (on_complete) on_complete(0, index, h);
  // Merge while the lowest subtree has the same size as the new one.
  while ((size_ >> level) & 1) {
    h = NodeHash(hashes_.back(), h);
    hashes_.pop_back();
    ++level;
    index >>= 1;
    if (on_complete) on_complete(level, index, h);
  }
  hashes_.push_back(h);
  ++size_;
}

Hash CompactRange::Root() const {
  if (hashes_.empty()) return EmptyRoot();
  Hash h = hashes_.back();
  for (size_t i = hashes_.size() - 1; i-- > 0;) h = NodeHash(hashes_[i], h);
  return h;
}

}  // namespace verifier
