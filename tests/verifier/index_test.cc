#include "verifier/index.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "verifier/rules.h"

namespace verifier {
namespace {

namespace pb = provenance::v1;

std::string Hex(const Hash& h) { return HexEncode(h); }

// The subjects of docs/index.md's vectors, with their histories.
std::vector<std::pair<Subject, std::vector<uint64_t>>> VectorSubjects() {
  return {
      {subject::Device("acme", "SN-1"), {4, 9}},
      {subject::Org("acme"), {1, 2, 3}},
      {subject::Model("acme", "cam-1"), {5}},
      {Subject{"key", {std::string(64, '0')}}, {2}},
      {subject::Mac("ACCC8E"), {7}},
  };
}

std::vector<std::pair<Hash, Hash>> Leaves(
    const std::vector<std::pair<Subject, std::vector<uint64_t>>>& subjects) {
  std::vector<std::pair<Hash, Hash>> out;
  for (const auto& [s, h] : subjects) {
    const Hash k = SubjectKey(s);
    out.emplace_back(k, IndexHistoryHash(h));
  }
  return out;
}

// Known answers from tests/verifier/index_reference.py, an implementation
// written from docs/index.md alone; the same values are in the document.
TEST(IndexTest, KnownAnswerVectors) {
  const Hash key = SubjectKey(subject::Device("acme", "SN-1"));
  EXPECT_EQ(Hex(key), "a27a26d65754932528333f670278bcd2b7818b2cde5c0d06b7d238dd37f82e8b");
  const std::vector<uint64_t> history{4, 9};
  EXPECT_EQ(Hex(IndexLeafHash(key, history)),
            "d7d81922bbb1f7376657e892794358552fc335f8c9f5ea33d951bdb678b7e109");
  EXPECT_EQ(Hex(IndexLeafHash(key, std::span<const uint64_t>())),
            "f7061067221426eb9a8c4c26ec296179a1549e902b7a4709de725ad90139f3d3");
  EXPECT_EQ(Hex(IndexHistoryHash(history)),
            "669503d4a6966d77547a36d7d3c42177354492dfd75ad5ad06577b28499044fc");
  const char* roots[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",
      "d7d81922bbb1f7376657e892794358552fc335f8c9f5ea33d951bdb678b7e109",
      "01a996864dba91fcf6c9c3f17d172af5f5888241ee68e5d7fd7406327eaa522a",
      "614fcb4934325561df025ecea851095144adeb0695ef59a144023f55d15d6eb4",
      "6c93f7c04281fd5c234c0331332e5846fbb05ca83337710548ee6cbf5f5473fe",
      "03acead545805b94c446a36cece94e39ea2bcb5bf558b0a4e608422a4ba3e89b",
  };
  const auto leaves = Leaves(VectorSubjects());
  for (size_t n = 0; n <= leaves.size(); ++n) {
    IndexTree t = IndexTree().With({leaves.begin(), leaves.begin() + n});
    EXPECT_EQ(Hex(t.Root()), roots[n]) << n << " subjects";
    EXPECT_EQ(t.size(), n);
  }
  const IndexTree t = IndexTree().With(leaves);
  IndexProof p = t.Prove(key);
  ASSERT_EQ(p.siblings.size(), 2u);
  EXPECT_EQ(Hex(*p.siblings[0]), "f81a113251d0ad0cb1b820602d3fc8cefc4ec42d612eeb466a28a9e28fd63d0b");
  EXPECT_EQ(Hex(*p.siblings[1]), "4b9d4e8fc76ccd049bf31f89bb178579415fe157cd93c6fd458b8b9b0ae55174");
  EXPECT_FALSE(p.other);
  EXPECT_TRUE(VerifyIndexProof(t.Root(), key, history, p).ok());

  // The absent SN-2 shares the path and ends at SN-1's leaf.
  const Hash absent = SubjectKey(subject::Device("acme", "SN-2"));
  IndexProof q = t.Prove(absent);
  ASSERT_TRUE(q.other);
  EXPECT_EQ(q.other->first, key);
  EXPECT_EQ(Hex(q.other->second), "669503d4a6966d77547a36d7d3c42177354492dfd75ad5ad06577b28499044fc");
  EXPECT_TRUE(VerifyIndexProof(t.Root(), absent, {}, q).ok());
}

TEST(IndexTest, SubjectKeysAreUnambiguous) {
  // Length prefixes: "ab"+"c" is not "a"+"bc", nor one id "ab\0c".
  EXPECT_NE(SubjectKey({"device", {"ab", "c"}}), SubjectKey({"device", {"a", "bc"}}));
  EXPECT_NE(SubjectKey({"org", {"acme"}}), SubjectKey({"law", {"acme"}}));
  EXPECT_NE(SubjectKey({"device", {"a"}}), SubjectKey({"device", {"a", ""}}));
}

TEST(IndexTest, EmptyIndexProvesEveryAbsence) {
  IndexTree t;
  const Hash k = SubjectKey(subject::Org("nobody"));
  IndexProof p = t.Prove(k);
  EXPECT_TRUE(p.siblings.empty());
  EXPECT_TRUE(VerifyIndexProof(t.Root(), k, {}, p).ok());
  const std::vector<uint64_t> one{3};
  EXPECT_EQ(VerifyIndexProof(t.Root(), k, one, p).reason(), "INDEX_PROOF_INVALID");
}

// A from-scratch recursive root (the specification's definition) for random
// checks, over (key, history hash) pairs.
Hash ReferenceRoot(std::vector<std::pair<Hash, Hash>> leaves, size_t depth = 0) {
  if (leaves.empty()) return kEmptyIndexHash;
  if (leaves.size() == 1) return IndexLeafHash(leaves[0].first, leaves[0].second);
  std::vector<std::pair<Hash, Hash>> l, r;
  for (auto& x : leaves) (KeyBit(x.first, depth) ? r : l).push_back(x);
  return IndexNodeHash(ReferenceRoot(l, depth + 1), ReferenceRoot(r, depth + 1));
}

class IndexPropertyTest : public ::testing::TestWithParam<uint32_t> {};

// Random logs of subjects, updated in random batches: every version equals
// the from-scratch root; every subject's proof verifies; every mutation of a
// proof, a history or a root fails.
TEST_P(IndexPropertyTest, ProofsVerifyAndEveryMutationFails) {
  const uint32_t seed = GetParam();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::map<Hash, std::vector<uint64_t>> histories;
  IndexTree tree;
  std::vector<IndexTree> versions;
  uint64_t next = 1;
  for (int batch = 0; batch < 12; ++batch) {
    std::vector<std::pair<Hash, Hash>> updates;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      // Reuse old subjects half the time.
      Hash k;
      if (!histories.empty() && rng() % 2) {
        auto it = histories.begin();
        std::advance(it, rng() % histories.size());
        k = it->first;
      } else {
        k = SubjectKey(subject::Device("m", "S" + std::to_string(rng())));
      }
      histories[k].push_back(next++);
      updates.emplace_back(k, IndexHistoryHash(histories[k]));
    }
    IndexTree before = tree;
    const Hash before_root = before.Root();
    tree = tree.With(updates);
    EXPECT_EQ(before.Root(), before_root) << "an old version changed";
    versions.push_back(tree);
  }
  std::vector<std::pair<Hash, Hash>> all;
  for (const auto& [k, h] : histories) all.emplace_back(k, IndexHistoryHash(h));
  ASSERT_EQ(tree.Root(), ReferenceRoot(all));
  ASSERT_EQ(tree.size(), histories.size());
  EXPECT_EQ(IndexTree().With(all).Root(), tree.Root());

