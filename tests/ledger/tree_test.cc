// The tiled tree (TileReader/TreeWriter) against an independent in-memory
// reference: RFC 9162 MTH computed from the leaf hashes, and proofs checked
// both for equality with verifier::MakeInclusionProof/MakeConsistencyProof
// over the reference and with verifier::VerifyInclusion/VerifyConsistency.
#include "ledger/tree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "ledger/coding.h"
#include "ledger/kv_store.h"
#include "verifier/merkle.h"

namespace ledger {
namespace {

using verifier::Code;

Hash TestLeafHash(uint64_t i, uint64_t salt = 0) {
  std::string leaf = "leaf " + std::to_string(i) + "/" + std::to_string(salt);
  return verifier::LeafHash(verifier::AsBytes(leaf));
}

// Reference tree: every complete node, built level by level as leaves arrive.
class Reference {
 public:
  void Append(const Hash& h) {
    if (levels_.empty()) levels_.emplace_back();
    levels_[0].push_back(h);
    for (size_t l = 0; levels_[l].size() % 2 == 0; ++l) {
      if (levels_.size() == l + 1) levels_.emplace_back();
      const auto& below = levels_[l];
      levels_[l + 1].push_back(verifier::NodeHash(below[below.size() - 2], below.back()));
    }
  }
  uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  const std::vector<Hash>& leaves() const { return levels_[0]; }

  // Complete, aligned subtree [b, e).
  Hash Node(uint64_t b, uint64_t e) const {
    int h = std::countr_zero(e - b);
    return levels_.at(h).at(b >> h);
  }
  // RFC 9162 MTH(D[b:e]).
  Hash Mth(uint64_t b, uint64_t e) const {
    if (e == b) return verifier::EmptyRoot();
    uint64_t w = e - b;
    if (std::has_single_bit(w) && b % w == 0) return Node(b, e);
    uint64_t k = std::bit_floor(w - 1);
    return verifier::NodeHash(Mth(b, b + k), Mth(b + k, e));
  }
  Hash Root(uint64_t n) const { return Mth(0, n); }
  verifier::SubtreeHashFn Fn() const {
    return [this](uint64_t b, uint64_t e) -> verifier::Result<Hash> {
      if (e > size()) return verifier::OutOfRange("X", "beyond");
      return Node(b, e);
    };
  }

 private:
  std::vector<std::vector<Hash>> levels_;
};

class TreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto w = TreeWriter::Open(reader_, &kv_, 0);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    writer_ = std::make_unique<TreeWriter>(std::move(w).value());
  }

  // Appends `n` leaves to writer and reference and commits their tiles.
  void AppendAndFlush(uint64_t n, uint64_t salt = 0) {
    KvBatch batch;
    for (uint64_t i = 0; i < n; ++i) {
      Hash h = TestLeafHash(ref_.size(), salt);
      writer_->Append(h);
      ref_.Append(h);
    }
    writer_->FlushTiles(&batch);
    ASSERT_TRUE(kv_.Write(batch).ok());
    ASSERT_EQ(writer_->size(), ref_.size());
  }

