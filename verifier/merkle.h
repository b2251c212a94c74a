// RFC 6962 / RFC 9162 Merkle tree math. Pure: no storage, no I/O.
//
// Leaves are indexed from 0. A tree of size n holds leaves [0, n).
//   leaf hash  = SHA-256(0x00 || leaf bytes)
//   node hash  = SHA-256(0x01 || left || right)
//   empty root = SHA-256("")
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "verifier/crypto.h"
#include "verifier/status.h"

namespace verifier {

Hash LeafHash(ByteView leaf);
Hash NodeHash(const Hash& left, const Hash& right);
Hash EmptyRoot();

// Verifies an inclusion proof exactly as RFC 9162 §2.1.3.2.
Status VerifyInclusion(uint64_t index, uint64_t tree_size, const Hash& leaf_hash,
                       std::span<const Hash> proof, const Hash& root);

// Verifies a consistency proof exactly as RFC 9162 §2.1.4.2. Equal sizes need
// an empty proof and equal roots; size1 == 0 < size2 is rejected (a proof
// from the empty tree proves nothing).
Status VerifyConsistency(uint64_t size1, uint64_t size2,
                         std::span<const Hash> proof, const Hash& root1,
                         const Hash& root2);

// Hash of the subtree over leaves [begin, end). Called by the proof builders
// only for ranges that are complete, aligned subtrees (end - begin a power of
// two, begin a multiple of it); they split other ranges themselves.
using SubtreeHashFn = std::function<Result<Hash>(uint64_t begin, uint64_t end)>;

// MTH(D[begin:end]) for any range, from complete subtrees: O(log n) calls.
Result<Hash> RangeHash(uint64_t begin, uint64_t end, const SubtreeHashFn& fn);

// RFC 9162 §2.1.3.1 PATH(index, D[0:tree_size]). REQUIRES: index < tree_size.
Result<std::vector<Hash>> MakeInclusionProof(uint64_t index, uint64_t tree_size,
                                             const SubtreeHashFn& fn);

// RFC 9162 §2.1.4.1 PROOF(size1, D[0:size2]).
// REQUIRES: 0 < size1 <= size2, or size1 == size2.
Result<std::vector<Hash>> MakeConsistencyProof(uint64_t size1, uint64_t size2,
                                               const SubtreeHashFn& fn);

// Reference implementation over leaf hashes held in memory (tests, audits).
Hash RootOf(std::span<const Hash> leaf_hashes);
SubtreeHashFn InMemorySubtrees(std::span<const Hash> leaf_hashes);

// The right edge of a growing tree: the roots of its complete subtrees, in
// decreasing size. Appending is amortised O(1) hashes; Root() is O(log n).
// Not thread-safe.
class CompactRange {
 public:
  CompactRange() = default;
  // Restores a range of `size` leaves from its subtree roots (as listed by
  // Subtrees(size)), largest first.
  static Result<CompactRange> FromHashes(uint64_t size, std::vector<Hash> hashes);

  // The aligned complete subtrees [begin, end) that make up a tree of `size`.
  struct Span {
    uint64_t begin, end;
  };
  static std::vector<Span> Subtrees(uint64_t size);

  // Appends one leaf hash. `on_complete(level, index, hash)` (may be empty)
  // is told of every node that becomes complete, including the leaf itself
  // at level 0; node (level, index) covers leaves [index<<level, (index+1)<<level).
  using NodeFn = std::function<void(int level, uint64_t index, const Hash&)>;
  void Append(const Hash& leaf_hash, const NodeFn& on_complete = {});

  uint64_t size() const { return size_; }
  Hash Root() const;
  const std::vector<Hash>& hashes() const { return hashes_; }

 private:
  uint64_t size_ = 0;
  std::vector<Hash> hashes_;  // one per set bit of size_, largest first
};

}  // namespace verifier