  const Hash root = tree.Root();
  int checked = 0;
  for (const auto& [k, h] : histories) {
    if (++checked > 25) break;
    const IndexProof p = tree.Prove(k);
    ASSERT_TRUE(VerifyIndexProof(root, k, h, p).ok());
    // Proof mutations: each sibling's bits, an empty sibling made real, a
    // sibling dropped or added, a leaf to end at.
    for (size_t i = 0; i < p.siblings.size(); ++i) {
      IndexProof m = p;
      if (m.siblings[i]) {
        (*m.siblings[i])[rng() % 32] ^= static_cast<uint8_t>(1u << (rng() % 8));
      } else {
        m.siblings[i] = Sha256("not empty");
      }
      EXPECT_FALSE(VerifyIndexProof(root, k, h, m).ok()) << "sibling " << i;
      IndexProof z = p;
      if (!z.siblings[i]) {
        z.siblings[i] = kEmptyIndexHash;  // the empty subtree sent as zeros
        EXPECT_EQ(VerifyIndexProof(root, k, h, z).reason(), "INDEX_PROOF_MALFORMED");
      }
    }
    IndexProof shorter = p;
    if (!shorter.siblings.empty()) {
      shorter.siblings.pop_back();
      EXPECT_FALSE(VerifyIndexProof(root, k, h, shorter).ok());
    }
    IndexProof longer = p;
    longer.siblings.emplace_back(std::nullopt);
    EXPECT_FALSE(VerifyIndexProof(root, k, h, longer).ok());
    IndexProof ending = p;
    ending.other = std::make_pair(Sha256("x"), Sha256("y"));
    EXPECT_FALSE(VerifyIndexProof(root, k, h, ending).ok());
    // History mutations: one dropped, one added, one changed, none.
    for (size_t i = 0; i < h.size(); ++i) {
      auto m = h;
      m.erase(m.begin() + static_cast<long>(i));
      EXPECT_FALSE(VerifyIndexProof(root, k, m, p).ok());
      auto c = h;
      c[i] += 1;
      EXPECT_FALSE(VerifyIndexProof(root, k, c, p).ok());
    }
    auto added = h;
    added.push_back(h.back() + 1000);
    EXPECT_FALSE(VerifyIndexProof(root, k, added, p).ok());
    EXPECT_FALSE(VerifyIndexProof(root, k, {}, p).ok());
    auto dup = h;
    dup.push_back(h.back());
    EXPECT_EQ(VerifyIndexProof(root, k, dup, p).reason(), "INDEX_PROOF_MALFORMED");
    // Root mutation, another subject's key, an older version's root.
    Hash bad = root;
    bad[rng() % 32] ^= 0x80;
    EXPECT_FALSE(VerifyIndexProof(bad, k, h, p).ok());
    EXPECT_FALSE(VerifyIndexProof(root, SubjectKey(subject::Org("other")), h, p).ok());
    EXPECT_FALSE(VerifyIndexProof(versions.front().Root(), k, h, p).ok());
  }
  // Absent subjects: proven with no history, never with one.
  for (int i = 0; i < 20; ++i) {
    const Hash k = SubjectKey(subject::Org("absent-" + std::to_string(rng())));
    const IndexProof p = tree.Prove(k);
    ASSERT_TRUE(VerifyIndexProof(root, k, {}, p).ok());
    const std::vector<uint64_t> one{1};
    EXPECT_FALSE(VerifyIndexProof(root, k, one, p).ok());
    if (p.other) {
      IndexProof m = p;
      m.other->second[0] ^= 1;
      EXPECT_FALSE(VerifyIndexProof(root, k, {}, m).ok());
      // Every bit of the other leaf's key is bound, not only its path's
      // (else a present subject could be passed off as another's leaf).
      for (size_t bit = 0; bit < 256; bit += 7) {
        IndexProof km = p;
        km.other->first[bit / 8] ^= static_cast<uint8_t>(0x80 >> (bit % 8));
        EXPECT_FALSE(VerifyIndexProof(root, k, {}, km).ok()) << "key bit " << bit;
      }
      IndexProof dropped = p;
      dropped.other.reset();
      EXPECT_FALSE(VerifyIndexProof(root, k, {}, dropped).ok());
    }
    // A present subject cannot be proven absent.
    const Hash present = histories.begin()->first;
    EXPECT_FALSE(VerifyIndexProof(root, present, {}, tree.Prove(present)).ok());
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, IndexPropertyTest, ::testing::Values(1u, 2u, 3u, 42u, 1234u));

TEST(IndexTest, WireFormRoundTripsAndRefusesBadSizes) {
  const auto leaves = Leaves(VectorSubjects());
  const IndexTree t = IndexTree().With(leaves);
  const Hash absent = SubjectKey(subject::Device("acme", "SN-2"));
  pb::SubjectProof wire;
  ToProto(t.Prove(absent), &wire);
  auto back = ParseIndexProof(wire);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(VerifyIndexProof(t.Root(), absent, {}, *back).ok());

  pb::SubjectProof bad = wire;
  bad.set_siblings(0, "short");
  EXPECT_EQ(ParseIndexProof(bad).status().reason(), "INDEX_PROOF_MALFORMED");
  bad = wire;
  bad.clear_other_history_hash();
  EXPECT_EQ(ParseIndexProof(bad).status().reason(), "INDEX_PROOF_MALFORMED");
  bad = wire;
  for (int i = 0; i < 300; ++i) bad.add_siblings("");
  EXPECT_EQ(ParseIndexProof(bad).status().reason(), "INDEX_PROOF_MALFORMED");
}

pb::Record DeviceRecord(const std::string& serial) {
  pb::Record r;
  r.set_issued_at(1);
  r.mutable_device()->set_manufacturer_org("acme");
  r.mutable_device()->set_serial(serial);
  r.mutable_device()->set_model_id("cam-1");
  return r;
}

TEST(IndexTest, SubjectsOfNamesEachSubjectOnce) {
  pb::Record t;
  t.mutable_transfer()->set_manufacturer_org("acme");
  t.mutable_transfer()->add_serials("A");
  t.mutable_transfer()->add_serials("B");
  t.mutable_transfer()->set_from_org("acme");
  t.mutable_transfer()->set_to_org("buyer");
  EXPECT_EQ(SubjectsOf(t), (std::vector<Subject>{subject::Device("acme", "A"),
                                                 subject::Device("acme", "B")}));
  pb::Record o;
  o.mutable_ownership()->set_owner_org("parent");
  o.mutable_ownership()->set_owned_org("acme");
  EXPECT_EQ(SubjectsOf(o), (std::vector<Subject>{subject::Org("parent"), subject::Org("acme")}));
  // A transfer relies on both parties, an ownership on the owner only.
  pb::Genesis g;
  EXPECT_EQ(ReliesOn(t, {}, g), (std::vector<Subject>{subject::Org("acme"), subject::Org("buyer")}));
  EXPECT_EQ(ReliesOn(o, {}, g), (std::vector<Subject>{subject::Org("parent")}));
  pb::Record root;
  root.mutable_index_root()->set_covered_size(3);
  EXPECT_TRUE(SubjectsOf(root).empty());
}

// A replayer catches a logged root that is not the index of what came before.
TEST(IndexTest, ReplayComparesEveryLoggedRoot) {
  PreparedRecord a, b, root;
  a.record = DeviceRecord("A");
  b.record = DeviceRecord("B");
  MemoryState base;
  StateOverlay state(&base);
  IndexReplay replay;
  ASSERT_TRUE(replay.Apply(state, a, 1).ok());
  ASSERT_TRUE(replay.Apply(state, b, 2).ok());
  MemoryState other_base;
  StateOverlay other_state(&other_base);
  IndexReplay other;
  ASSERT_TRUE(other.Apply(other_state, a, 1).ok());
  ASSERT_TRUE(other.Apply(other_state, b, 2).ok());
  auto t = other.Commit(other_state);
  ASSERT_TRUE(t.ok());
  root.record.mutable_index_root()->set_covered_size(3);
  root.record.mutable_index_root()->set_root(std::string(AsStringView(t->Root())));
  root.record.mutable_index_root()->set_subjects(2);
  EXPECT_TRUE(replay.Apply(state, root, 3).ok());

  // The histories are in the state: a resumed replay has the same index.
  base.Apply(state);
  IndexReplay resumed;
  ASSERT_TRUE(resumed.Load(base).ok());
  auto again = resumed.Commit(base);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->Root(), t->Root());