  ::testing::AssertionResult RootMatches(uint64_t n) {
    auto got = reader_.RootAt(n);
    if (!got.ok())
      return ::testing::AssertionFailure() << "RootAt(" << n << "): " << got.status().ToString();
    if (*got != ref_.Root(n)) return ::testing::AssertionFailure() << "RootAt(" << n << ") differs";
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult InclusionMatches(uint64_t i, uint64_t n) {
    auto got = reader_.InclusionProof(i, n);
    if (!got.ok())
      return ::testing::AssertionFailure()
             << "InclusionProof(" << i << ", " << n << "): " << got.status().ToString();
    auto want = verifier::MakeInclusionProof(i, n, ref_.Fn());
    if (!want.ok() || *got != *want) {
      return ::testing::AssertionFailure() << "InclusionProof(" << i << ", " << n << ") differs";
    }
    verifier::Status s = verifier::VerifyInclusion(i, n, ref_.leaves()[i], *got, ref_.Root(n));
    if (!s.ok()) return ::testing::AssertionFailure() << "does not verify: " << s.ToString();
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult ConsistencyMatches(uint64_t a, uint64_t b) {
    auto got = reader_.ConsistencyProof(a, b);
    if (!got.ok())
      return ::testing::AssertionFailure()
             << "ConsistencyProof(" << a << ", " << b << "): " << got.status().ToString();
    auto want = verifier::MakeConsistencyProof(a, b, ref_.Fn());
    if (!want.ok() || *got != *want) {
      return ::testing::AssertionFailure() << "ConsistencyProof(" << a << ", " << b << ") differs";
    }
    verifier::Status s = verifier::VerifyConsistency(a, b, *got, ref_.Root(a), ref_.Root(b));
    if (!s.ok()) return ::testing::AssertionFailure() << "does not verify: " << s.ToString();
    return ::testing::AssertionSuccess();
  }

  MemoryKvStore kv_;
  TileReader reader_{&kv_};
  std::unique_ptr<TreeWriter> writer_;
  Reference ref_;
};

TEST_F(TreeTest, EmptyAndOneLeafTrees) {
  EXPECT_EQ(writer_->size(), 0u);
  EXPECT_EQ(writer_->Root(), verifier::EmptyRoot());
  KvBatch empty;
  writer_->FlushTiles(&empty);
  EXPECT_TRUE(empty.empty());

  ASSERT_NO_FATAL_FAILURE(AppendAndFlush(1));
  EXPECT_EQ(writer_->Root(), ref_.leaves()[0]);
  EXPECT_TRUE(RootMatches(1));
  EXPECT_TRUE(InclusionMatches(0, 1));
  auto p = reader_.InclusionProof(0, 1);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->empty());
  EXPECT_TRUE(ConsistencyMatches(1, 1));

  // A flush with nothing new writes nothing.
  KvBatch none;
  writer_->FlushTiles(&none);
  EXPECT_TRUE(none.empty());
}

TEST_F(TreeTest, TilesHoldTheC2spLayout) {
  ASSERT_NO_FATAL_FAILURE(AppendAndFlush(3 * 256 + 5));
  std::string t;
  // Level 0: full tiles 0..2 of leaf hashes, then a partial tile of 5.
  for (uint64_t tile = 0; tile < 3; ++tile) {
    ASSERT_TRUE(*kv_.Get(coding::TileKey(0, tile), &t));
    ASSERT_EQ(t.size(), 256u * 32);
    for (uint64_t j = 0; j < 256; ++j) {
      ASSERT_EQ(std::memcmp(t.data() + j * 32, ref_.leaves()[tile * 256 + j].data(), 32), 0);
    }
  }
  ASSERT_TRUE(*kv_.Get(coding::TileKey(0, 3), &t));
  EXPECT_EQ(t.size(), 5u * 32);
  // Level 1: the three height-8 nodes so far.
  ASSERT_TRUE(*kv_.Get(coding::TileKey(1, 0), &t));
  ASSERT_EQ(t.size(), 3u * 32);
  for (uint64_t j = 0; j < 3; ++j) {
    Hash want = verifier::RootOf(std::span(ref_.leaves()).subspan(j * 256, 256));
    EXPECT_EQ(std::memcmp(t.data() + j * 32, want.data(), 32), 0) << j;
  }
  EXPECT_FALSE(*kv_.Get(coding::TileKey(2, 0), &t));
  EXPECT_FALSE(*kv_.Get(coding::TileKey(0, 4), &t));
}

TEST_F(TreeTest, SmallTreeEverySizeEveryProof) {
  // Uneven batches through the first tile boundaries.
  for (uint64_t n : {1, 2, 5, 100, 147, 1, 255, 1, 1, 300}) {
    ASSERT_NO_FATAL_FAILURE(AppendAndFlush(n));
    ASSERT_EQ(writer_->Root(), ref_.Root(ref_.size()));
  }
  const uint64_t size = ref_.size();  // 813
  for (uint64_t n = 1; n <= size; ++n) {
    ASSERT_TRUE(RootMatches(n));
    EXPECT_EQ(*reader_.RootAt(n), verifier::RootOf(std::span(ref_.leaves()).first(n)));
  }
  for (uint64_t n : {uint64_t{1}, uint64_t{2}, uint64_t{255}, uint64_t{256}, uint64_t{257},
                     uint64_t{512}, uint64_t{513}, size}) {
    for (uint64_t i = 0; i < n; i += (n > 300 ? 7 : 1)) ASSERT_TRUE(InclusionMatches(i, n));
    ASSERT_TRUE(InclusionMatches(n - 1, n));
  }
  for (uint64_t a = 1; a <= size; a += 13) {
    for (uint64_t b : {a, a + 1, uint64_t{256}, uint64_t{512}, uint64_t{700}, size}) {
      if (b >= a && b <= size) {
        ASSERT_TRUE(ConsistencyMatches(a, b));
      }
    }
  }
  // Subtree hashes straight from the tiles.
  for (uint64_t w : {1, 2, 4, 128, 256, 512}) {
    for (uint64_t b = 0; b + w <= size; b += w) {
      auto h = reader_.SubtreeHash(b, b + w);
      ASSERT_TRUE(h.ok()) << h.status().ToString();
      ASSERT_EQ(*h, ref_.Node(b, b + w)) << b << "+" << w;
    }
  }
}

// 70,000 leaves cross tile boundaries at 256 and at 256*256 (a level-2 tile).
TEST_F(TreeTest, LargeTreeAcrossLevelTwoTiles) {
  std::mt19937_64 rng(42);
  std::vector<uint64_t> flushed;  // sizes after each flush
  const uint64_t kTarget = 70'000;
  // Cumulative sizes: 1, 4, 259, 515, 772, 1771, 5867, 65534, 65535, 65536 (a
  // flush exactly at the level-2 boundary), 65538, 65545, then around again.
  static const uint64_t kBatches[] = {1, 3, 255, 256, 257, 999, 4096, 59667, 1, 1, 2, 7};
  size_t bi = 0;
  while (ref_.size() < kTarget) {
    uint64_t n = std::min(kBatches[bi++ % std::size(kBatches)], kTarget - ref_.size());
    ASSERT_NO_FATAL_FAILURE(AppendAndFlush(n));
    flushed.push_back(ref_.size());
    ASSERT_EQ(writer_->Root(), ref_.Root(ref_.size())) << ref_.size();
    ASSERT_TRUE(RootMatches(ref_.size()));
    // Older roots are stable while tiles grow past them.
    for (int k = 0; k < 3; ++k) ASSERT_TRUE(RootMatches(1 + rng() % ref_.size()));
  }
  EXPECT_NE(std::find(flushed.begin(), flushed.end(), 65536), flushed.end());

  const uint64_t size = ref_.size();
  std::set<uint64_t> sizes{1,     2,     255,   256,   257,   511,      512, 513,
                           65535, 65536, 65537, 65792, 65793, size - 1, size};
  for (uint64_t s : flushed) sizes.insert(s);
  for (int k = 0; k < 30; ++k) sizes.insert(1 + rng() % size);
  for (uint64_t n : sizes) {
    ASSERT_TRUE(RootMatches(n));
    std::set<uint64_t> idx{0, n - 1, n / 2, (n - 1) & ~uint64_t{255}, rng() % n};
    if (n > 65536) idx.insert(65535), idx.insert(65536);
    for (uint64_t i : idx) ASSERT_TRUE(InclusionMatches(i, n));
  }
  EXPECT_EQ(*reader_.RootAt(size), verifier::RootOf(ref_.leaves()));
  EXPECT_EQ(*reader_.RootAt(65536), verifier::RootOf(std::span(ref_.leaves()).first(65536)));
  // Level 2 holds the height-16 node over leaves [0, 65536).
  std::string t;
  ASSERT_TRUE(*kv_.Get(coding::TileKey(2, 0), &t));
  ASSERT_EQ(t.size(), 32u);
  EXPECT_EQ(std::memcmp(t.data(), ref_.Node(0, 65536).data(), 32), 0);

  std::vector<uint64_t> sv(sizes.begin(), sizes.end());
  for (size_t a = 0; a < sv.size(); a += 2) {
    for (size_t b = a; b < sv.size(); b += 3) ASSERT_TRUE(ConsistencyMatches(sv[a], sv[b]));
  }
}

TEST_F(TreeTest, ReopenedWriterContinuesTheSameTree) {
  // Reopen at sizes inside a tile, on a tile boundary and at odd shapes.
  for (uint64_t step : {1, 255, 1, 256, 300, 65, 1}) {
    ASSERT_NO_FATAL_FAILURE(AppendAndFlush(step));
    TileReader fresh(&kv_);
    auto w = TreeWriter::Open(fresh, &kv_, ref_.size());
    ASSERT_TRUE(w.ok()) << ref_.size() << ": " << w.status().ToString();
    ASSERT_EQ(w->size(), ref_.size());
    ASSERT_EQ(w->Root(), ref_.Root(ref_.size()));
    writer_ = std::make_unique<TreeWriter>(std::move(w).value());
  }
  ASSERT_NO_FATAL_FAILURE(AppendAndFlush(700));
  for (uint64_t n = 1; n <= ref_.size(); n += 3) ASSERT_TRUE(RootMatches(n));
  ASSERT_TRUE(RootMatches(ref_.size()));
}

TEST_F(TreeTest, ReopenAfterAnUnwrittenFlushRollsBack) {
  ASSERT_NO_FATAL_FAILURE(AppendAndFlush(600));
  const uint64_t old_size = ref_.size();
  // Appended and flushed into a batch that never reaches storage.
  KvBatch lost;
  for (uint64_t i = 0; i < 200; ++i) writer_->Append(TestLeafHash(old_size + i, 99));
  writer_->FlushTiles(&lost);
  EXPECT_FALSE(lost.empty());

  auto w = TreeWriter::Open(reader_, &kv_, old_size);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  writer_ = std::make_unique<TreeWriter>(std::move(w).value());
  ASSERT_NO_FATAL_FAILURE(AppendAndFlush(200, /*salt=*/1));
  EXPECT_EQ(writer_->Root(), ref_.Root(ref_.size()));
  for (uint64_t n = old_size - 50; n <= ref_.size(); ++n) ASSERT_TRUE(RootMatches(n));
}

TEST_F(TreeTest, SmallCacheGivesTheSameAnswers) {
  ASSERT_NO_FATAL_FAILURE(AppendAndFlush(5000));
  TileReader tiny(&kv_, /*cache_tiles=*/1);
  for (uint64_t n = 1; n <= 5000; n += 97) {
    ASSERT_EQ(*tiny.RootAt(n), ref_.Root(n));
    for (uint64_t i : {uint64_t{0}, n / 3, n - 1}) {
      ASSERT_EQ(*tiny.InclusionProof(i, n), *verifier::MakeInclusionProof(i, n, ref_.Fn()));
    }
  }
}

TEST_F(TreeTest, ReadsBeyondTheStoredTreeAreErrors) {
  ASSERT_NO_FATAL_FAILURE(AppendAndFlush(300));
  auto root = reader_.RootAt(301);
  ASSERT_FALSE(root.ok());
  EXPECT_EQ(root.status().code(), Code::kDataLoss);
  EXPECT_EQ(root.status().reason(), "TREE_CORRUPT");
  EXPECT_FALSE(reader_.RootAt(1000).ok());
  EXPECT_FALSE(reader_.InclusionProof(300, 300).ok());
  EXPECT_FALSE(reader_.InclusionProof(0, 301).ok());
  EXPECT_FALSE(reader_.ConsistencyProof(10, 301).ok());
  EXPECT_FALSE(reader_.ConsistencyProof(20, 10).ok());
  auto w = TreeWriter::Open(reader_, &kv_, 301);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Code::kDataLoss);
}

