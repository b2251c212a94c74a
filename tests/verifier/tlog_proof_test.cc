#include "verifier/tlog_proof.h"

#include <gtest/gtest.h>

#include "verifier/merkle.h"

namespace verifier {
namespace {

constexpr std::string_view kOrigin = "camera-provenance.example/log";

class TlogProofTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 11; ++i) {
      entries_.push_back("entry-" + std::to_string(i));
      leaves_.push_back(LeafHash(AsBytes(entries_.back())));
    }
    Checkpoint c{std::string(kOrigin), leaves_.size(), RootOf(leaves_), {}};
    note_ = SignNote(FormatCheckpoint(c), kOrigin, key_);
    log_ = *ParseVerifierKey(FormatVerifierKey(kOrigin, key_.public_key()));
  }
  TlogProof ProofOf(uint64_t i) {
    TlogProof p;
    p.extra = entries_[i];
    p.index = i;
    p.proof = *MakeInclusionProof(i, leaves_.size(), InMemorySubtrees(leaves_));
    p.checkpoint_note = note_;
    return p;
  }

  SigningKey key_ = SigningKey::Generate();
  std::vector<std::string> entries_;
  std::vector<Hash> leaves_;
  std::string note_;
  NoteVerifier log_;
};

TEST_F(TlogProofTest, RoundTripsAndVerifiesEveryIndex) {
  for (uint64_t i = 0; i < entries_.size(); ++i) {
    std::string text = FormatTlogProof(ProofOf(i));
    auto p = ParseTlogProof(text);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(FormatTlogProof(*p), text);
    ASSERT_TRUE(p->extra.has_value());
    auto c = VerifyTlogProof(*p, *p->extra, log_, kOrigin);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(c->size, 11u);
  }
}

TEST_F(TlogProofTest, TheSpecsLayout) {
  std::string text = FormatTlogProof(ProofOf(3));
  EXPECT_TRUE(text.starts_with("c2sp.org/tlog-proof@v1\nextra ZW50cnktMw==\nindex 3\n"));
  EXPECT_NE(text.find("\n\ncamera-provenance.example/log\n11\n"), std::string::npos);
  TlogProof no_extra = ProofOf(3);
  no_extra.extra.reset();
  EXPECT_TRUE(FormatTlogProof(no_extra).starts_with("c2sp.org/tlog-proof@v1\nindex 3\n"));
  auto back = ParseTlogProof(FormatTlogProof(no_extra));
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->extra.has_value());
}

TEST_F(TlogProofTest, WrongEntryIndexKeyOrOriginFails) {
  TlogProof p = ProofOf(4);
  EXPECT_FALSE(VerifyTlogProof(p, entries_[5], log_, kOrigin).ok());
  p.index = 5;
  EXPECT_FALSE(VerifyTlogProof(p, entries_[4], log_, kOrigin).ok());
  p.index = 11;
  EXPECT_EQ(VerifyTlogProof(p, entries_[4], log_, kOrigin).status().reason(),
            "INDEX_OUT_OF_RANGE");
  p = ProofOf(4);
  p.proof[1][0] ^= 1;
  EXPECT_FALSE(VerifyTlogProof(p, entries_[4], log_, kOrigin).ok());
  p = ProofOf(4);
  p.proof.pop_back();
  EXPECT_FALSE(VerifyTlogProof(p, entries_[4], log_, kOrigin).ok());
  SigningKey other = SigningKey::Generate();
  auto other_log = *ParseVerifierKey(FormatVerifierKey(kOrigin, other.public_key()));
  EXPECT_FALSE(VerifyTlogProof(ProofOf(4), entries_[4], other_log, kOrigin).ok());
  EXPECT_FALSE(VerifyTlogProof(ProofOf(4), entries_[4], log_, "other.example/log").ok());
}

TEST_F(TlogProofTest, MalformedFilesAreRefusedWithTheLine) {
  const std::string good = FormatTlogProof(ProofOf(2));
  auto refused = [](std::string_view text) {
    auto p = ParseTlogProof(text);
    return !p.ok() && p.status().reason() == "MALFORMED_TLOG_PROOF";
  };
  EXPECT_TRUE(refused(""));
  EXPECT_TRUE(refused("c2sp.org/tlog-proof@v2\nindex 0\n\n" + note_));
  EXPECT_TRUE(refused("c2sp.org/tlog-proof@v1\n"));
  EXPECT_TRUE(refused("c2sp.org/tlog-proof@v1\nindex 01\n\n" + note_));
  EXPECT_TRUE(refused("c2sp.org/tlog-proof@v1\nindex -1\n\n" + note_));
  EXPECT_TRUE(refused("c2sp.org/tlog-proof@v1\nindex 1x\n\n" + note_));
  EXPECT_TRUE(refused("c2sp.org/tlog-proof@v1\nindex 99999999999999999999999\n\n" + note_));
  EXPECT_TRUE(refused("c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\n" + note_));
  EXPECT_TRUE(refused("c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\n" + note_));  // 3 bytes
  EXPECT_TRUE(refused("c2sp.org/tlog-proof@v1\nindex 1\n"));                  // no checkpoint
  EXPECT_TRUE(refused("c2sp.org/tlog-proof@v1\nindex 1\n\n"));
  EXPECT_TRUE(refused(std::string(kMaxTlogProofBytes + 1, 'a')));
  std::string many = "c2sp.org/tlog-proof@v1\nindex 1\n";
  for (int i = 0; i < 65; ++i) many += Base64Encode(leaves_[0]) + "\n";
  EXPECT_TRUE(refused(many + "\n" + note_));
  auto p = ParseTlogProof("c2sp.org/tlog-proof@v1\nindex 01\n\n" + note_);
  EXPECT_EQ(p.status().message(), "line 2: index is not a decimal without leading zeros");
  EXPECT_TRUE(ParseTlogProof(good).ok());
}

}  // namespace
}  // namespace verifier