  PreparedRecord c = root;
  c.record.mutable_index_root()->set_covered_size(5);
  StateOverlay more(&base);
  ASSERT_TRUE(replay.Apply(more, a, 4).ok());  // A again: now its root differs
  Status s = replay.Apply(more, c, 5);
  EXPECT_EQ(s.reason(), "INDEX_ROOT_MISMATCH");
  EXPECT_NE(s.message().find("#5"), std::string::npos) << s.message();

  PreparedRecord wrong_count = root;
  wrong_count.record.mutable_index_root()->set_subjects(3);
  MemoryState third_base;
  StateOverlay third_state(&third_base);
  IndexReplay third;
  ASSERT_TRUE(third.Apply(third_state, a, 1).ok());
  ASSERT_TRUE(third.Apply(third_state, b, 2).ok());
  EXPECT_EQ(third.Apply(third_state, wrong_count, 3).reason(), "INDEX_ROOT_MISMATCH");
}

}  // namespace
}  // namespace verifier

namespace verifier {
namespace {

// The static tiles of every version, published incrementally, prove every
// subject exactly as the tree does; a changed byte is refused.
TEST(IndexTilesTest, TilesProveWhatTheTreeProves) {
  for (uint32_t seed : {7u, 99u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    std::map<Hash, std::vector<uint64_t>> histories;
    std::map<Hash, std::string> files;
    IndexTree tree;
    std::vector<Subject> subjects;
    uint64_t next = 1;
    HistoryLookup lookup = [&](const Hash& k) -> Result<std::vector<uint64_t>> {
      return histories.at(k);
    };
    for (int batch = 0; batch < 6; ++batch) {
      std::vector<std::pair<Hash, Hash>> updates;
      for (int i = 0; i < 300; ++i) {
        Subject s = subject::Device("m", "S" + std::to_string(rng() % 2000));
        const Hash k = SubjectKey(s);
        if (!histories.count(k)) subjects.push_back(s);
        histories[k].push_back(next++);
        updates.emplace_back(k, IndexHistoryHash(histories[k]));
      }
      IndexTree after = tree.With(updates);
      size_t emitted = 0;
      ASSERT_TRUE(IndexTilesToPublish(after, tree, lookup, [&](const Hash& h, std::string b) {
                    ++emitted;
                    files[h] = std::move(b);
                    return Status::Ok();
                  }).ok());
      EXPECT_GT(emitted, 0u);
      tree = after;
    }
    IndexTileFetch fetch = [&](const Hash& h) -> Result<std::string> {
      auto it = files.find(h);
      if (it == files.end()) return NotFound("NO_TILE", HexEncode(h));
      return it->second;
    };
    for (size_t i = 0; i < 40; ++i) {
      const Subject& s = subjects[rng() % subjects.size()];
      auto p = ProveFromTiles(tree.Root(), s, fetch);
      ASSERT_TRUE(p.ok()) << p.status().ToString();
      const Hash k = SubjectKey(s);
      EXPECT_EQ(std::vector<uint64_t>(p->history().begin(), p->history().end()), histories[k]);
      pb::SubjectProof want;
      ToProto(tree.Prove(k), &want);
      EXPECT_EQ(p->siblings_size(), want.siblings_size());
      EXPECT_TRUE(std::equal(p->siblings().begin(), p->siblings().end(), want.siblings().begin()));
    }
    for (int i = 0; i < 20; ++i) {  // absent subjects
      const Subject s = subject::Org("absent-" + std::to_string(i));
      auto p = ProveFromTiles(tree.Root(), s, fetch);
      ASSERT_TRUE(p.ok()) << p.status().ToString();
      EXPECT_EQ(p->history_size(), 0);
      auto proof = ParseIndexProof(*p);
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(VerifyIndexProof(tree.Root(), SubjectKey(s), {}, *proof).ok());
    }
    // Any changed byte of the root tile: refused, never a wrong answer.
    const std::string good = files.at(tree.Root());
    for (size_t at = 0; at < good.size(); at += 1 + good.size() / 64) {
      files[tree.Root()][at] ^= 0x01;
      auto p = ProveFromTiles(tree.Root(), subjects[0], fetch);
      EXPECT_FALSE(p.ok()) << "byte " << at;
      if (!p.ok()) {
        EXPECT_TRUE(p.status().reason() == "INDEX_TILE_INVALID" ||
                    p.status().reason() == "INDEX_TILE_MALFORMED")
            << p.status().ToString();
      }
      files[tree.Root()] = good;
    }
    files[tree.Root()] = good + "x";
    EXPECT_EQ(ProveFromTiles(tree.Root(), subjects[0], fetch).status().reason(),
              "INDEX_TILE_MALFORMED");
  }
}

}  // namespace
}  // namespace verifier