TEST_F(TreeTest, DamagedTilesAreDetected) {
  ASSERT_NO_FATAL_FAILURE(AppendAndFlush(300));
  // Damage is seen when a tile is read from storage; a reader's cache holds
  // what it read before, so each check uses a fresh reader.
  auto reader = [&] { return std::make_unique<TileReader>(&kv_); };
  // A tile whose length is not a multiple of 32.
  std::string t;
  ASSERT_TRUE(*kv_.Get(coding::TileKey(0, 1), &t));
  kv_.Poke(coding::TileKey(0, 1), t.substr(0, t.size() - 1));
  auto r = reader()->RootAt(300);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "TREE_CORRUPT");
  EXPECT_FALSE(TreeWriter::Open(*reader(), &kv_, 300).ok());
  // Too short for the size asked.
  kv_.Poke(coding::TileKey(0, 1), t.substr(0, 32 * 10));
  EXPECT_FALSE(reader()->RootAt(300).ok());
  EXPECT_TRUE(reader()->RootAt(266).ok());
  // A flipped byte changes the root (it is not a format error).
  std::string flipped = t;
  flipped[5] ^= 1;
  kv_.Poke(coding::TileKey(0, 1), flipped);
  auto bad = reader()->RootAt(300);
  ASSERT_TRUE(bad.ok());
  EXPECT_NE(*bad, ref_.Root(300));
  // An over-long tile (more than 256 hashes).
  kv_.Poke(coding::TileKey(0, 1), std::string(257 * 32, 'x'));
  EXPECT_FALSE(reader()->RootAt(300).ok());
}

}  // namespace
}  // namespace ledger
